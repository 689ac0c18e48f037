"""The time-budget harness compares trial counts only between runs with the same stopping rule."""

from __future__ import annotations

from benchmarks.time_budget import trial_ratios


def _run(load: int, trials: int, early_stopping: bool) -> dict:
    return {
        "dataset": "credit",
        "budget_s": 60.0,
        "load": load,
        "trials": trials,
        "early_stopping": early_stopping,
    }


def test_trial_ratios_are_per_early_stopping_setting():
    results = [_run(0, 100, True), _run(2, 23, True), _run(0, 120, False), _run(2, 70, False)]
    ratios = {r["early_stopping"]: r for r in trial_ratios(results)}
    assert ratios[True]["ratio"] == 0.23 and not ratios[True]["at_least_half"]
    assert ratios[False]["ratio"] == 0.58 and ratios[False]["at_least_half"]
    assert ratios[False]["trials_load0"] == 120
