"""Ensemble iterations within the time budget."""

from __future__ import annotations

import time

import numpy as np

import mlflow_automl as automl
from mlflow_automl.ensemble.iterations import STACK, VOTING, build_ensembles
from mlflow_automl.leaderboard import Leaderboard, LeaderboardEntry
from mlflow_automl.tasks import prepare_training_data


def _oof(data, seed: int) -> np.ndarray:
    """Out-of-fold class probabilities for ``data``'s rows that mostly favour the true class."""
    rng = np.random.default_rng(seed)
    scores = rng.random((len(data.y), data.n_classes))
    scores[np.arange(len(data.y)), data.y] += 0.8
    return scores / scores.sum(axis=1, keepdims=True)


def test_ensembles_past_their_deadline_are_skipped_with_a_reason(penguins):
    config = automl.AutoMLConfig(
        task="classification", training_data=penguins, label_column_name="species"
    )
    data = prepare_training_data(config)
    board = Leaderboard(config.task, config.metric)
    for i, name in enumerate(("LogisticRegression", "LightGBM")):
        score = 0.9 - i / 10
        board.add(
            LeaderboardEntry(
                iteration=i,
                run_id="",
                learner=name,
                pipeline=name,
                status="completed",
                score=score,
                metrics={config.metric: score},
                params={},
                duration=1.0,
                fit_seconds=0.1,
                origin="low_cost",
                predictions=_oof(data, i),
            )
        )
    skipped: dict[str, str] = {}
    built = build_ensembles(config, data, board, deadline=time.time() - 1, skipped=skipped)
    assert [e.kind for e in built] == [VOTING]  # one selection round is always made
    assert "time budget" in skipped[STACK]
    skipped.clear()
    built = build_ensembles(config, data, board, deadline=None, skipped=skipped)
    assert [e.kind for e in built] == [VOTING, STACK] and not skipped
