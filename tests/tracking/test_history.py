"""Run history (``mlflow_automl.tracking.history`` and the ``history`` CLI group) on a real
SQLite store holding a real AutoML experiment and plain MLflow runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from types import SimpleNamespace

import mlflow
import pytest
from click.testing import CliRunner

import mlflow_automl as automl
from mlflow_automl import tracking
from mlflow_automl.cli.history import history
from mlflow_automl.tracking import history as runs

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def store(tmp_path_factory, penguins):
    """One store for the module (the AutoML experiment takes ~10 s): like ``sqlite_store``, with
    an AutoML experiment "h", then plain runs a, b and b's child c in "plain", newest last."""
    root = tmp_path_factory.mktemp("history")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        config = automl.AutoMLConfig(
            task="classification", training_data=penguins, label_column_name="species", iterations=3
        )
        automl_run = automl.submit(config, experiment_name="h")
        plain = mlflow.set_experiment("plain").experiment_id
        ids = {}
        for name, lr, acc in (("a", 0.1, 0.8), ("b", 0.2, 0.9)):
            time.sleep(0.01)  # distinct start times keep "newest first" deterministic
            with mlflow.start_run(experiment_id=plain, run_name=name) as run:
                mlflow.log_params({"lr": lr, name: "only"})
                mlflow.log_metrics({"acc": acc})
                mlflow.set_tags({"mlflow.source.git.commit": COMMIT, "team": "ml"})
                mlflow.log_text(f"report {name}", "outputs/report.txt")
                mlflow.log_dict({"lr": lr}, "outputs/nested/config.json")
                ids[name] = run.info.run_id
                if name == "b":
                    time.sleep(0.01)
                    with mlflow.start_run(run_name="c", nested=True) as child:
                        mlflow.log_metric("acc", 0.7)
                        mlflow.set_tag("mlflow.source.git.commit", COMMIT)
                        ids["c"] = child.info.run_id
        yield SimpleNamespace(uri=uri, root=root, automl=automl_run, **ids)
        mlflow.set_tracking_uri(None)


