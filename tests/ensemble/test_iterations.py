"""Ensemble iterations within the time budget."""

from __future__ import annotations

import time

import numpy as np
import pytest

import mlflow_automl as automl
from mlflow_automl.ensemble import stack_oof_predictions, voting_oof_predictions
from mlflow_automl.ensemble.iterations import STACK, VOTING, build_ensembles, fit_ensemble
from mlflow_automl.leaderboard import Leaderboard, LeaderboardEntry
from mlflow_automl.learners import get_learner
from mlflow_automl.model import build_pipeline, fit_pipeline
from mlflow_automl.tasks import get_task, prepare_training_data


def _oof(data, seed: int) -> np.ndarray:
    """Out-of-fold class probabilities for ``data``'s rows that mostly favour the true class."""
    rng = np.random.default_rng(seed)
    scores = rng.random((len(data.y), data.n_classes))
    scores[np.arange(len(data.y)), data.y] += 0.8
    return scores / scores.sum(axis=1, keepdims=True)


def _entry(config, iteration, learner, score, predictions, params=None) -> LeaderboardEntry:
    return LeaderboardEntry(
        iteration=iteration,
        run_id="",
        learner=learner,
        pipeline=learner,
        status="completed",
        score=score,
        metrics={config.metric: score},
        params=params or {},
        duration=1.0,
        fit_seconds=0.1,
        origin="low_cost",
        predictions=predictions,
    )


def test_ensembles_past_their_deadline_are_skipped_with_a_reason(penguins):
    config = automl.AutoMLConfig(
        task="classification", training_data=penguins, label_column_name="species"
    )
    data = prepare_training_data(config)
    board = Leaderboard(config.task, config.metric)
    for i, name in enumerate(("LogisticRegression", "LightGBM")):
        score = 0.9 - i / 10
        board.add(_entry(config, i, name, score, _oof(data, i)))
    skipped: dict[str, str] = {}
    built = build_ensembles(config, data, board, deadline=time.time() - 1, skipped=skipped)
    assert [e.kind for e in built] == [VOTING]  # one selection round is always made
    assert "time budget" in skipped[STACK]
    skipped.clear()
    built = build_ensembles(config, data, board, deadline=None, skipped=skipped)
    assert [e.kind for e in built] == [VOTING, STACK] and not skipped


def test_a_passthrough_stack_is_blended_with_its_members_and_refit_with_its_featurizer(penguins):
    """The second layer sees the featurized features; greedy selection then weighs it against
    the first layer's members, and the iteration is scored on that blend. Its refit is a
    StackEnsemble that featurizes the input itself."""
    config = automl.AutoMLConfig(
        task="classification",
        training_data=penguins,
        label_column_name="species",
        stack_passthrough=True,
    )
    data = prepare_training_data(config)
    plan = get_task(config.task).plan(config, data)
    board = Leaderboard(config.task, config.metric)
    for i, name in enumerate(("LogisticRegression", "LightGBM")):
        board.add(_entry(config, i, name, 0.9 - i / 10, _oof(data, i)))
    with pytest.raises(ValueError, match="stack_passthrough needs the featurization plan"):
        build_ensembles(config, data, board)
    voting, stack = build_ensembles(config, data, board, plan=plan)
    assert stack.kind == STACK and stack.spec["meta_learner"] == "LightGBMClassifier"
    assert stack.spec["passthrough"] is True
    blend = stack.spec["blend"]
    assert len(blend) == 1 + len(stack.spec["members"]) and sum(blend) == pytest.approx(1.0)
    layer_one = [board.entries[i].predictions for i in (0, 1)]
    layer_two = stack_oof_predictions(
        layer_one,
        data.y,
        config.task,
        data.splits,
        "LightGBMClassifier",
        X=data.X,
        featurizer=plan.make_transformer(),
    )
    blended = voting_oof_predictions([layer_two, *layer_one], blend)
    np.testing.assert_allclose(stack.predictions, blended)

    def fit_member(entry):
        learner = get_learner(entry.learner, config.task)
        pipeline = build_pipeline(plan, learner, {}, config.task, 0, 1)
        return fit_pipeline(pipeline, learner, data.X, data.y, None)

    board.add(_entry(config, 2, STACK, 0.95, stack.predictions, stack.spec))
    fitted = fit_ensemble(config, data, board, stack.spec, fit_member, None, plan=plan)
    assert fitted.featurizer_ is not None and fitted.blend_ is not None
    assert fitted.meta_learner_.n_features_in_ > 2 * data.n_classes  # features + predictions
    proba = fitted.predict_proba(data.X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba.argmax(axis=1) == data.y).mean() > 0.9
    with pytest.raises(ValueError, match="featurization plan"):
        fit_ensemble(config, data, board, stack.spec, fit_member, None)
