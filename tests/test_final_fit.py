"""The final model is fitted within the time left: a refit when it fits, else a fallback."""

from __future__ import annotations

import time

import numpy as np
import pytest

import mlflow_automl as automl
from mlflow_automl.codegen.publish import spec_for
from mlflow_automl.ensemble.iterations import STACK
from mlflow_automl.evaluation.trial import TrialContext, TrialSpec, evaluate_trial
from mlflow_automl.featurize import plan_featurization
from mlflow_automl.final_fit import (
    PROCESS_START_S,
    REFIT_MARGIN,
    SPLIT_FIT_MARGIN,
    fit_final,
    refit_reserve,
)
from mlflow_automl.leaderboard import Leaderboard, LeaderboardEntry
from mlflow_automl.learners import get_learner
from mlflow_automl.model import build_pipeline, fit_pipeline, wrap_fitted
from mlflow_automl.onnx_export import convert_model
from mlflow_automl.search import Budget
from mlflow_automl.search.budget import slowdown
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


def _entry(board, iteration, learner, params, fit_seconds, score=0.999):
    """A leaderboard entry whose trial measured ``fit_seconds`` per split: as a trial measured
    on a quieter machine, or a learner slower on more rows than linearly, would have."""
    metric = board.metric
    return LeaderboardEntry(
        iteration,
        "",
        learner,
        learner,
        "completed",
        score,
        {metric: score},
        params,
        fit_seconds,
        fit_seconds,
        "search",
        None,
    )


@pytest.mark.slow
def test_a_refit_past_its_deadline_is_killed_and_the_fallback_predicts(searched):
    """A refit that the estimate says fits (~10 s on all rows: more than a process start even
    at the highest load) but takes minutes (20,000 trees) runs in a process of its own: it is
    killed at the deadline, and the cheap fallback (here the baseline) is a working model."""
    config, data, searched_board, fit, _ = searched
    board = Leaderboard(config.task, config.metric)
    fit_seconds = 10.0 * len(data.splits[0][0]) / len(data.final_rows)
    slow = {"n_estimators": 20000, "max_features": 1.0}
    board.add(_entry(board, 7, "RandomForest", slow, fit_seconds))
    board.add(next(e for e in searched_board.entries if e.learner == "LogisticRegression"))
    seconds_left = 25.0  # > 10 s + a process start (at most 9 s) + the fallback's 0.01 s
    started = time.time()
    final = fit_final(
        config, data, board, _budget_with(seconds_left), reserve=0.0, fit=fit, killable=True
    )
    elapsed = time.time() - started
    assert elapsed <= seconds_left + 2.0, elapsed  # the baseline's fit: well under 2 s
    assert "refit on all 569 rows was stopped at the deadline" in final.how, final.how
    assert final.entry.learner == "LogisticRegression"
    rows = data.validation_rows
    accuracy = (final.pipeline.predict(data.X.iloc[rows]) == data.y[rows]).mean()
    assert accuracy > 0.9, accuracy


@pytest.mark.slow
def test_a_refit_worth_a_process_runs_in_one_and_returns_the_fitted_model(searched):
    """Expected to take longer than a process start: refit in a process of its own, and the
    model it sends back is the fitted pipeline."""
    config, data, board, fit, fitted_rows = searched
    fitted_rows.clear()
    final = fit_final(config, data, board, _budget_with(100.0), reserve=0.0, fit=fit, killable=True)
    assert fitted_rows == []  # fitted in the other process, not in this one
    assert final.entry.iteration == 0
    assert final.how == f"refit on all {len(data.final_rows)} rows in a process of its own"
    rows = data.validation_rows
    assert (final.pipeline.predict(data.X.iloc[rows]) == data.y[rows]).mean() > 0.9


