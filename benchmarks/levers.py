"""One change at a time: our runs of the suite (each with its own ``--settings`` or commit)
side by side with the peers' scores from one run of all three frameworks.

    python -m benchmarks.levers --peers benchmarks/REGRESSION_AUTOGLUON.json \\
        --runs benchmarks/LEVERS.json --out benchmarks/LEVERS_TABLE.md \\
        --rest benchmarks/CLASSIFICATION_AUTOGLUON.json

Every run in ``--runs`` is a ``compare`` record of mlflow_automl alone (its note names the
change); ``--peers`` holds one record with FLAML and AutoGluon on the same datasets and budget.
Each of our runs is then summarised against those peers with ``report.summarize``, the figures
the compare report gives (mean rank, share at or above AutoGluon, time to its quality, ...).
The peers ran in another window than our runs: differences in the fourth decimal are noise.
``--rest`` adds a record of all three frameworks on the suite's other tables (classification):
each run is then also summarised on the whole suite, those tables' rows unchanged.
``--rest-ours`` adds a record of ours alone on those tables (its last run): the last of our runs
is then summarised on the whole suite with these rows in place of ``--rest``'s own, so that a
change that touches both is measured on both.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.report import ANCHOR, DECIMALS, OURS, PEER, summarize

FRAMEWORKS = [OURS, PEER, ANCHOR]


def lever_table(
    peers: dict[str, Any],
    runs: list[dict[str, Any]],
    budget: float,
    rest: dict[str, Any] | None = None,
    rest_ours: dict[str, Any] | None = None,
) -> str:
    """Markdown: the scores per dataset, one column per run, then each run's summary (and,
    with ``rest``, its summary on the whole suite: these tables plus ``rest``'s; with
    ``rest_ours``, one more for the last run with ``rest_ours``' rows of ours)."""
    peer_rows = [r for r in peers["results"] if r["framework"] != OURS and r["budget_s"] == budget]
    datasets = [d["name"] for d in peers["datasets"]]
    columns = [("peers' run: ours", _ours(peers, budget))]
    columns += [(run["note"].split(";")[0], _ours(run, budget)) for run in runs]
    peer_scores = {(r["dataset"], r["framework"]): r.get("score") for r in peer_rows}
    lines = [
        f"# One change at a time, {budget:.0f} s budget",
        "",
        f"Peers (FLAML, AutoGluon) from `{peers['command']}` ({peers['started']}); each column",
        "is one run of ours, its note naming the change. Scores on the held-out 25 %, "
        f"{DECIMALS} decimals.",
        "",
        "| dataset | " + " | ".join(f"({i}) {name}" for i, (name, _) in enumerate(columns)),
    ]
    lines[-1] += " | FLAML | AutoGluon |"
    lines.append("|---" * (len(columns) + 3) + "|")
    for dataset in datasets:
        cells = [_score(rows.get(dataset, {}).get("score")) for _, rows in columns]
        cells += [_score(peer_scores.get((dataset, f))) for f in (PEER, ANCHOR)]
        lines.append(f"| {dataset} | " + " | ".join(cells) + " |")
    header = [
        "| run | >= AutoGluon | >= FLAML | mean rank (ours, FLAML, AutoGluon) | diff to AutoGluon "
        "| diff to FLAML | time to AutoGluon's quality | max wall/budget |",
        "|---" * 8 + "|",
    ]
    lines += ["", *header, *_summaries(columns, peer_rows)]
    if rest is not None:
        rest_rows = [r for r in rest["results"] if r["budget_s"] == budget]
        lines += [
            "",
            f"The whole suite: each run with the {len({r['dataset'] for r in rest_rows})} "
            f"tables of `{rest['command']}` ({rest['started']}).",
            "",
            *header,
        ]
        lines += _summaries(columns, peer_rows, rest_rows)
    if rest is not None and rest_ours is not None:
        rest_peers = [r for r in rest_rows if r["framework"] != OURS]
        last, ours = len(columns) - 1, _ours(rest_ours, budget)
        lines += ["", f"Run ({last}) with ours on those tables from `{rest_ours['command']}`", ""]
        lines += header
        label, rows = columns[-1]
        summary = _summaries([(label, {**rows, **ours})], peer_rows, rest_peers)
        lines += [summary[0].replace("| (0) |", f"| ({last}) |", 1)]
    return "\n".join(lines) + "\n"


def _summaries(
    columns: list[tuple[str, dict[str, Any]]], peer_rows: list[dict], rest_rows: list[dict] = ()
) -> list[str]:
    lines = []
    for i, (_, rows) in enumerate(columns):
        summary = summarize(list(rows.values()) + peer_rows + list(rest_rows), FRAMEWORKS)
        ranks = summary["mean_rank"]
        reach = summary["time_to_autogluon"]
        median = reach["median_s"]
        lines.append(
            f"| ({i}) | {summary['ours_ge_autogluon']}/{summary['ours_ge_autogluon_of']} "
            f"| {summary['ours_ge_flaml']}/{summary['ours_ge_flaml_of']} "
            f"| {ranks[OURS]:.2f}, {ranks[PEER]:.2f}, {ranks[ANCHOR]:.2f} "
            f"| {summary['mean_score_diff_vs_autogluon']:+.4f} "
            f"| {summary['mean_score_diff_vs_flaml']:+.4f} "
            f"| median {'never' if median is None else f'{median} s'}, "
            f"reached on {reach['reached']}/{reach['of']} "
            f"| {summary['max_wall_ratio'][OURS]:.2f} |"
        )
    return lines


def _ours(run: dict[str, Any], budget: float) -> dict[str, dict[str, Any]]:
    return {
        r["dataset"]: r
        for r in run["results"]
        if r["framework"] == OURS and r["budget_s"] == budget
    }


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.{DECIMALS}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", required=True, help="a compare record with the peers")
    parser.add_argument("--runs", required=True, help="a compare record of our runs")
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--out", required=True, help="the markdown file to write")
    parser.add_argument("--rest", help="a compare record of all three on the other tables")
    parser.add_argument("--rest-ours", help="a compare record of ours alone on those tables")
    args = parser.parse_args()
    [peers] = json.loads(Path(args.peers).read_text())["runs"][-1:]
    runs = json.loads(Path(args.runs).read_text())["runs"]
    rest = json.loads(Path(args.rest).read_text())["runs"][-1] if args.rest else None
    rest_ours = json.loads(Path(args.rest_ours).read_text())["runs"][-1] if args.rest_ours else None
    Path(args.out).write_text(lever_table(peers, runs, args.budget, rest, rest_ours))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
