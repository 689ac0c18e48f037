"""Summary figures of a benchmark run, and the Markdown file rendered from the JSON one.

The JSON file (``RESULTS.json``) is the record: ``{"runs": [run, ...]}``, one entry per call of
``compare.py`` (``--append`` adds one). The Markdown file is rendered from it in full each time.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

import pandas as pd

OURS, PEER, ANCHOR = "mlflow_automl", "flaml", "autogluon"
REGRESSION = "regression"
# Scores are compared (>=, ranks) at this many decimals, so that 0.99999 vs 1.0 is a tie.
DECIMALS = 4
# Issue 19's goals at 60 s: shares of tables where we score at least AutoGluon's score.
GOAL_GE_ANCHOR_REGRESSION, GOAL_GE_ANCHOR_OVERALL = 0.70, 0.60


def wall_limit(budget: float) -> float:
    """The wall time a run may use: the issue's ``budget x 1.05 + 5 s``."""
    return budget * 1.05 + 5


def summarize(rows: list[dict[str, Any]], frameworks: list[str]) -> dict[str, Any]:
    """The summary figures of one budget's rows (one per dataset and framework)."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return {}
    for column in ("score", "wall_s", "wall_ratio", "within_limit"):
        if column not in frame:  # every row failed
            frame[column] = None
    scores = frame.set_index(["dataset", "framework"])["score"].astype(float).unstack()
    scores = scores.reindex(columns=frameworks).round(DECIMALS)
    # Rank 1 is best; a framework without a score on a dataset ranks last there.
    ranks = scores.rank(axis=1, ascending=False, method="average", na_option="bottom")
    summary: dict[str, Any] = {
        "datasets": int(len(scores)),
        "mean_rank": {f: round(float(ranks[f].mean()), 2) for f in frameworks},
    }
    if OURS in scores and PEER in scores:
        summary.update(_versus(scores, PEER, "flaml"))
    if OURS in scores and ANCHOR in scores:
        summary.update(_versus(scores, ANCHOR, "autogluon"))
        tasks = frame.drop_duplicates("dataset").set_index("dataset")["task"]
        regression = scores[tasks.reindex(scores.index) == REGRESSION]
        summary.update(_versus(regression, ANCHOR, "autogluon_regression"))
        summary["time_to_autogluon"] = time_to_anchor(rows)
    if "best_reached_s" in frame:
        reached = frame.dropna(subset=["best_reached_s"]).groupby("framework")["best_reached_s"]
        summary["median_best_reached_s"] = {
            f: round(float(v), 1) for f, v in reached.median().items()
        }
    measured = frame[frame["wall_s"].notna()]
    summary["max_wall_ratio"] = {
        f: round(float(group["wall_ratio"].max()), 3) for f, group in measured.groupby("framework")
    }
    summary["over_wall_limit"] = {
        f: int((~group["within_limit"].astype(bool)).sum())
        for f, group in measured.groupby("framework")
    }
    if "tracking_pct" in frame:
        tracked = frame["tracking_pct"].dropna()
        if len(tracked):
            summary["tracking_pct_mean"] = round(float(tracked.mean()), 2)
            summary["tracking_pct_max"] = round(float(tracked.max()), 2)
    if OURS in scores and len(frameworks) > 1:
        summary["goals"] = _goals(summary)
    return summary


def _versus(scores: pd.DataFrame, peer: str, name: str) -> dict[str, Any]:
    """On how many datasets we score at least ``peer`` (a failed peer counts as beaten, a failed
    own run as lost), and the mean score difference where both have a score."""
    either = scores[[OURS, peer]].dropna(how="all")
    ours, theirs = either[OURS], either[peer]
    at_least = (ours >= theirs) | (ours.notna() & theirs.isna())
    both = either.dropna()
    return {
        f"ours_ge_{name}": int(at_least.sum()),
        f"ours_ge_{name}_of": int(len(either)),
        f"ours_ge_{name}_fraction": round(float(at_least.mean()), 3) if len(either) else None,
        f"mean_score_diff_vs_{name}": (
            round(float((both[OURS] - both[peer]).mean()), DECIMALS) if len(both) else None
        ),
    }


def time_to_anchor(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Time-to-quality: per dataset, the first moment (seconds after ``submit`` began) our
    best-so-far validation score reaches AutoGluon's final validation score (``None``: never
    within the budget); and the median over datasets, a dataset never reached counting as
    infinitely late (so the median is ``None`` when half or more were never reached).

    Validation scores on both sides: only the final model of either framework is scored on the
    held-out rows, while every trial's validation score is logged with its end time.
    """
    by_dataset: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        if row.get("status") == "ok":
            by_dataset.setdefault(row["dataset"], {})[row["framework"]] = row
    seconds: dict[str, float | None] = {}
    for dataset, runs in by_dataset.items():
        ours, anchor = runs.get(OURS), runs.get(ANCHOR)
        if not ours or not anchor or anchor.get("val_score") is None or not ours.get("curve"):
            continue
        target = round(anchor["val_score"], DECIMALS)
        seconds[dataset] = next(
            (t for t, score in ours["curve"] if round(score, DECIMALS) >= target), None
        )
    values = [math.inf if t is None else t for t in seconds.values()]
    median = statistics.median(values) if values else None
    return {
        "seconds": seconds,
        "reached": sum(t is not None for t in seconds.values()),
        "of": len(seconds),
        "median_s": None if median is None or math.isinf(median) else round(median, 1),
    }