def test_a_killable_refit_reserves_its_plain_estimate_a_process_start_and_the_fallback(searched):
    """The search keeps back the refit's plain estimate (it is stopped at its deadline, not
    waited for), the process's start and the cheap fallback's split fit; a refit that must run
    here keeps its 1.5x margin; an ensemble's further members count up to the cap only."""
    config, data, board, _, _ = searched
    estimate = 10.0 * len(data.final_rows) / len(data.splits[0][0])  # LightGBM, 10 s per split
    baseline = 0.01 * len(data.final_rows) / len(data.splits[0][0])
    fallback = 1.2 * 0.01  # the baseline's split fit
    killable = refit_reserve(config, board, data, 1, killable=True)
    expected = estimate + PROCESS_START_S * slowdown() + fallback
    assert killable == pytest.approx(expected, abs=0.3)  # the load average moves a little
    here = refit_reserve(config, board, data, 1, killable=False)
    assert here == pytest.approx(REFIT_MARGIN * estimate)
    both = refit_reserve(config, board, data, 5, killable=False)
    assert both == pytest.approx(REFIT_MARGIN * (estimate + baseline))
    capped = refit_reserve(config, board, data, 5, killable=False, extra_cap=0.001)
    assert capped == pytest.approx(REFIT_MARGIN * estimate + 0.001)


@pytest.mark.slow
def test_a_winning_ensemble_is_refit_in_a_process_of_its_own(searched):
    config, data, searched_board, fit, fitted_rows = searched
    board = Leaderboard(config.task, config.metric)
    for entry in searched_board.entries:
        board.add(entry)
    spec = {"kind": "VotingEnsemble", "members": [0, 1], "weights": [0.5, 0.5]}
    board.add(_entry(board, 2, "VotingEnsemble", spec, 0.0, score=0.995))
    fitted_rows.clear()
    final = fit_final(config, data, board, _budget_with(100.0), reserve=0.0, fit=fit, killable=True)
    assert fitted_rows == []  # fitted in the other process
    assert final.how == "VotingEnsemble: 2 member(s) refit on all 569 rows in a process of its own"
    rows = data.validation_rows
    proba = final.pipeline.predict_proba(data.X.iloc[rows])
    assert (proba.argmax(axis=1) == data.y[rows]).mean() > 0.9


def _prepared(breast_cancer, **settings):
    """(config, data) of breast_cancer with ``settings``; the fixture's data otherwise."""
    config = automl.AutoMLConfig(
        task="classification",
        training_data=breast_cancer,
        label_column_name="target",
        **({"n_cross_validations": 3} | settings),
    )
    return config, prepare_training_data(config)


def _fold_models_config(breast_cancer, final_model="fold_models"):
    return _prepared(breast_cancer, final_model=final_model)


@pytest.mark.parametrize("final_model", ["fold_models", "auto"])
def test_fold_models_are_the_trial_folds_models_averaged(searched, breast_cancer, final_model):
    """The best configuration fitted on each fold's training rows, not refit: each fold model
    predicts its own validation rows as the trial did, and the model is their average."""
    _, _, board, fit, fitted_rows = searched
    config, data = _fold_models_config(breast_cancer, final_model)
    fitted_rows.clear()
    final = fit_final(config, data, board, _budget_with(100.0), reserve=0.0, fit=fit)
    assert fitted_rows == [(0, len(train)) for train, _ in data.splits]
    assert final.how == "its 3 fold models averaged"
    folds = [model for _, model in final.pipeline.members]
    assert len(folds) == 3 and np.allclose(final.pipeline.weights_, 1 / 3)
    trial = board.entries[0].predictions  # the trial's out-of-fold probabilities
    for model, (_, valid) in zip(folds, data.splits):
        assert np.allclose(model.predict_proba(data.X.iloc[valid]), trial[valid])
    X = data.X.iloc[:50]
    expected = np.mean([model.predict_proba(X) for model in folds], axis=0)
    assert np.allclose(final.pipeline.predict_proba(X), expected)


def test_fold_models_reserve_every_fold_fit(searched, breast_cancer):
    """Their cost is the trial's own measured fits: one per fold, 10 s each here, with the
    margin of a measured fit, not of a refit extrapolated to more rows."""
    _, _, board, _, _ = searched
    config, data = _fold_models_config(breast_cancer)
    fold_rows = sum(len(train) for train, _ in data.splits)
    estimate = 10.0 * fold_rows / len(data.splits[0][0])
    assert estimate == pytest.approx(30.0, rel=0.01)
    here = refit_reserve(config, board, data, 1, killable=False)
    assert here == pytest.approx(SPLIT_FIT_MARGIN * estimate)


