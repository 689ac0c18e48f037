"""mlflow-automl: automated machine learning on MLflow.

Every trial is an MLflow child run of the AutoML run; the best model is logged with the sklearn
and pyfunc flavors, ready for ``mlflow models serve``.

    >>> import mlflow_automl as automl
    >>> config = automl.AutoMLConfig(task="classification", training_data=df,
    ...                              label_column_name="species", experiment_timeout_minutes=1)
    >>> run = automl.submit(config, experiment_name="penguins", show_output=True)
    >>> best_run, model = run.get_output()

Heavy modules (learners, MLflow tracking) load on first use, so importing this package is cheap.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from mlflow_automl._version import __version__

# libgomp (the OpenMP of LightGBM, XGBoost and scikit-learn) spins 300,000 times at a barrier
# before its threads sleep. Next to a busy process of another session, a spinning thread takes
# the time its partner needs: a LightGBM fit took 20-40 s instead of 0.15 s on 2 cores, and
# the final model's refit blew the time budget. With 1,000 spins: 0.85 s, and no slower on an
# idle machine. libgomp reads it when it loads (set before LightGBM or scikit-learn is
# imported to take effect here); trial workers inherit it in any case.
os.environ.setdefault("GOMP_SPINCOUNT", "1000")

if TYPE_CHECKING:
    from mlflow_automl.azureml.automl_run import AutoMLRun, submit
    from mlflow_automl.azureml.experiment import Experiment, Run
    from mlflow_automl.azureml.pipeline import (
        AutoMLStep,
        Pipeline,
        PipelineRun,
        PythonScriptStep,
    )
    from mlflow_automl.config import AutoMLConfig, AutoMLConfigError
    from mlflow_automl.featurize import FeaturizationConfig

_LAZY = {
    "AutoMLConfig": "mlflow_automl.config",
    "AutoMLConfigError": "mlflow_automl.config",
    "FeaturizationConfig": "mlflow_automl.featurize",
    "AutoMLRun": "mlflow_automl.azureml.automl_run",
    "submit": "mlflow_automl.azureml.automl_run",
    "Experiment": "mlflow_automl.azureml.experiment",
    "Run": "mlflow_automl.azureml.experiment",
    "Pipeline": "mlflow_automl.azureml.pipeline",
    "AutoMLStep": "mlflow_automl.azureml.pipeline",
    "PythonScriptStep": "mlflow_automl.azureml.pipeline",
    "PipelineRun": "mlflow_automl.azureml.pipeline",
}

__all__ = [
    "AutoMLConfig",
    "AutoMLConfigError",
    "AutoMLRun",
    "AutoMLStep",
    "Experiment",
    "FeaturizationConfig",
    "Pipeline",
    "PipelineRun",
    "PythonScriptStep",
    "Run",
    "__version__",
    "submit",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mlflow_automl' has no attribute {name!r}")
