"""MLflow's store behind plain functions: client, tracking URI, the experiment to log into,
run creation (one function), tags, metrics, artifacts, the registry, model logging and loading,
and the queries that read experiments back.

Every writing call that an experiment waits for is timed (``@_timed``): the AutoML run records
the wall seconds it spent in MLflow as the ``tracking_seconds`` metric (and
``tracking_fraction`` of the run's duration, per call in the ``automl.tracking_seconds_by_call``
tag), so the cost of tracking is measured on every experiment, not estimated.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from mlflow_automl.tracking.tags import (
    EXPERIMENT_KIND_TAG,
    MLFLOW_PARENT_RUN_ID,
    MLFLOW_RUN_NAME,
    TAG_ITERATION,
    TAG_KIND,
    TAG_LEARNER,
    TAG_METRIC,
    TAG_MODEL_URI,
    TAG_ONNX_URI,
    TAG_PREFIX,
    TAG_REGISTERED,
    TAG_RUN_ID,
    TAG_VERSION,
)

MODEL_NAME = "model"
ONNX_MODEL_NAME = "onnx_model"
LEADERBOARD_FILE = "leaderboard.json"
FEATURIZATION_FILE = "featurization_summary.json"
GUARDRAILS_FILE = "guardrails.json"
CHARTS_DIR = "charts"

# MLflow's HTTP client retries a call for ~4 minutes by default (7 retries, backoff factor 2);
# during an experiment a call to a dead server gives up after ~2 s (unless the user set these),
# and what the background writer could not write goes to the journal.
_BOUNDED_HTTP_RETRIES = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
}
_MAX_PARAMS_PER_BATCH = 100
_MAX_METRICS_PER_BATCH = 1000  # MLflow's log_batch limit
_MAX_PARAM_LENGTH = 6000
_MAX_TAG_LENGTH = 5000

# --- timing of MLflow calls ----------------------------------------------------------------------
_clock = threading.local()


def seconds_in_mlflow() -> dict[str, float]:
    """Wall seconds this thread has spent so far in this package's timed MLflow calls, by call."""
    if not hasattr(_clock, "calls"):
        _clock.calls = {}
    return _clock.calls


def _timed(function: Callable) -> Callable:
    """Adds the wall time of ``function`` to this thread's clock; nested timed calls count once."""

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        depth = getattr(_clock, "depth", 0)
        _clock.depth = depth + 1
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _clock.depth = depth
            if depth == 0:
                calls = seconds_in_mlflow()
                elapsed = time.perf_counter() - started
                calls[function.__name__] = calls.get(function.__name__, 0.0) + elapsed

    return timed


def client() -> MlflowClient:
    return MlflowClient()


def tracking_uri() -> str:
    return mlflow.get_tracking_uri()


_CALLERS_ACTIVE_RUN = object()  # look the active run up in this thread


def resolve_experiment(
    experiment_name: str | None,
    parent_run_id: str | None = None,
    active: Any = _CALLERS_ACTIVE_RUN,
) -> tuple[str, str | None]:
    """The experiment to log into, and the run to nest under.

    That run is ``parent_run_id`` when given (its experiment wins), else the active run (if the
    user has one in that experiment). MLflow's active run is per thread: code running for the
    caller on another thread passes the caller's as ``active``.
    """
    if parent_run_id is not None:
        return get_run(parent_run_id).info.experiment_id, parent_run_id
    if active is _CALLERS_ACTIVE_RUN:
        active = mlflow.active_run()
    if experiment_name is None:
        if active is not None:
            return active.info.experiment_id, active.info.run_id
        experiment_name = "automl"
    experiment = mlflow.get_experiment_by_name(experiment_name)
    if experiment is None:
        # The kind makes the MLflow UI open the experiment on its training-runs view.
        try:
            experiment_id = client().create_experiment(
                experiment_name, tags={EXPERIMENT_KIND_TAG: "custom_model_development"}
            )
        except mlflow.exceptions.MlflowException:
            # Another process created it since we looked (two experiments starting together).
            experiment = mlflow.get_experiment_by_name(experiment_name)
            if experiment is None:
                raise
            experiment_id = experiment.experiment_id
    elif experiment.lifecycle_stage == "deleted":
        raise ValueError(
            f"experiment {experiment_name!r} is deleted; restore it or choose another name."
        )
    else:
        experiment_id = experiment.experiment_id
    nest_under = (
        active.info.run_id
        if active is not None and active.info.experiment_id == experiment_id
        else None
    )
    return experiment_id, nest_under


