"""The lever table: each of our runs scored against one run of the peers, as compare's own
summary would score it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FRAMEWORKS = ("mlflow_automl", "flaml", "autogluon")


def _row(dataset, framework, score, val):
    return {
        "budget_s": 60.0,
        "dataset": dataset,
        "task": "regression",
        "framework": framework,
        "status": "ok",
        "score": score,
        "val_score": val,
        "curve": [[5.0, val - 0.1], [30.0, val]],
        "wall_s": 50.0,
        "wall_ratio": 50 / 60,
        "within_limit": True,
    }


def _record(rows, note="", datasets=("a", "b")):
    return {
        "command": "python -m benchmarks.compare ...",
        "started": "2026-12-02T00:00:00+00:00",
        "note": note,
        "datasets": [{"name": name} for name in datasets],
        "results": rows,
    }


def test_each_run_is_summarised_against_the_peers(tmp_path):
    peers = _record(
        [
            _row("a", "mlflow_automl", 0.50, 0.50),
            _row("a", "flaml", 0.60, 0.60),
            _row("a", "autogluon", 0.70, 0.70),
            _row("b", "mlflow_automl", 0.80, 0.80),
            _row("b", "flaml", 0.70, 0.70),
            _row("b", "autogluon", 0.75, 0.75),
        ]
    )
    better = _record(
        [_row("a", "mlflow_automl", 0.71, 0.72), _row("b", "mlflow_automl", 0.80, 0.80)],
        note="a change; commit abc",
    )
    (tmp_path / "peers.json").write_text(json.dumps({"runs": [peers]}))
    (tmp_path / "runs.json").write_text(json.dumps({"runs": [better]}))
    out = tmp_path / "table.md"
    command = [sys.executable, "-m", "benchmarks.levers", "--peers", str(tmp_path / "peers.json")]
    command += ["--runs", str(tmp_path / "runs.json"), "--out", str(out)]
    subprocess.run(command, cwd=REPO, check=True, timeout=120)

    text = out.read_text()
    assert "| a | 0.5000 | 0.7100 | 0.6000 | 0.7000 |" in text
    assert "(1) a change |" in text  # the note up to its first ';'
    # The peers' own run of ours: last on a, first on b.
    assert "| (0) | 1/2 | 1/2 | 2.00, 2.50, 1.50 | -0.0750 | +0.0000 |" in text
    # The change: first everywhere; AutoGluon's validation score reached at 30 s on both.
    assert "| (1) | 2/2 | 2/2 | 1.00, 3.00, 2.00 | +0.0300 | +0.1050 | median 30.0 s" in text


def test_rest_adds_a_whole_suite_summary(tmp_path):
    """``--rest``: the other tables' rows (all three frameworks) join each run's summary."""
    peers = _record([_row("a", f, s, s) for f, s in zip(FRAMEWORKS, (0.5, 0.6, 0.7))])
    run = _record([_row("a", "mlflow_automl", 0.71, 0.72)], note="a change")
    rest = _record(
        [_row("c", f, s, s) for f, s in zip(FRAMEWORKS, (0.9, 0.8, 0.95))], datasets=("c",)
    )
    for name, record in (("peers", peers), ("runs", run), ("rest", rest)):
        (tmp_path / f"{name}.json").write_text(json.dumps({"runs": [record]}))
    out = tmp_path / "table.md"
    command = [sys.executable, "-m", "benchmarks.levers", "--out", str(out)]
    for name in ("peers", "runs", "rest"):
        command += [f"--{name}", str(tmp_path / f"{name}.json")]
    subprocess.run(command, cwd=REPO, check=True, timeout=120)

    whole = out.read_text().split("The whole suite")[1]
    assert "| (1) | 1/2 | 2/2 | 1.50, 3.00, 1.50 |" in whole  # first on a, second on c


def test_rest_ours_scores_the_last_run_with_our_rows_on_the_other_tables(tmp_path):
    """``--rest-ours``: a change that touches the other tables too is summarised with its own
    rows there, the peers' rows of ``--rest`` unchanged."""
    peers = _record([_row("a", f, s, s) for f, s in zip(FRAMEWORKS, (0.5, 0.6, 0.7))])
    run = _record([_row("a", "mlflow_automl", 0.71, 0.72)], note="a change")
    rest = _record(
        [_row("c", f, s, s) for f, s in zip(FRAMEWORKS, (0.9, 0.8, 0.95))], datasets=("c",)
    )
    rest_ours = _record([_row("c", "mlflow_automl", 0.96, 0.96)], datasets=("c",))
    records = {"peers": peers, "runs": run, "rest": rest, "rest-ours": rest_ours}
    command = [sys.executable, "-m", "benchmarks.levers", "--out", str(tmp_path / "table.md")]
    for name, record in records.items():
        (tmp_path / f"{name}.json").write_text(json.dumps({"runs": [record]}))
        command += [f"--{name}", str(tmp_path / f"{name}.json")]
    subprocess.run(command, cwd=REPO, check=True, timeout=120)

    text = (tmp_path / "table.md").read_text()
    assert "| (1) | 1/2 | 2/2 | 1.50, 3.00, 1.50 |" in text.split("The whole suite")[1]
    last = text.split("Run (1) with ours on those tables")[1]
    assert "| run | >= AutoGluon |" in last and "|---|---|" in last
    assert "| (1) | 2/2 | 2/2 | 1.00, 3.00, 2.00 |" in last  # first on a and now on c
