"""Tracking outages: a real `mlflow server` stopped in the middle of a search and restarted.

The experiment must end within its budget, say once that the server is unreachable, keep every
finished child run in the local journal, and `mlflow-automl sync` must write them all back."""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path

import mlflow
import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

import mlflow_automl as automl
from mlflow_automl import tracking
from mlflow_automl.cli import main
from mlflow_automl.tracking import journal


@pytest.fixture
def restartable_server(tmp_path, monkeypatch, mlflow_servers, free_port):
    root = tmp_path / "server"
    root.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    monkeypatch.setenv(journal.JOURNAL_DIR_ENV, str(tmp_path / "journal"))
    mlflow.set_tracking_uri(url)
    state = {"process": mlflow_servers.start(root, port), "servers": mlflow_servers}
    yield url, root, port, state
    mlflow.set_tracking_uri(None)
    if state["process"].poll() is None:
        mlflow_servers.stop(state["process"])


def _finished_children(url: str) -> int:
    client = MlflowClient(url)
    experiment = client.get_experiment_by_name("outage")
    if experiment is None:
        return 0
    runs = client.search_runs(
        [experiment.experiment_id], f"tags.`{tracking.TAG_KIND}` = 'trial'", max_results=200
    )
    return sum(r.info.status == "FINISHED" for r in runs)


@pytest.mark.timeout(900)
def test_children_written_during_an_outage_are_journaled_and_synced(
    restartable_server, breast_cancer, capsys, caplog
):
    url, root, port, state = restartable_server
    budget_s = 60  # room for two trials before the outage on a busy machine
    config = automl.AutoMLConfig(
        task="classification",
        training_data=breast_cancer,
        label_column_name="target",
        experiment_timeout_minutes=budget_s / 60,
        enable_early_stopping=False,
        blocked_models=["KNN", "SVM", "LinearSVM"],
        # Ensembles' own time bounds are another piece of work (issue 15 item 1); here the
        # time after the search is the outage's alone.
        enable_voting_ensemble=False,
        enable_stack_ensemble=False,
    )

    def stop_the_server_mid_search() -> None:
        deadline = time.time() + 120
        while _finished_children(url) < 2 and time.time() < deadline:
            time.sleep(0.3)
        state["servers"].stop(state["process"])

    killer = threading.Thread(target=stop_the_server_mid_search, daemon=True)
    killer.start()
    caplog.set_level(logging.WARNING, logger="mlflow_automl")
    started = time.time()
    with pytest.raises(RuntimeError, match="unreachable") as error:
        automl.submit(config, experiment_name="outage", show_output=True)
    elapsed = time.time() - started
    killer.join()
    console = capsys.readouterr().out
    assert elapsed <= budget_s * 1.05 + 5, (elapsed, console)
    assert "mlflow-automl sync" in str(error.value)
    said = [r for r in caplog.records if "is unreachable (" in r.getMessage()]
    assert len(said) == 1  # once, not once per write

    # Every iteration the console showed is a child run once the server is back.
    iterations = {int(m) for m in re.findall(r"^\s{1,5}(\d+)\s{3}\S", console, re.MULTILINE)}
    assert len(iterations) >= 3
    files = list((Path(journal.journal_dir())).glob("*.jsonl"))
    assert len(files) == 1

    state["process"] = state["servers"].start(root, port)
    result = CliRunner().invoke(main, ["sync", "--tracking-uri", url])
    assert result.exit_code == 0, result.output
    assert not files[0].exists()  # all written
    client = MlflowClient(url)
    experiment = client.get_experiment_by_name("outage")
    runs = client.search_runs([experiment.experiment_id], max_results=500)
    children = [r for r in runs if r.data.tags.get(tracking.TAG_KIND) == "trial"]
    logged = [int(r.data.tags[tracking.TAG_ITERATION]) for r in children]
    assert sorted(logged) == sorted(set(logged))  # none twice
    assert iterations <= set(logged)  # lost: 0
    print(
        f"FIGURE outage: {elapsed:.1f} s for a {budget_s} s budget; {len(iterations)} "
        f"iterations shown, {len(set(logged))} child runs after sync, "
        f"lost {len(iterations - set(logged))}"
    )
    assert [r.info.run_id for r in runs if r.info.status == "RUNNING"] == []
    parent = next(r for r in runs if r.data.tags.get(tracking.TAG_KIND) == "experiment")
    assert parent.info.status == "FAILED" and parent.info.end_time is not None


def test_sync_with_the_server_still_down_keeps_the_journal(tmp_path, monkeypatch, free_port):
    monkeypatch.setenv(journal.JOURNAL_DIR_ENV, str(tmp_path / "journal"))
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    record = journal.Journal(url, "1", "abc", "AutoML_x")
    record.append("log_metrics", ({"best_score": 0.9},), {"step": 0})
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    mlflow.set_tracking_uri(url)
    try:
        with pytest.raises(RuntimeError, match="could not be written"):
            tracking.sync_journal()
    finally:
        mlflow.set_tracking_uri(None)
    assert record.path.exists()
    assert journal.pending(url) == [record.path]


def test_an_unreachable_server_is_probed_once_without_retries(free_port):
    url = f"http://127.0.0.1:{free_port()}"
    started = time.time()
    assert not journal.reachable(url)
    assert time.time() - started < 2
    assert journal.reachable("sqlite:///whatever.db")  # a local store has no server to lose


def test_a_replay_completes_a_half_written_child_run_and_ends_the_parent(
    sqlite_store, tmp_path, monkeypatch
):
    monkeypatch.setenv(journal.JOURNAL_DIR_ENV, str(tmp_path / "journal"))
    tracker = tracking.ExperimentTracker.start("journal", settings={}, tags={})
    client = MlflowClient()
    # The process died between creating the child run and completing it.
    client.create_run(
        tracker.experiment_id,
        tags={
            "mlflow.parentRunId": tracker.run_id,
            tracking.TAG_KIND: "trial",
            tracking.TAG_ITERATION: "0",
        },
    )
    now = time.time()
    trial = {"params": {"learner": "LightGBM"}, "metrics": {"accuracy": 0.9}, "succeeded": True}
    trial |= {"started_at": now - 1, "ended_at": now}
    for iteration in (0, 1):
        tags = {tracking.TAG_ITERATION: iteration}
        tracker.journal.append("log_trial", (), {"iteration": iteration, "tags": tags, **trial})
    tracker.journal.append("end_run", ("KILLED", int(now * 1000), {}, {}), {})

    result = tracking.sync_journal()
    assert (result.written, result.left) == (3, 0)
    assert not tracker.journal.path.exists()
    children = tracking.search_children(tracker.experiment_id, tracker.run_id)
    assert [c.data.tags[tracking.TAG_ITERATION] for c in children] == ["0", "1"]  # none twice
    assert {c.info.status for c in children} == {"FINISHED"}
    assert {c.data.metrics["accuracy"] for c in children} == {0.9}
    assert client.get_run(tracker.run_id).info.status == "KILLED"
