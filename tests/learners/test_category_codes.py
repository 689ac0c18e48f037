"""CatBoost reads the categorical columns itself (``Learner.native_categoricals``): its pipeline
hands it integer codes and declares them ``cat_features``; other learners keep the encodings."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from mlflow_automl.featurize import plan_featurization
from mlflow_automl.learners import get_learner
from mlflow_automl.model import categorical_codes, fit_pipeline, tabular_pipeline


def _pipeline(frame, label, task, name, **params):
    frame = frame.dropna(subset=[label])
    X, y = frame.drop(columns=label), frame[label]
    y = np.unique(y.astype(str), return_inverse=True)[1] if task == "classification" else y
    plan = plan_featurization(X, "auto", task)
    learner = get_learner(name, task)
    pipeline = tabular_pipeline(plan, learner, params, task, random_state=0)
    return fit_pipeline(pipeline, learner, X, np.asarray(y), None), X, plan


def test_catboost_gets_the_categorical_columns_as_categories(penguins):
    pipeline, X, plan = _pipeline(penguins, "body_mass_g", "regression", "CatBoost", iterations=30)
    model = pipeline.named_steps["model"]
    assert categorical_codes(plan, get_learner("CatBoost", "regression")) == 3
    assert model.get_params()["cat_features"] == (0, 1, 2)
    assert model.get_cat_feature_indices() == [0, 1, 2]  # CatBoost treated them as categories
    names = list(pipeline.named_steps["featurize"].get_feature_names_out())
    assert names[:3] == ["species", "island", "sex"]
    predicted = pipeline.predict(X)
    assert np.isfinite(predicted).all()
    np.testing.assert_allclose(pickle.loads(pickle.dumps(pipeline)).predict(X), predicted)
    assert clone(model).get_params()["cat_features"] == (0, 1, 2)


def test_catboost_classifier_on_codes_predicts_like_scikit_learn(penguins):
    frame = penguins.drop(columns=["island"])  # species is the label; sex stays categorical
    pipeline, X, _ = _pipeline(frame, "species", "classification", "CatBoost", iterations=30)
    assert pipeline.named_steps["model"].get_cat_feature_indices() == [0]
    proba = pipeline.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert pipeline.predict(X).shape == (len(X),)


def test_other_learners_keep_the_planned_encodings(penguins):
    pipeline, _, plan = _pipeline(penguins, "body_mass_g", "regression", "LightGBM")
    lightgbm = get_learner("LightGBM", "regression")
    assert categorical_codes(plan, lightgbm) == 0
    names = pipeline.named_steps["featurize"].get_feature_names_out()
    assert "island__Dream" in names  # one-hot, as planned
    with pytest.raises(ValueError, match="LightGBM does not read categorical codes"):
        lightgbm.make_estimator("regression", {}, categorical_codes=2)