def _cli(*args: str):
    result = CliRunner().invoke(history, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


# --- list ----------------------------------------------------------------------------------------
def test_list_runs_newest_first_with_kinds_parents_and_scores(store):
    frame = runs.list_runs()
    assert list(frame.run_id[:3]) == [store.c, store.b, store.a]
    assert frame.start_time.is_monotonic_decreasing
    parent = frame.set_index("run_id").loc[store.automl.run_id]
    assert parent.kind == "automl experiment" and parent.primary_metric == "accuracy"
    best = tracking.get_run(store.automl.run_id).data.metrics["best_score"]
    assert parent.score == pytest.approx(best)
    trials = frame[frame.kind == "trial"]
    assert len(trials) == 3 and set(trials.parent_run_id) == {store.automl.run_id}
    assert trials.score.notna().all()
    assert frame.set_index("run_id").loc[store.c].parent_run_id == store.b

    only_h = runs.list_runs("h", max_results=2)
    assert len(only_h) == 2 and set(only_h.experiment) == {"h"}
    with pytest.raises(ValueError, match="'nope'"):
        runs.list_runs("nope")


def test_list_command_table_and_json(store):
    result = _cli("list", "-o", "table", "--experiment", "plain")
    assert result.exit_code == 0
    header, rule, *rows = result.stdout.splitlines()
    assert header.split()[:3] == ["run_id", "run_name", "experiment"] and set(rule) <= {"-", " "}
    assert [row.split()[0] for row in rows] == [store.c, store.b, store.a]
    assert store.b[:8] in rows[0]  # the child shows its parent's short id

    result = _cli("list", "-o", "json", "--max-results", "3")
    records = json.loads(result.stdout)
    assert [r["run_id"] for r in records] == [store.c, store.b, store.a]
    assert records[0]["parent_run_id"] == store.b and records[2]["parent_run_id"] is None


# --- info / last ---------------------------------------------------------------------------------
def test_info_and_last_report_times_status_parent_and_properties(store):
    info = runs.run_info(store.a)
    assert info["run_name"] == "a" and info["experiment"] == "plain"
    assert info["status"] == "FINISHED" and info["parent_run_id"] is None
    assert info["start_time"] <= info["end_time"] and info["created_time"] == info["start_time"]
    assert info["duration_s"] >= 0 and info["duration"].startswith("0:00:")
    assert info["properties"]["git_commit"] == COMMIT
    assert info["params"] == {"lr": "0.1", "a": "only"} and info["metrics"] == {"acc": 0.8}
    assert info["tags"] == {"team": "ml"}  # system tags are properties, not tags
    assert info["artifacts"] == ["outputs/nested/config.json", "outputs/report.txt"]

    last = json.loads(_cli("last").stdout)
    assert last["run_id"] == store.c and last["parent_run_id"] == store.b
    for field in ("created_time", "start_time", "end_time", "duration", "status", "metrics"):
        assert last[field] is not None
    assert json.loads(_cli("last", "--experiment", "h").stdout)["experiment"] == "h"

    automl_info = json.loads(_cli("info", store.automl.run_id).stdout)
    assert automl_info["kind"] == "automl experiment"
    assert automl_info["tags"][tracking.TAG_KIND] == "experiment"
    assert [m["name"] for m in automl_info["logged_models"]] == ["model"]
    assert "leaderboard.json" in automl_info["artifacts"]

    table = _cli("info", store.a, "-o", "table").stdout
    assert ["properties.git_commit", COMMIT] in [line.split() for line in table.splitlines()]
    assert ["artifact", "outputs/report.txt"] in [line.split() for line in table.splitlines()]


def test_unknown_run_id_is_a_usage_error(store):
    with pytest.raises(ValueError, match="unknown run id 'deadbeef'"):
        runs.run_info("deadbeef")
    result = _cli("info", "deadbeef")
    assert result.exit_code == 2 and "unknown run id 'deadbeef'" in result.output
    assert "Traceback" not in result.output


# --- compare -------------------------------------------------------------------------------------
def test_compare_two_and_three_runs(store):
    frame = runs.compare_runs([store.a, store.b])
    assert list(frame.columns) == [f"{store.a[:8]} a", f"{store.b[:8]} b"]
    assert list(frame.index) == ["metric:acc", "param:a", "param:b", "param:lr"]
    assert frame.loc["metric:acc"].tolist() == [0.8, 0.9]
    assert frame.loc["param:lr"].tolist() == ["0.1", "0.2"]

    table = _cli("compare", store.a, store.b, store.c).stdout
    assert "metric:acc" in table and "0.7" in table and f"{store.c[:8]} c" in table
    data = json.loads(_cli("compare", store.a, store.b, store.c, "-o", "json").stdout)
    assert [r["run_id"] for r in data["runs"]] == [store.a, store.b, store.c]
    assert data["metrics"]["acc"] == {store.a: 0.8, store.b: 0.9, store.c: 0.7}
    assert data["params"]["lr"][store.c] is None


@pytest.mark.parametrize("count", [1, 4])
def test_compare_needs_two_or_three_runs(store, count):
    ids = [store.a, store.b, store.c, store.automl.run_id][:count]
    with pytest.raises(ValueError, match=f"2 or 3 run ids, got {count}"):
        runs.compare_runs(ids)
    result = _cli("compare", *ids)
    assert result.exit_code == 2 and f"got {count}" in result.output


# --- download / promote --------------------------------------------------------------------------
def test_download_all_or_one_artifact(store, tmp_path):
    local = runs.download_run(store.a, tmp_path / "all")
    assert (tmp_path / "all" / "outputs" / "report.txt").read_text() == "report a"
    assert os.path.samefile(local, tmp_path / "all")

    result = _cli("download", store.b, "-d", str(tmp_path / "one"), "--path", "outputs/nested")
    assert result.exit_code == 0
    assert (tmp_path / "one" / "nested" / "config.json").exists()
    assert not (tmp_path / "one" / "report.txt").exists()
    assert result.stdout.strip().endswith("nested")

    result = _cli("download", store.b, "-d", str(tmp_path / "x"), "--path", "missing")
    assert result.exit_code == 2 and "'missing'" in result.output


def test_promote_the_automl_model(store):
    result = _cli("promote", store.automl.run_id, "model", "--name", "penguins")
    assert result.exit_code == 0, result.output
    promoted = json.loads(result.stdout)
    model_id = store.automl.model_uri.removeprefix("models:/")
    assert promoted["source"] == f"models:/{model_id}" and promoted["version"] == "1"
    version = tracking.client().get_model_version("penguins", "1")
    assert version.source == f"models:/{model_id}" and version.run_id == store.automl.run_id

    # A plain run artifact is registered by its runs:/ URI; the model gains a version.
    second = runs.promote(store.a, "outputs", "penguins")
    assert second["version"] == "2" and second["source"] == f"runs:/{store.a}/outputs"

    with pytest.raises(ValueError, match="no logged model or artifact named 'nope'"):
        runs.promote(store.automl.run_id, "nope", "penguins")
    result = _cli("promote", store.a, "nope", "--name", "penguins")
    assert result.exit_code == 2 and "'nope'" in result.output


# --- as a user runs it ---------------------------------------------------------------------------
def test_subprocess_json_on_stdout_and_errors_without_traceback(store):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "mlflow_automl.cli.history", "--tracking-uri", store.uri, *args],
            cwd=store.root,
            capture_output=True,
            text=True,
            timeout=120,
        )

    result = run("last", "--experiment", "plain")
    assert result.returncode == 0, result.stderr
    last = json.loads(result.stdout)
    assert last["run_id"] == store.c and last["properties"]["git_commit"] == COMMIT

    result = run("compare", store.a)
    assert result.returncode == 2 and "got 1" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_list_has_one_column_per_metric_primary_first(store):
    frame = runs.list_runs("h")
    metric_columns = frame.attrs["metric_columns"]
    assert metric_columns[0] == "accuracy"  # the experiment's primary metric first
    assert {"AUC_weighted", "log_loss", "best_score"} <= set(metric_columns)
    assert metric_columns[1:] == sorted(metric_columns[1:])
    trials = frame[frame.kind == "trial"]
    assert (trials["accuracy"] == trials["score"]).all()
    plain = runs.list_runs("plain")
    assert plain.attrs["metric_columns"] == ["acc"]
    assert plain.set_index("run_id").loc[store.a, "acc"] == pytest.approx(0.8)


def test_list_command_tsv_and_metric_columns_in_the_table(store):
    result = _cli("list", "-o", "tsv", "--experiment", "plain")
    assert result.exit_code == 0
    header, *rows = result.stdout.splitlines()
    columns = header.split("\t")
    assert columns[:3] == ["run_id", "run_name", "experiment"] and columns[-1] == "acc"
    by_id = {row.split("\t")[0]: dict(zip(columns, row.split("\t"))) for row in rows}
    assert set(by_id) == {store.a, store.b, store.c}
    assert float(by_id[store.b]["acc"]) == pytest.approx(0.9)
    assert by_id[store.a]["parent"] == ""  # a missing value is an empty field
    assert float(by_id[store.a]["duration"]) >= 0  # seconds, not h:mm:ss

    table = _cli("list", "-o", "table", "--experiment", "h").stdout.splitlines()
    assert "accuracy" in table[0].split() and "AUC_weighted" in table[0].split()

    result = _cli("compare", store.a, store.b, "-o", "tsv")
    assert result.exit_code == 0 and result.stdout.splitlines()[1].split("\t")[0] == "metric:acc"
