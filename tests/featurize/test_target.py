"""Target transforms: offered for skewed non-negative regression targets only; the wrapped
model fits log1p(y) and predicts on y's scale, in Python and in its ONNX graph."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

from mlflow_automl.featurize import plan_featurization
from mlflow_automl.featurize.target import IDENTITY, LOG1P, inner, split_params, transforms_for
from mlflow_automl.learners import get_learner
from mlflow_automl.model import tabular_pipeline, wrap_fitted


@pytest.fixture(scope="module")
def skewed() -> tuple[pd.DataFrame, np.ndarray]:
    """Diabetes' features with a right-skewed, non-negative target (a price-like tail)."""
    frame = load_diabetes(as_frame=True).frame
    y = np.expm1(frame.pop("target").to_numpy() / 60.0)
    return frame, y


def _fitted(name: str, X: pd.DataFrame, y: np.ndarray) -> Any:
    """``name``'s default pipeline fitted on log1p(y)."""
    plan = plan_featurization(X, "auto", "regression")
    learner = get_learner(name, "regression")
    params = learner.default_params("regression", *X.shape) | {"target_transform": LOG1P}
    pipeline = tabular_pipeline(plan, learner, params, "regression", 0, 1).fit(X, y)
    return wrap_fitted(pipeline, "regression", None, list(X.columns), name, params)


def test_offered_only_for_a_skewed_non_negative_target(skewed):
    _, y = skewed
    assert transforms_for(y) == (IDENTITY, LOG1P)
    assert transforms_for(y, enabled=False) == ()
    assert transforms_for(np.log1p(y)) == ()  # roughly symmetric: nothing to gain
    assert transforms_for(y - y.mean()) == ()  # negative values: log1p is undefined there
    assert transforms_for(np.full(50, 3.0)) == ()


def test_params_split_into_the_learners_own_and_the_transform():
    assert split_params({"alpha": 1.0, "target_transform": LOG1P}) == ({"alpha": 1.0}, LOG1P)
    assert split_params({"alpha": 1.0}) == ({"alpha": 1.0}, IDENTITY)


@pytest.mark.parametrize("name", ["LightGBM", "ElasticNet", "RandomForest"])
def test_the_pipeline_learns_log1p_and_predicts_on_the_original_scale(name, skewed):
    X, y = skewed
    pipeline = _fitted(name, X, y).pipeline_
    wrapper = pipeline[-1]
    assert isinstance(wrapper, TransformedTargetRegressor)
    assert isinstance(inner(wrapper), get_learner(name, "regression").estimator_class("regression"))
    # The inner regressor predicts log1p(y); the pipeline gives it back as y.
    Z = pipeline[:-1].transform(X)
    np.testing.assert_allclose(pipeline.predict(X), np.expm1(inner(wrapper).predict(Z)))
    assert np.corrcoef(pipeline.predict(X), y)[0, 1] > 0.5


def test_an_unknown_transform_is_refused(skewed):
    X, _ = skewed
    plan = plan_featurization(X, "auto", "regression")
    learner = get_learner("ElasticNet", "regression")
    params = learner.default_params("regression", *X.shape) | {"target_transform": "sqrt"}
    with pytest.raises(ValueError, match="unknown target_transform 'sqrt'"):
        tabular_pipeline(plan, learner, params, "regression", 0, 1)


@pytest.mark.parametrize("name", ["LightGBM", "ElasticNet", "XGBoostRegressor"])
def test_onnx_graph_applies_the_inverse(name, skewed):
    from mlflow_automl.onnx_export import convert_model

    X, y = skewed
    model = _fitted(name, X, y)
    export = convert_model(model, X)
    assert export.error is None and export.model is not None
    assert export.max_abs_diff < 1e-5 * np.abs(model.predict(X)).max()


def test_onnx_refuses_another_target_function(skewed):
    from mlflow_automl.onnx_export import convert_model

    X, y = skewed
    plan = plan_featurization(X, "auto", "regression")
    learner = get_learner("ElasticNet", "regression")
    pipeline = tabular_pipeline(plan, learner, {"alpha": 0.1, "l1_ratio": 0.5}, "regression", 0)
    pipeline.steps[-1] = (
        "model",
        TransformedTargetRegressor(LinearRegression(), func=np.sqrt, inverse_func=np.square),
    )
    pipeline.fit(X, y)
    model = wrap_fitted(pipeline, "regression", None, list(X.columns), "ElasticNet", {})
    export = convert_model(model, X)
    assert export.model is None and "target function" in export.error