def test_a_holdout_refit_is_the_fit_its_trial_measured(searched, breast_cancer):
    """With a holdout the final rows are the training split: the refit's cost was measured,
    so it gets the measured fit's margin (1.2x), not the extrapolated refit's (1.5x)."""
    config, data = _prepared(breast_cancer, n_cross_validations=None, validation_size=0.25)
    board = Leaderboard(config.task, config.metric)
    board.add(_entry(board, 0, "LightGBM", {}, 10.0))
    here = refit_reserve(config, board, data, 1, killable=False)
    assert here == pytest.approx(SPLIT_FIT_MARGIN * 10.0)


def test_a_voting_ensemble_averages_each_members_fold_models(searched, breast_cancer):
    """2 members x 3 folds: one flat voting ensemble, each weight the member's / 3."""
    _, _, searched_board, fit, fitted_rows = searched
    config, data = _fold_models_config(breast_cancer)
    board = Leaderboard(config.task, config.metric)
    for entry in searched_board.entries:
        board.add(entry)
    spec = {"kind": "VotingEnsemble", "members": [0, 1], "weights": [0.75, 0.25]}
    board.add(_entry(board, 2, "VotingEnsemble", spec, 0.0, score=0.995))
    fitted_rows.clear()
    final = fit_final(config, data, board, _budget_with(100.0), reserve=0.0, fit=fit)
    assert final.how == "VotingEnsemble: 2 member(s), each its 3 fold models averaged"
    assert sorted(fitted_rows) == sorted((i, len(t)) for i in (0, 1) for t, _ in data.splits)
    assert final.pipeline.members_ == ["LightGBM"] * 3 + ["LogisticRegression"] * 3
    assert np.allclose(final.pipeline.weights_, [0.25] * 3 + [0.25 / 3] * 3)
    rows = data.validation_rows
    proba = final.pipeline.predict_proba(data.X.iloc[rows])
    assert (proba.argmax(axis=1) == data.y[rows]).mean() > 0.9


def test_auto_refits_where_there_are_no_folds(searched, breast_cancer):
    _, _, board, fit, fitted_rows = searched
    config, data = _prepared(
        breast_cancer, n_cross_validations=None, validation_size=0.25, final_model="auto"
    )
    board = Leaderboard(config.task, config.metric)
    board.add(_entry(board, 0, "LogisticRegression", {}, 0.01))
    fitted_rows.clear()
    final = fit_final(config, data, board, _budget_with(100.0), reserve=0.0, fit=fit)
    assert final.how == f"refit on all {len(data.final_rows)} rows"


def test_a_winning_passthrough_stack_is_refit_with_its_featurizer(searched, breast_cancer):
    """The stack's members are refit on all rows, its meta-learner sees the features through
    the plan's featurizer; it has no ONNX graph or generated code yet, and says so."""
    _, _, searched_board, fit, fitted_rows = searched
    config, data = _prepared(breast_cancer, stack_passthrough=True)
    plan = plan_featurization(data.X, "auto", config.task)
    board = Leaderboard(config.task, config.metric)
    for entry in searched_board.entries:
        board.add(entry)
    spec = {
        "kind": "StackEnsemble",
        "members": [0, 1],
        "meta_learner": "LightGBMClassifier",
        "passthrough": True,
        "blend": [0.5, 0.25, 0.25],
    }
    board.add(_entry(board, 2, "StackEnsemble", spec, 0.0, score=0.995))
    fitted_rows.clear()
    final = fit_final(config, data, board, _budget_with(100.0), reserve=0.0, fit=fit, plan=plan)
    assert final.how == "StackEnsemble: 2 member(s) refit on all 569 rows"
    assert sorted(fitted_rows) == [(0, 569), (1, 569)]
    stack = final.pipeline
    assert stack.featurizer_.n_features_in_ == data.X.shape[1]
    assert np.allclose(stack.blend_, [0.5, 0.25, 0.25])
    rows = data.validation_rows
    proba = stack.predict_proba(data.X.iloc[rows])
    assert (proba.argmax(axis=1) == data.y[rows]).mean() > 0.9

    model = wrap_fitted(stack, config.task, data.classes, list(data.X.columns), STACK, spec)
    export = convert_model(model, data.X.iloc[:20])
    assert export.model is None and "sees the features has no ONNX graph" in export.error
    with pytest.raises(ValueError, match="no code generation for a stack whose meta-learner"):
        spec_for(config, data, plan, board, board.best)
