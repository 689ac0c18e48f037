"""The trial context every executor test runs on: scikit-learn's digits (1,797 images of
64 pixels, 10 classes) in three interleaved folds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from mlflow_automl.evaluation.trial import TrialContext
from mlflow_automl.featurize import plan_featurization


@pytest.fixture(scope="module")
def context() -> TrialContext:
    digits = load_digits(as_frame=True)
    X, y = digits.data, digits.target.to_numpy()
    rows = np.arange(len(y))
    splits = [(rows[rows % 3 != k], rows[rows % 3 == k]) for k in range(3)]
    return TrialContext(
        X=X,
        y=y,
        sample_weight=None,
        splits=splits,
        task="classification",
        n_classes=10,
        plan=plan_featurization(X),
        random_state=0,
        n_jobs=1,
    )
