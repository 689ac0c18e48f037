"""`mlflow run -b ray`: the project backend plugin, against the real loopback Ray cluster of
conftest.py (its dashboard takes the job submissions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
from mlflow.exceptions import MlflowException
from mlflow_automl_plugins.ray_backend import absolute_tracking_uri, parse_backend_config

REPO = Path(__file__).resolve().parents[2]
TITANIC = REPO / "examples" / "titanic"


@pytest.fixture
def backend_entry_point(tmp_path, monkeypatch):
    """This checkout's `ray` backend as an installed entry point would register it (setup.cfg
    declares it; the checkout under test may not be the installed one): a dist-info folder on
    the path. Returns the PYTHONPATH for subprocesses."""
    site = tmp_path / "site"
    dist = site / "mlflow_automl_ray_backend-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mlflow-automl-ray-backend\n")
    (dist / "entry_points.txt").write_text(
        "[mlflow.project_backend]\nray = mlflow_automl_plugins.ray_backend:RayProjectBackend\n"
    )
    monkeypatch.syspath_prepend(str(site))
    return os.pathsep.join([str(site), str(REPO), os.environ.get("PYTHONPATH", "")])


# --- without a cluster ----------------------------------------------------------------------------
def test_backend_config_keys_are_checked():
    with pytest.raises(MlflowException, match="unknown key\\(s\\) 'adress'"):
        parse_backend_config({"adress": "http://127.0.0.1:8265"})
    with pytest.raises(MlflowException, match="runtime_env must be a JSON object"):
        parse_backend_config({"runtime_env": "pip"})
    with pytest.raises(MlflowException, match="--env-manager local only"):
        parse_backend_config({"ENV_MANAGER": "conda"})
    options = parse_backend_config(
        {"address": "http://h:8265", "entrypoint_num_cpus": 1, "ENV_MANAGER": "local"}
    )
    assert options["address"] == "http://h:8265" and options["runtime_env"] == {}


def test_file_stores_are_passed_by_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert absolute_tracking_uri("sqlite:///mlflow.db") == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert absolute_tracking_uri("sqlite:////abs/m.db") == "sqlite:////abs/m.db"
    assert absolute_tracking_uri("mlruns") == (tmp_path / "mlruns").as_uri()
    assert absolute_tracking_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


# --- on the cluster -------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_mlflow_run_b_ray_runs_the_titanic_project_as_a_ray_job(
    ray_cluster, backend_entry_point, tmp_path
):
    env = dict(ray_cluster.env)
    env["PYTHONPATH"] = backend_entry_point
    env["MLFLOW_TRACKING_URI"] = "sqlite:///mlflow.db"  # relative: the job gets it absolute
    env.pop("MLFLOW_RUN_ID", None)
    config = {"address": ray_cluster.dashboard_url, "entrypoint_num_cpus": 1}
    command = [sys.executable, "-m", "mlflow", "run", str(TITANIC), "-b", "ray"]
    command += ["--backend-config", json.dumps(config), "--env-manager", "local"]
    command += ["--experiment-name", "titanic", "-P", "model_name=titanic-ray"]
    command += ["-P", "timeout=0.25"]
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=800
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # `mlflow run` with a plugin backend returns once the job is submitted.
    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(ray_cluster.dashboard_url)
    (job,) = [j for j in client.list_jobs() if (j.submission_id or "").startswith("mlflow-")]
    deadline = time.time() + 600
    while (status := client.get_job_status(job.submission_id).value) not in (
        "SUCCEEDED",
        "FAILED",
        "STOPPED",
    ):
        assert time.time() < deadline
        time.sleep(1)
    assert status == "SUCCEEDED", client.get_job_logs(job.submission_id)[-3000:]

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        (project_run,) = mlflow.search_runs(
            experiment_names=["titanic"],
            filter_string="tags.`mlflow.project.entryPoint` = 'main'",
            output_format="list",
        )
        assert project_run.info.status == "FINISHED"
        # (mlflow.project.backend says "local": the job's `mlflow run` ran the entry point)
        job_id = project_run.data.tags["automl.ray_job_id"]
        assert job_id == job.submission_id == f"mlflow-{project_run.info.run_id}"
        steps = mlflow.search_runs(
            experiment_names=["titanic"],
            filter_string=f"tags.mlflow.parentRunId = '{project_run.info.run_id}'",
            output_format="list",
        )
        assert {s.info.run_name for s in steps} == {"dataprep", "automl", "register"}
        assert all(s.info.status == "FINISHED" for s in steps)
        versions = mlflow.MlflowClient().search_model_versions("name = 'titanic-ray'")
        assert len(versions) == 1
    finally:
        mlflow.set_tracking_uri(None)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_an_asynchronous_ray_run_reports_its_status_and_can_be_cancelled(
    ray_cluster, backend_entry_point, tmp_path, sqlite_store
):
    project = tmp_path / "sleeper"
    project.mkdir()
    (project / "MLproject").write_text(
        "name: sleeper\nentry_points:\n  main:\n    command: python -c 'import time; "
        "time.sleep(300)'\n"
    )
    submitted = mlflow.projects.run(
        str(project),
        backend="ray",
        backend_config={"address": ray_cluster.dashboard_url},
        env_manager="local",
        synchronous=False,
    )
    deadline = time.time() + 120
    while submitted.get_status() != "RUNNING":
        assert time.time() < deadline, submitted.get_status()
        time.sleep(0.5)
    assert mlflow.get_run(submitted.run_id).info.status == "RUNNING"
    submitted.cancel()
    assert submitted.get_status() == "KILLED"
    assert mlflow.get_run(submitted.run_id).info.status == "KILLED"
    assert submitted.wait() is False
