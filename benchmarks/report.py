"""Summary figures of a benchmark run, and the Markdown file rendered from the JSON one.

The JSON file (``RESULTS.json``) is the record: ``{"runs": [run, ...]}``, one entry per call of
``compare.py`` (``--append`` adds one). The Markdown file is rendered from it in full each time.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

OURS, PEER = "mlflow_automl", "flaml"
# Scores are compared (>=, ranks) at this many decimals, so that 0.99999 vs 1.0 is a tie.
DECIMALS = 4


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
        either = scores[[OURS, PEER]].dropna(how="all")
        ours, peer = either[OURS], either[PEER]
        at_least = (ours >= peer) | (ours.notna() & peer.isna())
        both = either.dropna()
        summary["ours_ge_flaml"] = int(at_least.sum())
        summary["ours_ge_flaml_of"] = int(len(either))
        summary["ours_ge_flaml_fraction"] = (
            round(float(at_least.mean()), 3) if len(either) else None
        )
        summary["mean_score_diff_vs_flaml"] = (
            round(float((both[OURS] - both[PEER]).mean()), 4) if len(both) else None
        )
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
    return summary


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
    lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in run["versions"].items() if v))
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
        ["dataset", "task", "rows", "features", "categorical", "missing %", "minority %", "source"],
        [
            [
                d["name"],
                d["task"],
                d["rows"],
                d["features"],
                d["categorical"],
                d["missing_pct"],
                d.get("minority_pct", "-"),
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
    if "tracking_pct_mean" in summary:
        lines.append(
            f"- MLflow tracking overhead of mlflow_automl: mean {summary['tracking_pct_mean']} %, "
            f"max {summary['tracking_pct_max']} % of wall time"
        )
    return lines


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
