"""Budget: every stop criterion, whichever comes first."""

from __future__ import annotations

import time

import pytest

from mlflow_automl.search import Budget


def test_iterations_limit():
    budget = Budget(metric="accuracy", iterations=3)
    assert budget.stop_reason(2) is None
    assert "iterations=3" in budget.stop_reason(3)


def test_timeout_leaves_the_reserve():
    budget = Budget(
        metric="accuracy", timeout_seconds=10, started_at=time.time() - 8, reserve_seconds=3
    )
    budget.record(0.5)
    assert "timeout" in budget.stop_reason(1)
    budget.reserve_seconds = 1
    assert budget.stop_reason(0) is None
    assert 0.7 < budget.fraction_used() < 0.9


def test_until_a_trial_scores_only_the_essential_reserve_is_kept():
    budget = Budget(
        metric="accuracy",
        timeout_seconds=10,
        started_at=time.time() - 8,
        reserve_seconds=4,
        essential_reserve_seconds=1.5,
    )
    assert budget.stop_reason(1) is None  # no model yet: search on until 8.5 s
    budget.record(None)  # a failed trial is not a model either
    assert budget.stop_reason(2) is None
    budget.record(0.9)
    assert "timeout" in budget.stop_reason(3)  # now the whole reserve counts


def test_exit_score_for_both_directions():
    up = Budget(metric="accuracy", exit_score=0.9, iterations=100)
    up.record(0.8)
    assert up.stop_reason(1) is None
    up.record(0.95)
    assert "experiment_exit_score" in up.stop_reason(2)
    down = Budget(metric="normalized_root_mean_squared_error", exit_score=0.1, iterations=100)
    down.record(0.2)
    assert down.stop_reason(1) is None
    down.record(0.05)
    assert "experiment_exit_score" in down.stop_reason(2)


def test_early_stopping_counts_iterations_without_real_improvement():
    budget = Budget(
        metric="accuracy",
        iterations=100,
        early_stopping_n_iters=3,
        min_iterations_before_early_stop=2,
    )
    assert budget.record(0.8) is True
    budget.record(0.8000001)  # a negligible gain does not reset the clock
    budget.record(None)  # a failed trial counts as no improvement
    assert budget.stop_reason(3) is None
    budget.record(0.7)
    assert "early stopping" in budget.stop_reason(4)


def test_with_a_time_budget_a_plateau_must_also_last_a_share_of_it():
    budget = Budget(
        metric="accuracy",
        timeout_seconds=4.0,
        early_stopping_n_iters=2,
        early_stopping_patience_fraction=0.25,
    )
    assert budget.early_stopping_patience_seconds == 1.0
    budget.record(0.8)
    budget.record(0.7)
    budget.record(0.7)
    assert budget.stop_reason(3) is None  # two flat trials, but within a second of the best
    time.sleep(1.05)
    assert "early stopping" in budget.stop_reason(3)


def test_early_stopping_can_be_disabled_but_not_without_any_criterion():
    budget = Budget(
        metric="accuracy", iterations=100, early_stopping=False, early_stopping_n_iters=1
    )
    budget.record(0.5)
    budget.record(0.4)
    assert budget.stop_reason(2) is None
    unlimited = Budget(metric="accuracy", early_stopping=False)
    assert unlimited.early_stopping is True


def test_the_reserve_keeps_the_essential_work_and_caps_the_optional(monkeypatch):
    from mlflow_automl.search import budget as budget_module
    from mlflow_automl.search.budget import (
        ESSENTIAL_SHARE,
        MODEL_LOGGING_RESERVE_S,
        OPTIONAL_SHARE,
        REGISTRATION_RESERVE_S,
        Reserve,
    )

    monkeypatch.setattr(budget_module, "slowdown", lambda: 1.0)  # a quiet machine
    long = Reserve(timeout_seconds=600, chart_set_seconds=0.8, registers=True, explains=True,
                   n_ensembles=2)  # fmt: skip
    assert long.essential() == MODEL_LOGGING_RESERVE_S + REGISTRATION_RESERVE_S
    assert long.fixed() == pytest.approx(long.essential() + 0.8 + 1.0 + 2 * 1.0)
    assert long.refit_members == 5  # ensembles may win: their members are refit
    assert long.after_search(4.0) == pytest.approx(long.fixed() + 4.0)
    short = Reserve(timeout_seconds=12, chart_set_seconds=0.8, explains=True, n_ensembles=2)
    assert short.essential() == min(MODEL_LOGGING_RESERVE_S, ESSENTIAL_SHARE * 12)
    assert short.fixed() == pytest.approx(short.essential() + 0.8 + OPTIONAL_SHARE * 12)
    assert Reserve(timeout_seconds=None, chart_set_seconds=0.8).refit_members == 1


def test_with_a_time_budget_a_plateau_does_not_stop_while_a_learner_still_gains():
    """The search's own plateau rule: some learner still gains, so the budget is used."""
    budget = Budget(
        metric="accuracy",
        timeout_seconds=0.4,
        early_stopping_n_iters=2,
        early_stopping_patience_fraction=0.25,
    )
    for score in (0.8, 0.7, 0.7):
        budget.record(score)
    time.sleep(0.15)
    budget.learners_improving = True
    assert budget.stop_reason(3) is None
    budget.learners_improving = False
    assert "early stopping" in budget.stop_reason(3)
    untimed = Budget(metric="accuracy", iterations=100, early_stopping_n_iters=2)
    for score in (0.8, 0.7, 0.7):
        untimed.record(score)
    untimed.learners_improving = True  # without a time budget: Azure's rule, N flat trials
    assert "early stopping" in untimed.stop_reason(3)
