"""An experiment logs code/ on the best and charted runs; the downloaded training script, run
where mlflow_automl cannot be imported, prints the child run's validation score."""

from __future__ import annotations

import json

import mlflow
import pytest

from mlflow_automl import automl
from mlflow_automl.codegen import fidelity
from mlflow_automl.tracking.history import list_artifacts  # noqa: F401  (exists check below)

pytestmark = pytest.mark.slow
CODE_FILES = {"training_script.py", "training_notebook.ipynb", "scoring_script.py"}


def _artifacts(run_id: str, path: str) -> set[str]:
    return {a.path.rsplit("/", 1)[-1] for a in mlflow.MlflowClient().list_artifacts(run_id, path)}
