"""Tasks as strategies: one object per task owns what differs between tasks.

The orchestrator and every other module ask the task object (``get_task(config.task)``) instead
of comparing task names: data preparation and validation splits, the featurization plan,
guardrails, the metric set, the ensemble rule, the model wrapper class and the chart set.

=================  ==============================================================
``names``          the task names and ``TASKS`` (imports nothing: every layer uses it)
``base``           ``Task``, the interface
``tabular``        ``TabularTask``, what classification and regression share
``classification`` ``ClassificationTask``
``regression``     ``RegressionTask``
``forecasting``    ``ForecastingTask``
=================  ==============================================================

The registry names each task's class by module path and imports it on first use: the lower
layers (metrics, learners, featurization) ask ``get_task`` too, and the task modules import
those layers, so a static import here would make a cycle.
"""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING, Any

from mlflow_automl.tasks.base import Task
from mlflow_automl.tasks.names import CLASSIFICATION, FORECASTING, REGRESSION, TASKS

if TYPE_CHECKING:
    from mlflow_automl.data import TrainingData

_REGISTRY: dict[str, str] = {
    CLASSIFICATION: "mlflow_automl.tasks.classification:ClassificationTask",
    REGRESSION: "mlflow_automl.tasks.regression:RegressionTask",
    FORECASTING: "mlflow_automl.tasks.forecasting:ForecastingTask",
}


@functools.cache
def get_task(name: str) -> Task:
    """The strategy object of task ``name``; ``ValueError`` names the valid tasks."""
    if name not in _REGISTRY:
        raise ValueError(f"Unknown task {name!r}. Valid tasks: {', '.join(TASKS)}")
    module, _, cls = _REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), cls)()


def prepare_training_data(config: Any) -> TrainingData:
    """Loads and checks the data of ``config`` (an ``AutoMLConfig``) and fixes the validation
    splits, as its task does it."""
    return get_task(config.task).prepare_data(config)


__all__ = [
    "CLASSIFICATION",
    "FORECASTING",
    "REGRESSION",
    "TASKS",
    "Task",
    "get_task",
    "prepare_training_data",
]
