"""``mlflow run -b ray``: an MLflow project backend that runs an MLproject entry point as a Ray
job (Ray's Job Submission API).

    mlflow run examples/titanic -b ray --env-manager local \\
        --backend-config '{"address": "http://head:8265", "entrypoint_num_cpus": 1}'

``--backend-config`` (a JSON string or file): ``address`` (the dashboard's URL; default
``RAY_ADDRESS``, else ``http://127.0.0.1:8265``), ``runtime_env`` (merged with the project
folder as ``working_dir``), ``entrypoint_num_cpus``, ``entrypoint_num_gpus``,
``entrypoint_memory`` and ``entrypoint_resources``. The project's run is created here, in the
caller's tracking store; the job gets ``MLFLOW_RUN_ID`` / ``MLFLOW_TRACKING_URI`` /
``MLFLOW_EXPERIMENT_ID``, so everything it logs lands under that run. A SQLite or file store
is passed by absolute path (the job's working directory is elsewhere), so it must be on a file
system the cluster's nodes share; a tracking server is the usual choice for a real cluster.
Only ``--env-manager local`` is supported: the job runs with the cluster's Python, unless
``runtime_env`` says otherwise (``pip``, ``conda``, ``uv``).
"""

from __future__ import annotations

import logging
import os
import shlex
import time
from pathlib import Path
from typing import Any

from mlflow.entities import RunStatus
from mlflow.exceptions import MlflowException
from mlflow.projects.backend.abstract_backend import AbstractBackend
from mlflow.projects.submitted_run import SubmittedRun
from mlflow.projects.utils import (
    MLFLOW_LOCAL_BACKEND_RUN_ID_CONFIG,
    PROJECT_BUILD_IMAGE,
    PROJECT_DOCKER_ARGS,
    PROJECT_DOCKER_AUTH,
    PROJECT_ENV_MANAGER,
    PROJECT_STORAGE_DIR,
    PROJECT_SYNCHRONOUS,
    fetch_and_validate_project,
    get_or_create_run,
    load_project,
)

from mlflow_automl import tracking

logger = logging.getLogger(__name__)

_DEFAULT_ADDRESS = "http://127.0.0.1:8265"
_OPTIONS = (
    "address",
    "runtime_env",
    "entrypoint_num_cpus",
    "entrypoint_num_gpus",
    "entrypoint_memory",
    "entrypoint_resources",
)
# Keys MLflow itself adds to every backend config.
_MLFLOW_KEYS = {
    MLFLOW_LOCAL_BACKEND_RUN_ID_CONFIG,
    PROJECT_BUILD_IMAGE,
    PROJECT_DOCKER_ARGS,
    PROJECT_DOCKER_AUTH,
    PROJECT_ENV_MANAGER,
    PROJECT_STORAGE_DIR,
    PROJECT_SYNCHRONOUS,
}
_POLL_S = 1.0


def _job_client(address: str) -> Any:
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError as exc:
        raise MlflowException(
            "`mlflow run -b ray` needs Ray's job submission client: "
            "pip install 'mlflow-automl[ray]'"
        ) from exc
    return JobSubmissionClient(address)


def parse_backend_config(backend_config: dict[str, Any]) -> dict[str, Any]:
    """The Ray options of ``--backend-config``; unknown keys are an error naming them."""
    options = {k: v for k, v in backend_config.items() if k not in _MLFLOW_KEYS}
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise MlflowException.invalid_parameter_value(
            f"--backend-config for -b ray: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(_OPTIONS)}"
        )
    runtime_env = options.get("runtime_env") or {}
    if not isinstance(runtime_env, dict):
        raise MlflowException.invalid_parameter_value(
            f"--backend-config for -b ray: runtime_env must be a JSON object, not {runtime_env!r}"
        )
    options["runtime_env"] = runtime_env
    options["address"] = options.get("address") or os.environ.get("RAY_ADDRESS", _DEFAULT_ADDRESS)
    env_manager = backend_config.get(PROJECT_ENV_MANAGER)
    if env_manager not in (None, "local"):
        raise MlflowException.invalid_parameter_value(
            f"-b ray runs with --env-manager local only (got {env_manager!r}); give the job's "
            "environment as runtime_env (pip, conda or uv) in --backend-config"
        )
    return options


