"""The time-budget harness compares trial counts only between runs with the same stopping rule."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.time_budget import earlier_runs, trial_ratios


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


def test_merge_keeps_the_earlier_runs_the_plan_does_not_repeat(tmp_path: Path):
    report = tmp_path / "TIME_BUDGET.json"
    report.write_text(json.dumps({"command": "x", "results": [_run(0, 9, True), _run(2, 5, True)]}))
    kept = earlier_runs([("credit", 60.0, 2, True), ("credit", 300.0, 0, True)], report)
    assert [(r["load"], r["trials"]) for r in kept] == [(0, 9)]
    assert earlier_runs([], tmp_path / "missing.json") == []
