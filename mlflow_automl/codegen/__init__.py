"""Glass-box code generation (Azure's ``enable_code_generation``).

For an iteration, :func:`code_spec` collects what the search used (featurization plan, learner,
hyperparameters, validation split, task and metric) and :func:`render` writes the standalone
``training_script.py``, ``training_notebook.ipynb`` and ``scoring_script.py``: plain pandas /
scikit-learn / LightGBM / XGBoost / MLflow, no import of this package.
"""

from mlflow_automl.codegen.publish import CODE_DIR, download_code, log_code, runs_to_code
from mlflow_automl.codegen.render import (
    SCORING_SCRIPT,
    TRAINING_NOTEBOOK,
    TRAINING_SCRIPT,
    render,
    scoring_script,
    training_notebook,
    training_script,
)
from mlflow_automl.codegen.spec import CodeSpec, code_spec

__all__ = [
    "CODE_DIR",
    "SCORING_SCRIPT",
    "TRAINING_NOTEBOOK",
    "TRAINING_SCRIPT",
    "CodeSpec",
    "code_spec",
    "download_code",
    "log_code",
    "render",
    "runs_to_code",
    "scoring_script",
    "training_notebook",
    "training_script",
]
