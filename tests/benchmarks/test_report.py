"""The summary figures issue 19's goals are read from: wins against AutoGluon (all datasets and
the regression ones), the mean score difference to FLAML, time-to-quality, and the goal table."""

from __future__ import annotations

from benchmarks import report


def _row(dataset, task, framework, score, **extra):
    return {
        "budget_s": 60.0,
        "dataset": dataset,
        "task": task,
        "framework": framework,
        "status": "ok",
        "score": score,
        "wall_s": 60.0,
        "wall_ratio": 1.0,
        "within_limit": True,
        **extra,
    }


FRAMEWORKS = ["mlflow_automl", "flaml", "autogluon"]


def _rows():
    # Regression: a win at 4 decimals (tie), a loss, a win; classification: a win, a loss.
    scores = {
        "r1": ("regression", 0.81236, 0.80, 0.81241),
        "r2": ("regression", 0.70, 0.71, 0.75),
        "r3": ("regression", 0.90, 0.85, 0.88),
        "c1": ("binary", 0.95, 0.94, 0.93),
        "c2": ("multiclass", 0.80, 0.82, 0.85),
    }
    curves = {
        "r1": [[5.0, 0.60], [20.0, 0.79], [41.5, 0.83]],  # reaches 0.83 at 41.5 s
        "r2": [[3.0, 0.50], [50.0, 0.70]],  # never reaches 0.76
        "r3": [[2.0, 0.91]],  # at once
        "c1": [[10.0, 0.97]],
        "c2": [[9.0, 0.70], [30.0, 0.90]],
    }
    anchor_val = {"r1": 0.83, "r2": 0.76, "r3": 0.90, "c1": 0.99, "c2": 0.90}
    rows = []
    for dataset, (task, ours, flaml, autogluon) in scores.items():
        rows.append(_row(dataset, task, "mlflow_automl", ours, curve=curves[dataset]))
        rows.append(_row(dataset, task, "flaml", flaml, val_score=None))
        rows.append(_row(dataset, task, "autogluon", autogluon, val_score=anchor_val[dataset]))
    return rows


def test_wins_against_autogluon_overall_and_on_regression():
    summary = report.summarize(_rows(), FRAMEWORKS)

    assert (summary["ours_ge_autogluon"], summary["ours_ge_autogluon_of"]) == (3, 5)
    assert summary["ours_ge_autogluon_fraction"] == 0.6
    assert summary["ours_ge_autogluon_regression"] == 2  # r1 (a tie at 4 decimals) and r3
    assert summary["ours_ge_autogluon_regression_of"] == 3
    assert summary["ours_ge_autogluon_regression_fraction"] == 0.667
    # Scores at 4 decimals: (0 - 0.05 + 0.02 + 0.02 - 0.05) / 5
    assert summary["mean_score_diff_vs_autogluon"] == -0.012
    # (0.0124 - 0.01 + 0.05 + 0.01 - 0.02) / 5
    assert summary["mean_score_diff_vs_flaml"] == 0.0085
    assert summary["mean_rank"]["autogluon"] < summary["mean_rank"]["mlflow_automl"]


def test_time_to_quality_is_the_first_moment_our_curve_reaches_autogluons_score():
    ttq = report.summarize(_rows(), FRAMEWORKS)["time_to_autogluon"]

    assert ttq["seconds"] == {"r1": 41.5, "r2": None, "r3": 2.0, "c1": None, "c2": 30.0}
    assert (ttq["reached"], ttq["of"]) == (3, 5)
    # Sorted: 2.0, 30.0, 41.5, never, never -> the median is 41.5 s.
    assert ttq["median_s"] == 41.5


def test_time_to_quality_median_is_never_when_most_tables_are_not_reached():
    rows = [r for r in _rows() if r["dataset"] in ("r1", "r2", "c1")]
    ttq = report.time_to_anchor(rows)
    assert ttq["reached"] == 1 and ttq["median_s"] is None
    assert "never" in "\n".join(report._summary_lines(report.summarize(rows, FRAMEWORKS)))


def test_a_failed_run_is_left_out_of_time_to_quality():
    rows = _rows()
    for row in rows:
        if row["dataset"] == "r3" and row["framework"] == "autogluon":
            row.update(status="failed", score=None, val_score=None)
    ttq = report.time_to_anchor(rows)
    assert "r3" not in ttq["seconds"] and ttq["of"] == 4


def test_goals_table_says_which_goal_is_met():
    summary = report.summarize(_rows(), FRAMEWORKS)
    assert summary["goals"] == {
        "best_mean_rank": False,
        "ge_autogluon_regression_70pct": False,  # 2 of 3
        "ge_autogluon_overall_60pct": True,  # 3 of 5
        "not_worse_than_flaml_on_average": True,
        "within_wall_limit": True,
    }
    markdown = "\n".join(report._summary_lines(summary))
    assert "| >= AutoGluon on >= 60 % of all datasets | yes |" in markdown
    assert "| best mean rank of all frameworks | **no** |" in markdown
    assert "on 2 of 3 regression datasets (67 %)" in markdown


def test_without_autogluon_the_flaml_figures_stand_alone():
    rows = [r for r in _rows() if r["framework"] != "autogluon"]
    summary = report.summarize(rows, ["mlflow_automl", "flaml"])
    assert "ours_ge_autogluon" not in summary and "time_to_autogluon" not in summary
    assert summary["goals"]["ge_autogluon_overall_60pct"] is None
    assert summary["ours_ge_flaml"] == 3
