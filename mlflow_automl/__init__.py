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
from typing import TYPE_CHECKING, Any

from mlflow_automl._version import __version__

if TYPE_CHECKING:
    from mlflow_automl.automl import submit
    from mlflow_automl.config import AutoMLConfig, AutoMLConfigError
    from mlflow_automl.featurize import FeaturizationConfig
    from mlflow_automl.run import AutoMLRun
    from mlflow_automl.tracking.experiment import Experiment, Run

_LAZY = {
    "AutoMLConfig": "mlflow_automl.config",
    "AutoMLConfigError": "mlflow_automl.config",
    "FeaturizationConfig": "mlflow_automl.featurize",
    "AutoMLRun": "mlflow_automl.run",
    "submit": "mlflow_automl.automl",
    "Experiment": "mlflow_automl.tracking.experiment",
    "Run": "mlflow_automl.tracking.experiment",
}

__all__ = [
    "AutoMLConfig",
    "AutoMLConfigError",
    "AutoMLRun",
    "Experiment",
    "FeaturizationConfig",
    "Run",
    "__version__",
    "submit",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mlflow_automl' has no attribute {name!r}")