def _goals(summary: dict[str, Any]) -> dict[str, bool | None]:
    """Issue 19's goals, each True/False (None where the run lacks the framework it needs)."""
    ranks = summary["mean_rank"]
    others = [r for f, r in ranks.items() if f != OURS]
    flaml_diff = summary.get("mean_score_diff_vs_flaml")
    regression = summary.get("ours_ge_autogluon_regression_fraction")
    overall = summary.get("ours_ge_autogluon_fraction")
    over = summary.get("over_wall_limit", {}).get(OURS)
    return {
        "best_mean_rank": all(ranks[OURS] < r for r in others) if others else None,
        "ge_autogluon_regression_70pct": (
            None if regression is None else regression >= GOAL_GE_ANCHOR_REGRESSION
        ),
        "ge_autogluon_overall_60pct": (
            None if overall is None else overall >= GOAL_GE_ANCHOR_OVERALL
        ),
        "not_worse_than_flaml_on_average": None if flaml_diff is None else flaml_diff >= 0,
        "within_wall_limit": None if over is None else over == 0,
    }


# --- Markdown -------------------------------------------------------------------------------------
def render(document: dict[str, Any]) -> str:
    lines = [
        "# Benchmark: mlflow_automl and its peers at equal wall budget",
        "",
        "Written by `python -m benchmarks.compare` (see `benchmarks/README.md`). Each framework "
        "fits in a fresh process on the same 75 % of each dataset and is scored on the held-out "
        "25 % with the same scikit-learn metric. Wall time is the framework's whole fit call "
        f"(mlflow_automl: `submit`, model logging included); the limit is budget x 1.05 + 5 s. "
        f"Scores are compared at {DECIMALS} decimals.",
        "",
    ]
    runs = document["runs"]
    for number, run in enumerate(runs, 1):
        title = f"Run {number}: " if len(runs) > 1 else ""
        lines += _run_lines(run, title)
    return "\n".join(lines) + "\n"


def _run_lines(run: dict[str, Any], title: str) -> list[str]:
    machine = run["machine"]
    imports = run.get("import_seconds") or {}
    lines = [
        f"## {title}{run['started']}",
        "",
        f"- command: `{run['command']}`",
        f"- machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gb']} GB RAM, "
        f"{machine['os']}; load average at start {machine['load_at_start']}, "
        f"at end {machine.get('load_at_end', '-')}",
    ]
    if run.get("note"):
        lines.append(f"- note: {run['note']}")
    store = run.get("settings", {}).get("store", "fresh")
    lines.append(
        "- mlflow_automl's SQLite store: "
        + (
            "a copy of an existing one (tables created before the clock starts)"
            if store == "existing"
            else "created by the run, inside its budget (a user's very first run)"
        )
    )
    busy = run.get("settings", {}).get("busy_processes")
    if busy:
        lines.append(f"- {busy} busy process(es) started by the harness kept cores busy throughout")
    lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in run["versions"].items() if v))
    for name, interpreter in (run.get("interpreters") or {}).items():
        packages = ", ".join(f"{k} {v}" for k, v in interpreter["versions"].items() if v)
        lines.append(f"- {name} runs in `{interpreter['python']}`: {packages}")
    if imports:
        lines.append(
            f"- import cost (median of {imports['repeats']} fresh interpreters): "
            f"`import mlflow` {imports['mlflow']:.2f} s; then `import mlflow_automl` "
            f"+{imports['mlflow_automl']:.3f} s; then `mlflow_automl.submit` and "
            f"`AutoMLConfig` (first use loads the engine) +{imports['mlflow_automl_submit']:.2f} s"
        )
    lines.append("- metrics: " + "; ".join(f"{k}: {v}" for k, v in run["metrics"].items()))
    lines += ["", "### Datasets", ""]
    lines += _table(
        [
            "dataset",
            "task",
            "rows",
            "features",
            "categorical",
            "missing %",
            "minority %",
            "target skew",
            "source",
        ],
        [
            [
                d["name"],
                d["task"],
                d["rows"],
                d["features"],
                d["categorical"],
                d["missing_pct"],
                d.get("minority_pct", "-"),
                d.get("target_skew", "-"),
                d["source"],
            ]
            for d in run["datasets"]
        ],
    )
    for budget in run["budgets"]:
        rows = [r for r in run["results"] if r["budget_s"] == budget]
        if not rows:
            continue
        lines += ["", f"### Budget {budget:g} s", ""]
        lines += _table(
            [
                "dataset",
                "framework",
                "score",
                "wall (s)",
                "wall / budget",
                "best learner",
                "trials",
                "val score",
                "best at (s)",
                "tracking %",
                "status",
            ],
            [
                [
                    r["dataset"],
                    r["framework"],
                    _number(r.get("score"), DECIMALS),
                    _number(r.get("wall_s"), 1),
                    _number(r.get("wall_ratio"), 2),
                    r.get("best_learner") or "-",
                    r.get("trials") if r.get("trials") is not None else "-",
                    _number(r.get("val_score"), DECIMALS),
                    _number(r.get("best_reached_s"), 1),
                    _number(r.get("tracking_pct"), 1),
                    _status(r),
                ]
                for r in rows
            ],
        )
        lines += ["", *_summary_lines(run["summary"].get(str(budget), {}))]
    lines.append("")
    return lines


