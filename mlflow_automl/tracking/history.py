"""Run history: list, inspect, compare, download and promote runs of the current tracking store.

The MLflow counterpart of Azure ML's ``az ml history`` commands. Every function reads the store
through :func:`mlflow_automl.tracking.client` and returns plain dicts or DataFrames (the CLI in
:mod:`mlflow_automl.cli.history` does the printing). Unknown run ids and experiment names raise
:class:`ValueError` naming them.

MLflow runs have no creation time apart from their start time, so ``created_time`` is the start
time. In MLflow 3 a model logged from a run is a *LoggedModel* stored outside the run's
artifacts; :func:`run_info` lists those separately under ``logged_models``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.entities import Run
from mlflow.exceptions import MlflowException

from mlflow_automl import tracking
from mlflow_automl.tracking.store import iso_utc as _iso
from mlflow_automl.tracking.tags import (
    MLFLOW_GIT_BRANCH,
    MLFLOW_GIT_COMMIT,
    MLFLOW_GIT_REPO_URL,
    MLFLOW_PARENT_RUN_ID,
    MLFLOW_PROJECT_ENTRY_POINT,
    MLFLOW_SOURCE_NAME,
    MLFLOW_SOURCE_TYPE,
    MLFLOW_TAG_PREFIX,
    MLFLOW_USER,
)

_ORDER_NEWEST_FIRST = ["attributes.start_time DESC"]
_KINDS = {"experiment": "automl experiment", "trial": "trial"}
# Azure's run "properties": the provenance MLflow records as system tags.
_PROPERTY_TAGS = {
    "git_commit": MLFLOW_GIT_COMMIT,
    "git_branch": MLFLOW_GIT_BRANCH,
    "git_repo_url": MLFLOW_GIT_REPO_URL,
    "source_name": MLFLOW_SOURCE_NAME,
    "source_type": MLFLOW_SOURCE_TYPE,
    "entry_point": MLFLOW_PROJECT_ENTRY_POINT,
}
_SYSTEM_TAG_PREFIX = MLFLOW_TAG_PREFIX
_MIN_COMPARE, _MAX_COMPARE = 2, 3
_SHORT_ID = 8
_LIST_COLUMNS = [
    "run_id",
    "run_name",
    "experiment",
    "kind",
    "status",
    "start_time",
    "duration_s",
    "parent_run_id",
    "primary_metric",
    "score",
]


# --- queries -------------------------------------------------------------------------------------
def list_runs(experiment_name: str | None = None, max_results: int = 50) -> pd.DataFrame:
    """Runs newest first, of one experiment or of all active ones.

    Columns: run_id, run_name, experiment, kind, status, start_time (ISO, UTC), duration_s,
    parent_run_id, primary_metric and score (the AutoML primary metric's value, when tagged),
    then one column per metric the runs logged, primary metrics first (their names are in
    ``frame.attrs["metric_columns"]``).
    """
    if max_results < 1:
        raise ValueError(f"max_results must be at least 1, got {max_results}")
    names = _experiment_names(experiment_name)
    runs = tracking.client().search_runs(
        list(names), max_results=max_results, order_by=_ORDER_NEWEST_FIRST
    )
    metric_names = _primary_metric_names(runs)
    rows = []
    for run in runs:
        metric = metric_names.get(run.info.run_id)
        rows.append(
            {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "experiment": names[run.info.experiment_id],
                "kind": _kind(run),
                "status": run.info.status,
                "start_time": _iso(run.info.start_time),
                "duration_s": _duration_s(run),
                "parent_run_id": run.data.tags.get(MLFLOW_PARENT_RUN_ID),
                "primary_metric": metric,
                "score": _score(run, metric),
            }
        )
    metrics = _metric_columns(runs, metric_names)
    for row, run in zip(rows, runs):
        row.update({column: run.data.metrics.get(name) for name, column in metrics.items()})
    frame = pd.DataFrame(rows, columns=_LIST_COLUMNS + list(metrics.values()))
    frame.attrs["metric_columns"] = list(metrics.values())
    return frame


def _metric_columns(runs: list[Run], primary: dict[str, str]) -> dict[str, str]:
    """``{metric: column}`` for every metric the runs logged, primary metrics first (Azure's
    ``az ml history list`` shows one column per metric); a name that clashes with a base column
    is prefixed ``metric:``."""
    logged = {name for run in runs for name in run.data.metrics}
    first = [m for m in dict.fromkeys(primary.values()) if m in logged]
    ordered = first + sorted(logged - set(first))
    return {m: f"metric:{m}" if m in _LIST_COLUMNS else m for m in ordered}


def run_info(run_id: str) -> dict[str, Any]:
    """Everything about one run: times, status, parent, params, metrics, tags, artifacts."""
    return _describe(_get_run(run_id))


def last_run(experiment_name: str | None = None) -> dict[str, Any]:
    """:func:`run_info` of the most recently started run (of one experiment, or of all)."""
    names = _experiment_names(experiment_name)
    runs = tracking.client().search_runs(list(names), max_results=1, order_by=_ORDER_NEWEST_FIRST)
    if not runs:
        where = f"experiment {experiment_name!r}" if experiment_name else "the tracking store"
        raise ValueError(f"no runs in {where}")
    return _describe(runs[0])


def compare_runs(run_ids: list[str]) -> pd.DataFrame:
    """Metrics and params of 2 or 3 runs side by side.

    Index: ``metric:<name>`` rows, then ``param:<name>`` rows; one column per run, headed by its
    short id and name. The full ids are in ``frame.attrs["run_ids"]``.
    """
    if not _MIN_COMPARE <= len(run_ids) <= _MAX_COMPARE:
        raise ValueError(
            f"compare takes {_MIN_COMPARE} or {_MAX_COMPARE} run ids, got {len(run_ids)}"
        )
    duplicates = sorted({r for r in run_ids if run_ids.count(r) > 1})
    if duplicates:
        raise ValueError(f"run id given more than once: {', '.join(duplicates)}")
    runs = [_get_run(run_id) for run_id in run_ids]
    columns = {}
    for run in runs:
        values = {f"metric:{k}": v for k, v in sorted(run.data.metrics.items())}
        values |= {f"param:{k}": v for k, v in sorted(run.data.params.items())}
        columns[_column_name(run)] = values
    metric_rows = sorted({k for c in columns.values() for k in c if k.startswith("metric:")})
    param_rows = sorted({k for c in columns.values() for k in c if k.startswith("param:")})
    frame = pd.DataFrame(columns, index=metric_rows + param_rows, dtype=object)
    frame.attrs["run_ids"] = list(run_ids)
    return frame


def download_run(run_id: str, dest: str | Path, artifact_path: str | None = None) -> str:
    """Downloads the run's artifacts (all, or ``artifact_path``) into ``dest``; returns the
    local path of what was downloaded."""
    _get_run(run_id)
    if artifact_path and not _artifact_exists(run_id, artifact_path):
        raise ValueError(f"run {run_id} has no artifact {artifact_path!r}")
    Path(dest).mkdir(parents=True, exist_ok=True)
    # MLflow's progress bar would go to the terminal of a command that prints JSON.
    with tracking._env("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false"):
        return tracking.client().download_artifacts(run_id, artifact_path or "", str(dest))


def promote(run_id: str, artifact_path: str, model_name: str) -> dict[str, Any]:
    """Registers the model ``artifact_path`` of a run as a new version of ``model_name``.

    A LoggedModel of that name logged from the run (MLflow 3's ``log_model(name=...)``) is
    registered as ``models:/<model_id>``; otherwise a run artifact at that path as
    ``runs:/<run_id>/<artifact_path>``.
    """
    run = _get_run(run_id)
    client = tracking.client()
    model = _logged_model(run, artifact_path)
    if model is not None:
        source, model_id = f"models:/{model.model_id}", model.model_id
    elif _artifact_exists(run_id, artifact_path):
        source, model_id = f"runs:/{run_id}/{artifact_path}", None
    else:
        known = [m.name for m in _logged_models(run)]
        raise ValueError(
            f"run {run_id} has no logged model or artifact named {artifact_path!r}"
            + (f" (logged models: {', '.join(known)})" if known else "")
        )
    try:
        client.create_registered_model(model_name)
    except MlflowException as exc:
        if exc.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise
    version = client.create_model_version(model_name, source, run_id=run_id, model_id=model_id)
    return {
        "name": version.name,
        "version": str(version.version),
        "source": version.source,
        "run_id": version.run_id,
        "model_id": model_id,
        "status": version.status,
    }


# --- helpers -------------------------------------------------------------------------------------
def _get_run(run_id: str) -> Run:
    try:
        return tracking.client().get_run(run_id)
    except MlflowException as exc:
        raise ValueError(f"unknown run id {run_id!r}") from exc


def _experiment_names(experiment_name: str | None) -> dict[str, str]:
    """``{experiment id: name}`` of the named experiment, or of all active experiments."""
    client = tracking.client()
    if experiment_name is not None:
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None or experiment.lifecycle_stage == "deleted":
            raise ValueError(f"unknown experiment {experiment_name!r}")
        return {experiment.experiment_id: experiment.name}
    names: dict[str, str] = {}
    page_token = None
    while True:
        page = client.search_experiments(max_results=1000, page_token=page_token)
        names |= {e.experiment_id: e.name for e in page}
        page_token = page.token
        if not page_token:
            return names


def _primary_metric_names(runs: list[Run]) -> dict[str, str]:
    """``{run id: primary metric}``; trials inherit it from their AutoML parent run."""
    by_run = {
        r.info.run_id: r.data.tags[tracking.TAG_METRIC]
        for r in runs
        if tracking.TAG_METRIC in r.data.tags
    }
    for run in runs:
        parent = run.data.tags.get(MLFLOW_PARENT_RUN_ID)
        if run.data.tags.get(tracking.TAG_KIND) != "trial" or not parent:
            continue
        if parent not in by_run:  # the parent is older than the page of runs asked for
            try:
                by_run[parent] = tracking.client().get_run(parent).data.tags[tracking.TAG_METRIC]
            except (MlflowException, KeyError):
                by_run[parent] = None
        if by_run[parent]:
            by_run[run.info.run_id] = by_run[parent]
    return by_run


def _score(run: Run, metric: str | None) -> float | None:
    if not metric:
        return None
    if run.data.tags.get(tracking.TAG_KIND) == "experiment":
        return run.data.metrics.get(tracking.BEST_SCORE_METRIC, run.data.metrics.get(metric))
    return run.data.metrics.get(metric)


def _describe(run: Run) -> dict[str, Any]:
    info, tags = run.info, run.data.tags
    experiment = tracking.client().get_experiment(info.experiment_id)
    duration = _duration_s(run)
    return {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "experiment": experiment.name,
        "experiment_id": info.experiment_id,
        "kind": _kind(run),
        "status": info.status,
        "created_time": _iso(info.start_time),
        "start_time": _iso(info.start_time),
        "end_time": _iso(info.end_time),
        "duration": str(dt.timedelta(seconds=duration)) if duration is not None else None,
        "duration_s": duration,
        "parent_run_id": tags.get(MLFLOW_PARENT_RUN_ID),
        "user": tags.get(MLFLOW_USER) or info.user_id or None,
        "properties": {name: tags.get(tag) for name, tag in _PROPERTY_TAGS.items()},
        "params": dict(sorted(run.data.params.items())),
        "metrics": dict(sorted(run.data.metrics.items())),
        "tags": {k: v for k, v in sorted(tags.items()) if not k.startswith(_SYSTEM_TAG_PREFIX)},
        "artifacts": _artifact_paths(info.run_id),
        "logged_models": [
            {"name": m.name, "model_id": m.model_id, "model_uri": m.model_uri}
            for m in _logged_models(run)
        ],
        "artifact_uri": info.artifact_uri,
    }


def _kind(run: Run) -> str:
    return _KINDS.get(run.data.tags.get(tracking.TAG_KIND, ""), "other")


def _duration_s(run: Run) -> float | None:
    if run.info.start_time is None or run.info.end_time is None:
        return None
    return (run.info.end_time - run.info.start_time) / 1000


def _column_name(run: Run) -> str:
    return f"{run.info.run_id[:_SHORT_ID]} {run.info.run_name or ''}".strip()


def _artifact_paths(run_id: str, path: str | None = None) -> list[str]:
    """Every file under ``path`` of the run's artifacts, recursively."""
    files = []
    for entry in tracking.client().list_artifacts(run_id, path):
        files += _artifact_paths(run_id, entry.path) if entry.is_dir else [entry.path]
    return files


def _artifact_exists(run_id: str, artifact_path: str) -> bool:
    artifact_path = artifact_path.strip("/")
    parent = str(Path(artifact_path).parent)
    entries = tracking.client().list_artifacts(run_id, None if parent == "." else parent)
    return any(entry.path == artifact_path for entry in entries)


def _logged_models(run: Run) -> list[Any]:
    """The LoggedModels logged from this run, oldest first."""
    models = tracking.client().search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id='{run.info.run_id}'",
    )
    return sorted(models, key=lambda m: m.creation_timestamp or 0)


def _logged_model(run: Run, name: str) -> Any | None:
    """The newest LoggedModel of the run named ``name``, if any."""
    matches = [m for m in _logged_models(run) if m.name == name]
    return matches[-1] if matches else None