# --- runs ----------------------------------------------------------------------------------------
def create_run(
    experiment_id: str,
    name: str | None,
    tags: dict[str, Any],
    parent_id: str | None = None,
    start_time: float | None = None,
    context_tags: bool = False,
) -> str:
    """Creates a RUNNING run; returns its id. The one place this package creates runs.

    ``None`` tag values are dropped; ``parent_id`` nests it (``mlflow.parentRunId``);
    ``start_time`` in seconds (default: now). ``context_tags`` adds what MLflow's fluent API
    records for a run a person starts (user, source, git commit), for the MLflow UI; AutoML's
    own runs skip it (it looks up git on every call).
    """
    all_tags = {k: _tag_value(v) for k, v in tags.items() if v is not None}
    if name:
        all_tags[MLFLOW_RUN_NAME] = name
    if parent_id:
        all_tags[MLFLOW_PARENT_RUN_ID] = parent_id
    if context_tags:
        from mlflow.tracking.context.registry import resolve_tags

        all_tags = resolve_tags(all_tags)
    started_ms = None if start_time is None else int(start_time * 1000)
    run = client().create_run(experiment_id, start_time=started_ms, tags=all_tags, run_name=name)
    return run.info.run_id


def current_run() -> Any | None:
    """The active run, or the run that launched this process (``mlflow run`` sets
    ``MLFLOW_RUN_ID``); None outside any run."""
    active = mlflow.active_run()
    if active is not None:
        return active
    run_id = os.environ.get("MLFLOW_RUN_ID")
    return client().get_run(run_id) if run_id else None


@contextmanager
def process_run() -> Iterator[str]:
    """The run of this process as an MLproject entry point (yields its id): the run ``mlflow
    run`` started for it (``MLFLOW_RUN_ID``), else a new run in the current experiment; it ends
    with the block (FAILED if it raises). MLflow's fluent ``start_run`` is what implements that
    contract with ``mlflow run``."""
    with mlflow.start_run() as run:
        yield run.info.run_id


def finish_run(run_id: str, status: str = "FINISHED", end_time: int | None = None) -> None:
    """Ends ``run_id`` with ``status`` (``end_time`` in milliseconds, default now)."""
    client().set_terminated(run_id, status=status, end_time=end_time)


def set_tracking_uri(uri: str) -> None:
    mlflow.set_tracking_uri(uri)


def rename_run(run_id: str, name: str) -> None:
    client().update_run(run_id, name=name)


@_timed
def set_run_tags(run_id: str, tags: dict[str, Any]) -> None:
    """All of ``tags`` on ``run_id`` in one batch (``None`` values dropped)."""
    items = [RunTag(k, _tag_value(v)) for k, v in tags.items() if v is not None]
    client().log_batch(run_id, tags=items)


@_timed
def log_params(run_id: str, params: dict[str, Any]) -> None:
    """``params`` on ``run_id`` (``None`` values dropped), in batches of MLflow's limit."""
    items = [Param(k, _param_value(v)) for k, v in params.items() if v is not None]
    for start in range(0, len(items), _MAX_PARAMS_PER_BATCH):
        client().log_batch(run_id, params=items[start : start + _MAX_PARAMS_PER_BATCH])


@_timed
def log_metrics(run_id: str, metrics: dict[str, float], step: int = 0) -> None:
    """All of ``metrics`` on ``run_id`` in one batch."""
    now = _now_ms()
    items = [Metric(k, float(v), now, step) for k, v in metrics.items()]
    client().log_batch(run_id, metrics=items)


