"""SIGINT and SIGTERM stop an experiment cleanly, in a real subprocess on a real SQLite store:
the workers die with their process groups, the best model so far is logged, the run ends
KILLED with its stop reason, and no run stays RUNNING."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from mlflow_automl import tracking
from mlflow_automl.azureml.automl_run import AutoMLRun
from mlflow_automl.stops import STOP_GRACE_SECONDS, StopSignals

REPO = Path(__file__).resolve().parents[1]
# Seconds from the signal to the process's exit: the wrap-up's grace, plus room for a busy
# machine (refit and model logging are short on penguins).
EXIT_WITHIN_S = STOP_GRACE_SECONDS + 15
_signal_sent_at = 0.0


@pytest.fixture(autouse=True)
def _sigint_as_in_a_terminal():
    """A shell starts its background jobs with SIGINT ignored, and an ignored signal stays
    ignored (test_an_ignored_signal_stays_ignored); these tests send SIGINT as a terminal's
    Ctrl-C does, so they restore Python's handler (experiments they start inherit the default)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


_SCRIPT = """
import sys
import mlflow
import mlflow_automl as automl
from palmerpenguins import load_penguins

mlflow.set_tracking_uri(sys.argv[1])
config = automl.AutoMLConfig(
    task="classification", training_data=load_penguins(), label_column_name="species",
    experiment_timeout_minutes=5, n_cross_validations=3,
    blocked_models=["KNN", "SVM", "LinearSVM"],
)
automl.submit(config, experiment_name="stops")
print("submit returned", flush=True)
"""


def _proc_stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, process group) of a live, non-zombie process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return int(fields[1]), int(fields[2])


def _workers_of(pid: int) -> list[int]:
    workers = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(int(entry.name))
        if stat is None or stat[0] != pid:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"mlflow_automl.executors._worker" in cmdline:
            workers.append(int(entry.name))
    return workers


def _alive_in_groups(groups: set[int]) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None and stat[1] in groups:
                alive.append(int(entry.name))
    return alive


def _finished_children(uri: str) -> int:
    """Finished child runs so far, read without MLflow: an MlflowClient on a SQLite file the
    experiment is still creating would race it to create the tables."""
    path = uri.removeprefix("sqlite:///")
    if not Path(path).exists():
        return 0
    query = (
        "SELECT count(*) FROM runs JOIN tags ON tags.run_uuid = runs.run_uuid "
        f"WHERE tags.key = '{tracking.TAG_KIND}' AND tags.value = 'trial' "
        "AND runs.status = 'FINISHED'"
    )
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return db.execute(query).fetchone()[0]
    except sqlite3.OperationalError:  # tables not there yet, or locked for a moment
        return 0