def absolute_tracking_uri(uri: str) -> str:
    """A SQLite or file store URI with an absolute path (the job runs in another folder)."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return f"sqlite:///{Path(uri[len('sqlite:///') :]).resolve()}"
    if uri.startswith("file:") or "://" not in uri:
        path = uri[len("file:") :] if uri.startswith("file:") else uri
        if not path.startswith("//"):
            return Path(path).resolve().as_uri()
    return uri


def _job_command(
    entry_point: str, params: dict[str, Any], run_id: str, storage_dir: str | None
) -> str:
    """The job runs ``mlflow run`` (local backend) on the project in its working directory,
    in the run created here: as MLflow's own asynchronous local runs do, so that the run ends
    FINISHED or FAILED with the entry point, whoever waits for it (``mlflow run -b`` with a
    plugin backend returns once the job is submitted)."""
    command = ["python", "-m", "mlflow", "run", ".", "-e", entry_point, "--run-id", run_id]
    command += ["--env-manager", "local"]
    if storage_dir is not None:
        command += ["--storage-dir", storage_dir]
    for key, value in params.items():
        command += ["-P", f"{key}={value}"]
    return shlex.join(command)


class RayProjectBackend(AbstractBackend):
    """The ``ray`` project backend (entry point group ``mlflow.project_backend``)."""

    def run(
        self,
        project_uri: str,
        entry_point: str,
        params: dict[str, Any],
        version: str | None,
        backend_config: dict[str, Any],
        tracking_uri: str,
        experiment_id: str,
    ) -> RaySubmittedRun:
        params = dict(params or {})
        options = parse_backend_config(backend_config)
        client = _job_client(options["address"])  # before the run exists: a bad address fails
        work_dir = fetch_and_validate_project(project_uri, version, entry_point, params)
        load_project(work_dir)  # a broken MLproject fails here, before the run exists
        active_run = get_or_create_run(
            None, project_uri, experiment_id, work_dir, version, entry_point, params
        )
        run_id = active_run.info.run_id
        command = _job_command(entry_point, params, run_id, backend_config.get(PROJECT_STORAGE_DIR))
        runtime_env = dict(options["runtime_env"])
        runtime_env.setdefault("working_dir", work_dir)
        runtime_env["env_vars"] = {
            **runtime_env.get("env_vars", {}),
            "MLFLOW_RUN_ID": run_id,
            "MLFLOW_TRACKING_URI": absolute_tracking_uri(tracking_uri),
            "MLFLOW_EXPERIMENT_ID": str(experiment_id),
        }
        resources = {
            k: options[k]
            for k in (
                "entrypoint_num_cpus",
                "entrypoint_num_gpus",
                "entrypoint_memory",
                "entrypoint_resources",
            )
            if options.get(k) is not None
        }
        try:
            job_id = client.submit_job(
                entrypoint=command,
                runtime_env=runtime_env,
                submission_id=f"mlflow-{run_id}",
                metadata={"mlflow_run_id": run_id, "mlflow_experiment_id": str(experiment_id)},
                **resources,
            )
        except Exception:
            tracking.finish_run(run_id, "FAILED")  # never leave the project's run RUNNING
            raise
        tracking.set_run_tags(
            run_id, {tracking.TAG_RAY_JOB_ID: job_id, tracking.TAG_RAY_ADDRESS: options["address"]}
        )
        logger.info("=== Ray job %s runs '%s' in run %s ===", job_id, command, run_id)
        return RaySubmittedRun(client, job_id, run_id)


class RaySubmittedRun(SubmittedRun):
    """A project run executing as a Ray job."""

    _STATUSES = {
        "PENDING": RunStatus.SCHEDULED,
        "RUNNING": RunStatus.RUNNING,
        "SUCCEEDED": RunStatus.FINISHED,
        "FAILED": RunStatus.FAILED,
        "STOPPED": RunStatus.KILLED,
    }

    def __init__(self, client: Any, job_id: str, run_id: str) -> None:
        super().__init__()
        self._client = client
        self.job_id = job_id
        self._run_id = run_id

    @property
    def run_id(self) -> str:
        return self._run_id

    def _job_status(self) -> str:
        return str(self._client.get_job_status(self.job_id).value)

    def wait(self) -> bool:
        """Blocks until the job ends; True when it succeeded (a failed job's log tail is logged)."""
        while (status := self._job_status()) not in ("SUCCEEDED", "FAILED", "STOPPED"):
            time.sleep(_POLL_S)
        if status != "SUCCEEDED":
            logs = self._client.get_job_logs(self.job_id)
            logger.error("Ray job %s %s; its log ends with:\n%s", self.job_id, status, logs[-3000:])
        return status == "SUCCEEDED"

    def get_status(self) -> str:
        return RunStatus.to_string(self._STATUSES[self._job_status()])

    def cancel(self) -> None:
        """Stops the job and waits for it to end; the project's run ends KILLED."""
        self._client.stop_job(self.job_id)
        deadline = time.time() + 60
        while self._job_status() not in ("SUCCEEDED", "FAILED", "STOPPED"):
            if time.time() > deadline:
                break
            time.sleep(_POLL_S)
        if tracking.get_run(self._run_id).info.status == "RUNNING":
            tracking.finish_run(self._run_id, "KILLED")