def log_metric_steps(run_id: str, name: str, values: list[float], steps: list[int]) -> None:
    """``values`` of metric ``name`` at ``steps``, in batches of MLflow's limit."""
    now = _now_ms()
    metrics = [Metric(name, float(v), now, s) for v, s in zip(values, steps)]
    for start in range(0, len(metrics), _MAX_METRICS_PER_BATCH):
        client().log_batch(run_id, metrics=metrics[start : start + _MAX_METRICS_PER_BATCH])


def next_metric_step(run_id: str, name: str) -> int:
    """The step after the last one stored for metric ``name`` (0 for a new name)."""
    history = client().get_metric_history(run_id, name)
    return max((m.step for m in history), default=-1) + 1


def metric_values(run_id: str) -> dict[str, list[float]]:
    """Every metric of the run: name -> values in step order."""
    result = {}
    for key in get_run(run_id).data.metrics:
        history = client().get_metric_history(run_id, key)
        result[key] = [m.value for m in sorted(history, key=lambda m: (m.step, m.timestamp))]
    return result


@_timed
def log_charts(run_id: str, charts: Iterable[Any], directory: str = CHARTS_DIR) -> dict[str, str]:
    """Each chart as ``<directory>/<name>.png`` and ``<name>.json`` in one upload.

    Returns ``{artifact path: artifact URI}`` of what was written.
    """
    paths = []
    with tempfile.TemporaryDirectory() as tmp:
        for chart in charts:
            (Path(tmp) / f"{chart.name}.png").write_bytes(chart.png)
            (Path(tmp) / f"{chart.name}.json").write_text(json.dumps(chart.data))
            paths += [f"{directory}/{chart.name}.png", f"{directory}/{chart.name}.json"]
        client().log_artifacts(run_id, tmp, directory)
    root = client().get_run(run_id).info.artifact_uri
    return {path: f"{root}/{path}" for path in paths}


# --- artifacts -----------------------------------------------------------------------------------
def upload_dir(run_id: str, local_dir: str | Path, artifact_path: str | None) -> str:
    """Uploads a folder (``artifact_path`` None: the artifact root); returns its ``runs:/``
    URI."""
    client().log_artifacts(run_id, str(local_dir), artifact_path)
    return f"runs:/{run_id}/{artifact_path or ''}".rstrip("/")


def upload_file(run_id: str, local_file: str | Path, artifact_dir: str | None) -> None:
    """Uploads one file into ``artifact_dir`` (None or "" or ".": the artifact root)."""
    directory = None if artifact_dir in (None, "", ".") else artifact_dir
    client().log_artifact(run_id, str(local_file), directory)


def log_json(run_id: str, value: Any, artifact_file: str) -> None:
    client().log_dict(run_id, value, artifact_file)


def log_figure(run_id: str, figure: Any, artifact_file: str) -> None:
    client().log_figure(run_id, figure, artifact_file)


def append_table(run_id: str, table: dict[str, list[Any]] | pd.DataFrame, artifact_file: str):
    """MLflow's ``log_table``: rows are appended when the artifact exists (verified on 3.17)."""
    client().log_table(run_id, data=table, artifact_file=artifact_file)


def log_text(run_id: str, text: str, artifact_file: str) -> None:
    client().log_text(run_id, text, artifact_file)


def list_artifacts(run_id: str, path: str | None = None) -> list[Any]:
    """The entries (``path``, ``is_dir``) directly under ``path`` of the run's artifacts."""
    return client().list_artifacts(run_id, path)


def read_json_artifact(run_id: str, artifact_path: str) -> Any:
    with (
        tempfile.TemporaryDirectory() as tmp,
        _env("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false"),
    ):
        return json.loads(Path(client().download_artifacts(run_id, artifact_path, tmp)).read_text())


