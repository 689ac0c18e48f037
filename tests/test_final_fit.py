"""The final model is fitted within the time left: a refit when it fits, else a fallback."""

from __future__ import annotations

import time

import numpy as np
import pytest

import mlflow_automl as automl
from mlflow_automl.evaluation.trial import TrialContext, TrialSpec, evaluate_trial
from mlflow_automl.featurize import plan_featurization
from mlflow_automl.final_fit import fit_final
from mlflow_automl.leaderboard import Leaderboard, LeaderboardEntry
from mlflow_automl.learners import get_learner
from mlflow_automl.model import build_pipeline, fit_pipeline
from mlflow_automl.search import Budget
from mlflow_automl.tasks import prepare_training_data


@pytest.fixture(scope="module")
def searched(breast_cancer):
    """Two real trials (a strong slow-ish learner first, the baseline second) and a fit
    function; each entry's fit time is then set so that the choice does not hang on the load."""
    config = automl.AutoMLConfig(
        task="classification",
        training_data=breast_cancer,
        label_column_name="target",
        n_cross_validations=3,
    )
    data = prepare_training_data(config)
    plan = plan_featurization(data.X, "auto", config.task)
    context = TrialContext(
        data.X, data.y, None, data.splits, config.task, data.n_classes, plan, 0, 1
    )
    board = Leaderboard(config.task, config.metric)
    specs = [TrialSpec(0, "LightGBM", {}), TrialSpec(1, "LogisticRegression", {})]
    for spec, fit_seconds, score in zip(specs, (10.0, 0.01), (0.99, 0.9)):
        outcome = evaluate_trial(context, spec)
        assert outcome.ok, outcome.error
        board.add(
            LeaderboardEntry(
                spec.iteration,
                "",
                spec.learner,
                spec.learner,
                "completed",
                score,
                {config.metric: score},
                spec.params,
                outcome.duration,
                fit_seconds,
                "low_cost",
                outcome.predictions,
            )
        )
    fitted_rows = []

    def fit(entry, rows):
        learner = get_learner(entry.learner, config.task)
        pipeline = build_pipeline(plan, learner, entry.params, config.task, 0, 1)
        fitted_rows.append((entry.iteration, len(rows)))
        return fit_pipeline(pipeline, learner, data.X.iloc[rows], data.y[rows], None)

    return config, data, board, fit, fitted_rows


def _budget_with(seconds_left: float) -> Budget:
    return Budget(metric="accuracy", timeout_seconds=60, started_at=time.time() - 60 + seconds_left)


@pytest.mark.parametrize(
    ("seconds_left", "iteration", "rows", "how"),
    [
        (100.0, 0, "final", "refit on all"),  # 1.5 x 10 s x 569/379 rows = 22.5 s fits
        (14.0, 0, "split", "fitted on its first training split"),  # 1.2 x 10 s fits, 22.5 s not
        (5.0, 1, "split", "fitted on its first training split"),  # only the baseline fits
    ],
)
def test_the_final_fit_is_chosen_by_the_time_left(searched, seconds_left, iteration, rows, how):
    config, data, board, fit, fitted_rows = searched
    fitted_rows.clear()
    final = fit_final(config, data, board, _budget_with(seconds_left), reserve=0.0, fit=fit)
    n_rows = len(data.final_rows) if rows == "final" else len(data.splits[0][0])
    assert fitted_rows == [(iteration, n_rows)]
    assert final.entry.iteration == iteration
    assert how in final.how
    proba = final.pipeline.predict_proba(data.X.iloc[data.validation_rows])
    assert np.isfinite(proba).all()


def test_with_no_time_left_the_cheapest_iteration_is_fitted_on_a_sample(searched):
    config, data, board, fit, fitted_rows = searched
    fitted_rows.clear()
    final = fit_final(config, data, board, _budget_with(-1.0), reserve=0.0, fit=fit)
    n_sample = min(1000, len(data.splits[0][0]))  # the smallest sample (here: all 379 rows)
    assert fitted_rows == [(1, n_sample)]  # the baseline
    assert f"{n_sample} sampled rows" in final.how
    assert np.isfinite(final.pipeline.predict_proba(data.X.iloc[data.validation_rows])).all()
