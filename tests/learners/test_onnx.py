"""The onnxmltools discrepancies that ``onnx_export`` works around stay fixed."""

import numpy as np
from lightgbm import LGBMRegressor
from xgboost import XGBClassifier

from mlflow_automl.learners.conformance import assert_onnx_matches, load_dataset


def test_xgboost_binary_without_splits_keeps_its_base_score():
    data = load_dataset("binary")
    # No row set can reach this hessian sum, so every tree is a single zero leaf.
    model = XGBClassifier(n_estimators=4, min_child_weight=1000, n_jobs=1, random_state=0)
    assert_onnx_matches(model.fit(data.X_train, data.y_train), data)


def test_lightgbm_row_on_a_float64_threshold_takes_the_same_branch():
    # Test value 0.3 lies halfway between training values 0.2 and 0.4, exactly on the split.
    X = np.array([[0.0], [0.2], [0.4], [0.6]] * 10)
    y = (X[:, 0] > 0.3).astype(float)
    model = LGBMRegressor(n_estimators=2, min_child_samples=2, verbosity=-1, n_jobs=1)
    model.fit(X, y)
    data = load_dataset("regression")
    data = type(data)("grid", "regression", X, y, np.array([[0.3], [0.2], [0.4]]), y[:3])
    assert_onnx_matches(model, data)
