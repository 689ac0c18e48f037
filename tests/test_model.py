"""`AutoMLClassifier` / `AutoMLRegressor` follow scikit-learn's estimator contract."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from palmerpenguins import load_penguins
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from mlflow_automl.featurize.plan import plan_featurization
from mlflow_automl.inputs import column_kinds
from mlflow_automl.learners.registry import get_learner
from mlflow_automl.model import (
    AutoMLClassifier,
    AutoMLRegressor,
    build_pipeline,
    fit_pipeline,
    wrap_fitted,
)

# The one input check (mlflow_automl.inputs.check_input) refuses these with its own message,
# which names the model's columns, instead of scikit-learn's wording; both are ValueErrors.
INPUT_CHECK_MESSAGES = {
    "check_n_features_in_after_fitting": "input check: wrong column count, own message",
    "check_fit2d_predict1d": "input check: 1-D input, own message",
}


@parametrize_with_checks(
    [AutoMLClassifier(pipeline=LogisticRegression()), AutoMLRegressor(pipeline=Ridge())],
    expected_failed_checks=lambda estimator: INPUT_CHECK_MESSAGES,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def penguins():
    frame = load_penguins().dropna(subset=["species", "body_mass_g"]).reset_index(drop=True)
    return frame.drop(columns="species"), frame["species"]


def _engine_model(X: pd.DataFrame, y: pd.Series, name: str = "LightGBM"):
    """A classifier built as the engine builds it: a fitted trial pipeline, then wrap_fitted."""
    classes, codes = np.unique(y, return_inverse=True)
    plan = plan_featurization(X, "auto", "classification")
    learner = get_learner(name, "classification")
    params = learner.default_params("classification", len(X), X.shape[1])
    pipeline = build_pipeline(plan, learner, params, "classification", random_state=0)
    fit_pipeline(pipeline, learner, X, codes, None)
    return wrap_fitted(pipeline, "classification", classes, list(X.columns), name, params)


def test_clone_of_an_engine_model_is_unfitted_and_refits_to_the_same_model(penguins):
    X, y = penguins
    model = _engine_model(X, y)
    copy = clone(model)

    with pytest.raises(NotFittedError):
        copy.predict(X)
    with pytest.raises(NotFittedError):  # the pipeline parameter is unfitted too
        check_is_fitted(copy.pipeline.steps[-1][1])
    assert not hasattr(copy, "classes_")
    assert copy.get_params()["learner_name"] == "LightGBM"

    copy.fit(X, y)
    np.testing.assert_array_equal(copy.classes_, model.classes_)
    np.testing.assert_allclose(copy.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(copy.predict(X), model.predict(X))


def test_fit_uses_the_given_columns_and_kinds(penguins):
    X, y = penguins
    columns = ["bill_length_mm", "island"]
    model = AutoMLClassifier(
        pipeline=clone(_engine_model(X[columns], y).pipeline), feature_columns=columns
    ).fit(X, y)
    assert model.feature_columns_ == columns
    assert model.input_kinds_ == column_kinds(X[columns])
    with pytest.raises(ValueError, match="island"):
        model.predict(X.drop(columns="island"))


def test_set_params_reaches_the_pipeline(penguins):
    X, y = penguins
    model = clone(_engine_model(X, y, "LogisticRegression"))
    model.set_params(pipeline__model__C=0.001).fit(X, y)
    assert model.pipeline_.named_steps["model"].C == 0.001


def test_fit_refuses_a_model_without_pipeline():
    with pytest.raises(ValueError, match="nothing to fit"):
        AutoMLRegressor().fit(pd.DataFrame({"a": [1.0, 2.0]}), [1.0, 2.0])


def test_a_model_pickled_in_the_old_layout_loads_and_predicts_the_same(penguins):
    """Before the estimator contract, the fitted pipeline and the classes were parameters."""
    X, y = penguins
    model = _engine_model(X, y)
    old = AutoMLClassifier.__new__(AutoMLClassifier)
    old.__dict__.update(
        pipeline=model.pipeline_,
        task="classification",
        classes=model.classes_,
        feature_columns=list(X.columns),
        learner_name="LightGBM",
        params=model.params,
        input_kinds=None,
    )
    loaded = pickle.loads(pickle.dumps(old))

    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    assert loaded.feature_columns_ == list(X.columns)
    with pytest.raises(NotFittedError):
        clone(loaded).predict(X)