def download(artifact_uri: str, destination: str | Path) -> str:
    """Downloads a ``runs:/`` (or any artifact) URI into ``destination``; returns the local path."""
    quiet = _env("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    with quiet:
        return mlflow.artifacts.download_artifacts(artifact_uri, dst_path=str(destination))


def find_finished_run(experiment_id: str, tags: dict[str, str]) -> Any | None:
    """The newest finished run of the experiment carrying all of ``tags``, if any."""
    conditions = [f"tags.`{k}` = '{v}'" for k, v in tags.items()]
    conditions.append("attributes.status = 'FINISHED'")
    runs = client().search_runs(
        [experiment_id],
        filter_string=" and ".join(conditions),
        max_results=1,
        order_by=["attributes.start_time DESC"],
    )
    return runs[0] if runs else None


@_timed
def register_model(
    model_uri: str,
    name: str,
    alias: str | None = None,
    tags: dict[str, Any] | None = None,
) -> str:
    """Registers ``model_uri`` as a new version of ``name``; returns the version number.

    ``alias`` is moved to the new version (older versions stay); ``tags`` go on the version.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        version = mlflow.register_model(model_uri, name).version
    for key, value in (tags or {}).items():
        client().set_model_version_tag(name, version, key, _tag_value(value))
    if alias:
        client().set_registered_model_alias(name, alias, version)
    return version


def register_best_model(
    run_id: str, model_name: str, alias: str | None = None, tags: dict[str, Any] | None = None
) -> str:
    """Registers the best model of AutoML run ``run_id`` as a new version of ``model_name``
    (its ONNX twin, if any, as ``<model_name>-onnx``); returns the version.

    The version is tagged with the primary metric's value, the run id, the learner and the
    package version (the run's own tag keys), plus ``tags``; the run is tagged with it.
    """
    from mlflow_automl._version import __version__

    run = get_run(run_id)
    uri = run.data.tags.get(TAG_MODEL_URI)
    if uri is None:
        raise RuntimeError(f"AutoML run {run_id} has no logged best model to register.")
    metric = run.data.tags[TAG_METRIC]
    version_tags = {
        TAG_RUN_ID: run_id,
        TAG_METRIC: metric,
        TAG_PREFIX + metric: run.data.metrics.get(metric),
        TAG_LEARNER: run.data.tags.get(TAG_LEARNER),
        TAG_VERSION: __version__,
        **(tags or {}),
    }
    version = register_model(uri, model_name, alias, version_tags)
    set_run_tags(run_id, {TAG_REGISTERED: f"{model_name}/{version}"})
    onnx_uri = run.data.tags.get(TAG_ONNX_URI)
    if onnx_uri:  # the ONNX twin is its own registered model, with the same alias
        register_model(onnx_uri, f"{model_name}-onnx", alias, version_tags)
    return version


@_timed
def log_onnx_model(run_id: str, onnx_model: Any, signature: Any) -> str:
    """Logs an ONNX graph with MLflow's onnx flavor; returns its ``models:/`` URI."""
    import mlflow.onnx

    info = mlflow.onnx.log_model(
        onnx_model,
        name=ONNX_MODEL_NAME,
        signature=signature,
        pip_requirements=_requirements("mlflow", "onnx", "onnxruntime", "numpy", "pandas"),
        run_id=run_id,
        model_id=_new_logged_model(run_id, ONNX_MODEL_NAME),
    )
    return info.model_uri


def load_onnx_model(model_uri: str) -> Any:
    import mlflow.onnx

    return mlflow.onnx.load_model(model_uri)


def _any_type_schema(columns: Iterable[Any]) -> Any:
    from mlflow.types.schema import AnyType, ColSpec, Schema

    return Schema([ColSpec(AnyType(), str(column)) for column in columns])


def _new_logged_model(run_id: str, name: str) -> str:
    """A LoggedModel in the run's own experiment; returns its id.

    ``log_model(run_id=...)`` alone files the model under the *active* experiment (Default,
    "0", unless the caller used ``set_experiment``), not the run's, so the experiment's
    artifact location, its Logged models view and per-experiment permissions were bypassed.
    ``log_model(model_id=...)`` then saves into this model and marks it READY (or FAILED).
    """
    run = client().get_run(run_id)
    # What MLflow's own log_model records: the run's params on the model.
    params = {key: str(value) for key, value in run.data.params.items()}
    model = client().create_logged_model(
        experiment_id=run.info.experiment_id,
        name=name,
        source_run_id=run_id,
        params=params,
    )
    return model.model_id


@contextmanager
def bounded_http_retries() -> Iterator[None]:
    """MLflow's HTTP retries bounded to a few seconds per call (see ``_BOUNDED_HTTP_RETRIES``),
    unless the user set them; process-wide while the block runs."""
    previous = {name: os.environ.get(name) for name in _BOUNDED_HTTP_RETRIES}
    for name, value in _BOUNDED_HTTP_RETRIES.items():
        os.environ.setdefault(name, value)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)


# --- reading back -------------------------------------------------------------------------------
def get_run(run_id: str) -> Any:
    return client().get_run(run_id)


def reopen_status(run_id: str, status: str) -> None:
    """Ends ``run_id`` again with ``status`` (a failed continuation before any new trial)."""
    client().set_terminated(run_id, status=status)


def search_runs_by_parent(experiment_id: str, parent_run_id: str) -> list[Any]:
    """Every run of the experiment whose ``mlflow.parentRunId`` is ``parent_run_id``."""
    runs = []
    page_token = None
    while True:
        page = client().search_runs(
            [experiment_id],
            filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent_run_id}'",
            max_results=1000,
            page_token=page_token,
        )
        runs.extend(page)
        page_token = page.token
        if not page_token:
            return runs


