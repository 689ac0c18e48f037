"""A trial's splits: the featurizer fitted once per split and process, same scores as before."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import mlflow_automl as automl
from mlflow_automl.evaluation import trial
from mlflow_automl.evaluation.trial import TrialContext, TrialSpec, evaluate_trial
from mlflow_automl.featurize import plan_featurization
from mlflow_automl.tasks import prepare_training_data


@pytest.fixture
def context(penguins):
    config = automl.AutoMLConfig(
        task="classification", training_data=penguins, label_column_name="species"
    )
    data = prepare_training_data(config)
    plan = plan_featurization(data.X, "auto", config.task)
    return TrialContext(data.X, data.y, None, data.splits, config.task, data.n_classes, plan, 0, 1)


@pytest.mark.parametrize("learner", ["LogisticRegression", "LightGBM", "RandomForest", "CatBoost"])
def test_featurized_splits_are_reused_and_score_the_same(context, learner, monkeypatch):
    spec = TrialSpec(0, learner, {"n_estimators": 20} if learner == "CatBoost" else {})
    first = evaluate_trial(context, spec)  # featurizes each split, keeps it
    assert first.ok, first.error
    codes = learner == "CatBoost"  # reads island and sex as category codes: a split of its own
    assert sorted(context._featurized) == [(i, codes) for i in range(len(context.splits))]
    kept = {i: f.train for i, f in context._featurized.items()}
    again = evaluate_trial(context, spec)  # reuses them
    assert all(context._featurized[i].train is kept[i] for i in kept)
    monkeypatch.setattr(trial, "MAX_FEATURIZED_CELLS", 0)  # nothing kept: featurize per trial
    fresh = TrialContext(**{**context.__dict__, "_featurized": {}})
    plain = evaluate_trial(fresh, spec)
    assert all(f is None for f in fresh._featurized.values())
    for outcome in (again, plain):
        np.testing.assert_allclose(outcome.predictions, first.predictions)
        assert outcome.metrics == pytest.approx(first.metrics, nan_ok=True)
    assert first.fit_seconds >= min(f.seconds for f in context._featurized.values())


def test_featurized_splits_never_travel_to_a_worker(context):
    evaluate_trial(context, TrialSpec(0, "LogisticRegression", {}))
    assert context._featurized
    assert pickle.loads(pickle.dumps(context))._featurized == {}