def _summary_lines(summary: dict[str, Any]) -> list[str]:
    if not summary:
        return []
    lines = []
    if summary.get("ours_ge_flaml_of"):
        lines.append(
            f"- mlflow_automl >= FLAML on {summary['ours_ge_flaml']} of "
            f"{summary['ours_ge_flaml_of']} datasets "
            f"({100 * summary['ours_ge_flaml_fraction']:.0f} %); mean score difference "
            f"(mlflow_automl - FLAML) {_number(summary['mean_score_diff_vs_flaml'], DECIMALS)}"
        )
    lines.append(
        "- mean rank (1 = best): "
        + ", ".join(f"{f} {r:.2f}" for f, r in summary["mean_rank"].items())
    )
    lines.append(
        "- max wall / budget: "
        + ", ".join(f"{f} {r:.2f}" for f, r in summary["max_wall_ratio"].items())
        + "; runs over the wall limit: "
        + ", ".join(f"{f} {n}" for f, n in summary["over_wall_limit"].items())
    )
    if summary.get("ours_ge_autogluon_of"):
        lines.append(
            f"- mlflow_automl >= AutoGluon on {summary['ours_ge_autogluon']} of "
            f"{summary['ours_ge_autogluon_of']} datasets "
            f"({100 * summary['ours_ge_autogluon_fraction']:.0f} %), on "
            f"{summary['ours_ge_autogluon_regression']} of "
            f"{summary['ours_ge_autogluon_regression_of']} regression datasets"
            + (
                f" ({100 * summary['ours_ge_autogluon_regression_fraction']:.0f} %)"
                if summary["ours_ge_autogluon_regression_of"]
                else ""
            )
            + "; mean score difference (mlflow_automl - AutoGluon) "
            + _number(summary["mean_score_diff_vs_autogluon"], DECIMALS)
        )
    ttq = summary.get("time_to_autogluon")
    if ttq and ttq["of"]:
        median = (
            "never (half or more not reached)"
            if ttq["median_s"] is None
            else (f"{ttq['median_s']:.1f} s")
        )
        lines.append(
            f"- time to AutoGluon's quality (our best-so-far validation score reaches AutoGluon's "
            f"final validation score): median {median}; reached on {ttq['reached']} of "
            f"{ttq['of']} datasets ("
            + ", ".join(f"{d} {_seconds(t)}" for d, t in ttq["seconds"].items())
            + ")"
        )
    if summary.get("median_best_reached_s"):
        lines.append(
            "- median time its final best was reached: "
            + ", ".join(f"{f} {t:.1f} s" for f, t in summary["median_best_reached_s"].items())
        )
    if "tracking_pct_mean" in summary:
        lines.append(
            f"- MLflow tracking overhead of mlflow_automl: mean {summary['tracking_pct_mean']} %, "
            f"max {summary['tracking_pct_max']} % of wall time"
        )
    if summary.get("goals"):
        lines += ["", "Goals of issue 19 (meant for 60 s on the whole suite):", ""]
        lines += _table(
            ["goal", "met"],
            [[_GOAL_NAMES[g], _yes_no(met)] for g, met in summary["goals"].items()],
        )
    return lines


_GOAL_NAMES = {
    "best_mean_rank": "best mean rank of all frameworks",
    "ge_autogluon_regression_70pct": ">= AutoGluon on >= 70 % of the regression datasets",
    "ge_autogluon_overall_60pct": ">= AutoGluon on >= 60 % of all datasets",
    "not_worse_than_flaml_on_average": "mean score difference to FLAML >= 0",
    "within_wall_limit": "every run of ours within budget x 1.05 + 5 s",
}


def _yes_no(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "**no**")


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows),
    ]


def _number(value: Any, decimals: int) -> str:
    if value is None or value != value:  # None or NaN
        return "-"
    return f"{value:.{decimals}f}"


def _status(row: dict[str, Any]) -> str:
    if row["status"] != "ok":
        error = (row.get("error") or "").replace("|", "/").replace("\n", " ")
        return f"{row['status']}: {error[:80]}" if error else row["status"]
    return "ok" if row["within_limit"] else "over limit"