def search_children(experiment_id: str, parent_run_id: str) -> list[Any]:
    """The trial runs of an AutoML run, in iteration order."""
    runs = search_runs_by_parent(experiment_id, parent_run_id)
    runs = [r for r in runs if r.data.tags.get(TAG_KIND) == "trial"]
    return sorted(runs, key=lambda r: int(r.data.tags.get(TAG_ITERATION, 0)))


def metric_history(run_id: str, key: str) -> list[float]:
    history = client().get_metric_history(run_id, key)
    return [m.value for m in sorted(history, key=lambda m: m.step)]


def load_table(run_id: str, artifact_file: str) -> pd.DataFrame:
    from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR

    quiet = _env(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.name, "false")
    with tempfile.TemporaryDirectory() as tmp, quiet:
        path = client().download_artifacts(run_id, artifact_file, tmp)
        payload = json.loads(Path(path).read_text())
    return pd.DataFrame(payload["data"], columns=payload["columns"])


def load_model(model_uri: str) -> Any:
    return mlflow.sklearn.load_model(model_uri)


# --- helpers ------------------------------------------------------------------------------------
@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


# What a logged model imports when it predicts, besides scikit-learn.
# The optional learners' packages (catboost, prophet) are listed when installed: a model that
# uses one must find it where it is served.
_LEARNER_PACKAGES = (
    "lightgbm",
    "xgboost",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "holidays",
    "catboost",
    "prophet",
)


def _requirements(*packages: str) -> list[str]:
    """``package==installed version`` for each installed package (others are skipped)."""
    from importlib.metadata import PackageNotFoundError, version

    requirements = []
    for package in packages:
        with suppress(PackageNotFoundError):
            requirements.append(f"{package}=={version(package)}")
    return requirements


def _param_value(value: Any) -> str:
    if isinstance(value, float | np.floating):
        text = repr(float(value))
    elif isinstance(value, dict | list | tuple):
        text = json.dumps(value, default=str)
    else:
        text = str(value)
    return text[:_MAX_PARAM_LENGTH]


def _plain(value: Any) -> Any:
    """JSON for numpy scalars (hyperparameters drawn by a sampler)."""
    return value.item() if hasattr(value, "item") else str(value)


def _tag_value(value: Any) -> str:
    return str(value)[:_MAX_TAG_LENGTH]


def _rounded(seconds: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])}


def _now_ms() -> int:
    return int(time.time() * 1000)


def iso_utc(millis: int | None) -> str | None:
    """MLflow's epoch milliseconds as ISO 8601 UTC, ``2024-05-01T10:00:00.123Z``; None for a
    time not set (None, or 0 as some stores give a running run's end)."""
    if not millis:
        return None
    moment = dt.datetime.fromtimestamp(millis / 1000, tz=dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
