"""Azure ML SDK v1's API on top of the engine: ``Experiment``, ``Run``, ``AutoMLRun``,
``Pipeline`` and its steps.

This layer imports the engine and :mod:`mlflow_automl.tracking`; neither imports it
(``tests/test_layering.py``). Names load on first use, like the package's own.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow_automl.azureml.automl_run import AutoMLRun, submit
    from mlflow_automl.azureml.experiment import Experiment, OfflineRun, Run
    from mlflow_automl.azureml.pipeline import (
        AutoMLStep,
        Pipeline,
        PipelineRun,
        PythonScriptStep,
    )

_LAZY = {
    "AutoMLRun": "mlflow_automl.azureml.automl_run",
    "submit": "mlflow_automl.azureml.automl_run",
    "Experiment": "mlflow_automl.azureml.experiment",
    "Run": "mlflow_automl.azureml.experiment",
    "OfflineRun": "mlflow_automl.azureml.experiment",
    "Pipeline": "mlflow_automl.azureml.pipeline",
    "AutoMLStep": "mlflow_automl.azureml.pipeline",
    "PythonScriptStep": "mlflow_automl.azureml.pipeline",
    "PipelineRun": "mlflow_automl.azureml.pipeline",
}

__all__ = [
    "AutoMLRun",
    "AutoMLStep",
    "Experiment",
    "OfflineRun",
    "Pipeline",
    "PipelineRun",
    "PythonScriptStep",
    "Run",
    "submit",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mlflow_automl.azureml' has no attribute {name!r}")
