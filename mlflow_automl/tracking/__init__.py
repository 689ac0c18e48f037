"""The only package that talks to MLflow tracking.

- ``tags.py``: every tag and metric key, as constants.
- ``store.py``: client, tracking URI, the experiment to log into, the one run-creation
  function, tags/metrics/artifacts of any run, the registry, model logging and loading, queries.
- ``datasets.py``: the training data as an MLflow dataset record.
- ``experiments.py``: experiments (lookup, listing, archive, rename, tags).
- ``tracker.py``: ``ExperimentTracker``, the writer of one AutoML experiment.
- ``journal.py``: writes kept back during a tracking outage; ``history.py``: run-history queries.

Callers use ``from mlflow_automl import tracking`` and the names re-exported here.
"""

# ruff: noqa: F401 - names re-exported for callers
from __future__ import annotations

from mlflow_automl.tracking.datasets import (
    DATASET_SAMPLE_ROWS,
    dataset_entity,
    training_data_digest,
    training_dataset,
)
from mlflow_automl.tracking.store import (
    CHARTS_DIR,
    FEATURIZATION_FILE,
    GUARDRAILS_FILE,
    LEADERBOARD_FILE,
    MODEL_NAME,
    ONNX_MODEL_NAME,
    _env,
    _now_ms,
    _param_value,
    _tag_value,
    append_table,
    bounded_http_retries,
    client,
    create_run,
    current_run,
    download,
    find_finished_run,
    finish_run,
    get_run,
    iso_utc,
    list_artifacts,
    load_model,
    load_onnx_model,
    load_table,
    log_charts,
    log_figure,
    log_json,
    log_metric_steps,
    log_metrics,
    log_onnx_model,
    log_params,
    log_text,
    metric_history,
    metric_values,
    next_metric_step,
    process_run,
    read_json_artifact,
    register_best_model,
    register_model,
    rename_run,
    reopen_status,
    resolve_experiment,
    search_children,
    search_runs_by_parent,
    seconds_in_mlflow,
    set_run_tags,
    set_tracking_uri,
    tracking_uri,
    upload_dir,
    upload_file,
)
from mlflow_automl.tracking.tags import *  # noqa: F403 - every key, as tracking.TAG_...
from mlflow_automl.tracking.tracker import ExperimentTracker, sync_journal