def _start(command: list[str], tmp_path: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop_mid_search(process: subprocess.Popen, uri: str, signum: int) -> tuple[float, set[int]]:
    """Waits for two finished child runs, sends ``signum``; returns (seconds to exit, the
    worker process groups seen before the signal)."""
    global _signal_sent_at
    deadline = time.time() + 240
    while _finished_children(uri) < 2:
        if process.poll() is not None:
            pytest.fail(f"the experiment ended before the signal:\n{process.stderr.read()}")
        assert time.time() < deadline, "no child run finished in 240 s"
        time.sleep(0.5)
    groups = set(_workers_of(process.pid))
    assert groups, "no trial worker found"
    sent = _signal_sent_at = time.time()
    process.send_signal(signum)
    try:
        process.wait(timeout=EXIT_WITHIN_S + 30)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the experiment did not exit after the signal")
    return time.time() - sent, groups


def _assert_clean_stop(
    uri: str, signal_name: str, seconds: float, groups: set[int], via: str = "submit"
) -> None:
    assert seconds < EXIT_WITHIN_S, f"exit took {seconds:.1f} s"
    time.sleep(0.5)  # the kernel's SIGKILL of a parent-death worker is asynchronous
    assert _alive_in_groups(groups) == [], "a trial worker (or a process it started) lived on"
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("stops")
    runs = client.search_runs([experiment.experiment_id], max_results=200)
    assert [r.info.run_id for r in runs if r.info.status == "RUNNING"] == []
    parent = next(r for r in runs if r.data.tags.get(tracking.TAG_KIND) == "experiment")
    assert parent.info.status == "KILLED"
    assert parent.info.end_time is not None
    # The figures of issue 15 (pytest -s shows them; benchmarks/hard_limits.py collects them).
    print(
        f"FIGURE stop ({via}) {signal_name}: exit {seconds:.1f} s, KILLED "
        f"{parent.info.end_time / 1000 - _signal_sent_at:.1f} s after the signal"
    )
    assert parent.data.tags[tracking.TAG_STOP_REASON] == f"stopped by {signal_name}"
    children = [r for r in runs if r.data.tags.get(tracking.TAG_KIND) == "trial"]
    assert sum(r.info.status == "FINISHED" for r in children) >= 2  # finished trials kept
    mlflow.set_tracking_uri(uri)
    try:
        best_child, model = AutoMLRun(parent.info.run_id).get_output()
    finally:
        mlflow.set_tracking_uri(None)
    from palmerpenguins import load_penguins

    frame = load_penguins().drop(columns=["species"]).head(5)
    assert set(model.predict(frame)) <= {"Adelie", "Gentoo", "Chinstrap"}
    assert best_child.info.status == "FINISHED"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_submit_stops_cleanly_on_a_signal(tmp_path, signum):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    script = tmp_path / "experiment.py"
    script.write_text(textwrap.dedent(_SCRIPT))
    process = _start([sys.executable, str(script), uri], tmp_path)
    seconds, groups = _stop_mid_search(process, uri, signum)
    stderr = process.stderr.read()
    assert "BrokenPipeError" not in stderr
    assert "submit returned" not in process.stdout.read()  # the signal still stops the script
    if signum == signal.SIGTERM:
        assert process.returncode == -signal.SIGTERM  # ends by the signal, as without us
    else:
        assert "KeyboardInterrupt: AutoML run" in stderr  # names the run and its model
    _assert_clean_stop(uri, signal.Signals(signum).name, seconds, groups)


@pytest.mark.timeout(600)
def test_cli_train_stops_cleanly_on_sigterm(tmp_path, penguins):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    penguins.to_csv(tmp_path / "penguins.csv", index=False)
    command = [sys.executable, "-m", "mlflow_automl.cli", "train", "--task", "classification"]
    command += ["--data", "penguins.csv", "--label", "species", "--timeout", "5"]
    command += ["--n-cross-validations", "3", "--blocked-models", "KNN,SVM,LinearSVM"]
    command += ["--experiment-name", "stops", "--tracking-uri", uri, "--quiet"]
    process = _start(command, tmp_path)
    seconds, groups = _stop_mid_search(process, uri, signal.SIGTERM)
    assert "BrokenPipeError" not in process.stderr.read()
    assert process.returncode == -signal.SIGTERM
    _assert_clean_stop(uri, "SIGTERM", seconds, groups, via="mlflow-automl train")


def test_previous_handlers_are_restored():
    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        with StopSignals() as stop:
            assert signal.getsignal(signal.SIGTERM) is not mine
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
            assert stop.wakeup_fd is not None
        assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_an_ignored_signal_stays_ignored():
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with StopSignals():
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_first_signal_wakes_the_executor_and_a_second_stops_at_once():
    with StopSignals() as stop:
        signal.raise_signal(signal.SIGTERM)
        assert stop.reason == "stopped by SIGTERM"
        assert os.read(stop.wakeup_fd, 1) == b"\0"
        with stop.shielded():
            signal.raise_signal(signal.SIGINT)  # ending the run is not interrupted
        with pytest.raises(KeyboardInterrupt, match="second signal"):
            signal.raise_signal(signal.SIGINT)
