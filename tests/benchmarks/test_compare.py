"""A smoke run of the benchmark harness: iris at a 10 s budget (the smallest accepted),
mlflow_automl against FLAML, each in its own process, so the documented command cannot silently
break."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_compare_writes_scored_results(tmp_path):
    out = tmp_path / "RESULTS"
    command = [sys.executable, "-m", "benchmarks.compare", "--budget", "10", "--datasets", "iris"]
    command += ["--frameworks", "mlflow_automl,flaml", "--out", str(out), "--import-repeats", "1"]
    subprocess.run(command, cwd=REPO, check=True, timeout=240)

    run = json.loads(out.with_suffix(".json").read_text())["runs"][0]
    assert run["versions"]["mlflow"] and run["versions"]["flaml"]
    assert run["machine"]["cores"] >= 1 and run["machine"]["ram_gb"] > 0
    assert 0 < run["import_seconds"]["mlflow"] < 60
    assert run["datasets"][0]["rows"] == 150

    rows = {r["framework"]: r for r in run["results"]}
    assert set(rows) == {"mlflow_automl", "flaml"}
    for row in rows.values():
        assert row["status"] == "ok", row
        assert row["metric"] == "roc_auc_ovr_weighted"
        assert 0.8 < row["score"] <= 1.0  # iris is easy; a broken pipeline is not
        assert 0 < row["wall_s"] < 120 and row["trials"] >= 1 and row["best_learner"]
    ours = rows["mlflow_automl"]
    assert 0 < ours["tracking_seconds"] < ours["wall_s"]
    assert "log_model" in ours["tracking_by_call"]

    summary = run["summary"]["10.0"]
    assert set(summary["mean_rank"]) == {"mlflow_automl", "flaml"}
    assert summary["ours_ge_flaml_of"] == 1

    markdown = out.with_suffix(".md").read_text()
    assert "| iris | mlflow_automl |" in markdown and "mean rank" in markdown
