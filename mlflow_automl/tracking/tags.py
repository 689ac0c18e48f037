"""Every tag, metric and version-tag key this package writes or reads, as constants.

Written and read through these names only (``tests/test_layering.py`` refuses a literal equal
to one of them, or starting with ``automl.`` / ``mlflow.``, outside ``tracking/``). MLflow's own
system tags are re-exported from :mod:`mlflow.utils.mlflow_tags`.
"""

from __future__ import annotations

from mlflow.utils.mlflow_tags import (
    MLFLOW_DATASET_CONTEXT as MLFLOW_DATASET_CONTEXT,
)
from mlflow.utils.mlflow_tags import (
    MLFLOW_GIT_BRANCH as MLFLOW_GIT_BRANCH,
)
from mlflow.utils.mlflow_tags import (
    MLFLOW_GIT_COMMIT as MLFLOW_GIT_COMMIT,
)
from mlflow.utils.mlflow_tags import (
    MLFLOW_GIT_REPO_URL as MLFLOW_GIT_REPO_URL,
)
from mlflow.utils.mlflow_tags import (
    MLFLOW_PARENT_RUN_ID as MLFLOW_PARENT_RUN_ID,
)
from mlflow.utils.mlflow_tags import (
    MLFLOW_PROJECT_ENTRY_POINT as MLFLOW_PROJECT_ENTRY_POINT,
)
from mlflow.utils.mlflow_tags import (
    MLFLOW_RUN_NAME as MLFLOW_RUN_NAME,
)
from mlflow.utils.mlflow_tags import (
    MLFLOW_SOURCE_NAME as MLFLOW_SOURCE_NAME,
)
from mlflow.utils.mlflow_tags import (
    MLFLOW_SOURCE_TYPE as MLFLOW_SOURCE_TYPE,
)
from mlflow.utils.mlflow_tags import (
    MLFLOW_USER as MLFLOW_USER,
)

TAG_PREFIX = "automl."  # every tag of ours; ``TAG_PREFIX + metric`` is a score's version tag
MLFLOW_TAG_PREFIX = "mlflow."  # MLflow's system tags

# --- the AutoML run (parent) and its trials (children) --------------------------------------------
TAG_KIND = "automl.kind"  # "experiment" on the parent, "trial" on children
TAG_ITERATION = "automl.iteration"
TAG_LEARNER = "automl.learner"
TAG_PIPELINE = "automl.pipeline"
TAG_STATUS = "automl.status"
TAG_ORIGIN = "automl.origin"
TAG_ERROR = "automl.error"
TAG_TASK = "automl.task"
TAG_METRIC = "automl.primary_metric"
TAG_BEST_CHILD = "automl.best_child_run_id"
TAG_BEST_ITERATION = "automl.best_iteration"
TAG_MODEL_URI = "automl.best_model_uri"
TAG_STOP_REASON = "automl.stop_reason"
TAG_FINAL_MODEL_RULE = "automl.final_model_rule"  # why the final model is not the top score
TAG_VERSION = "automl.version"  # the package version, on the run and on registered versions
TAG_LABEL = "automl.label_column"
TAG_THREADS = "automl.threads"  # threads per trial, and the cores free when the run started
TAG_REGISTERED = "automl.registered_model"
TAG_ONNX_URI = "automl.onnx_model_uri"
TAG_ONNX_STATUS = "automl.onnx_status"
TAG_ONNX_ERROR = "automl.onnx_error"
TAG_ONNX_MAX_ABS_DIFF = "automl.onnx_max_abs_diff"  # parity of the ONNX graph with Python
TAG_DROPPED_SETTINGS = "automl.dropped_settings"  # settings given but not used, and why
TAG_INSIGHTS_ERROR = "automl.insights_error"  # charts/explanation failed; the model is fine
TAG_EXPLANATION_METHOD = "automl.explanation_method"
TAG_EXPLAINED_MODEL = "automl.explained_model"  # the model explained (an ensemble's member)
TAG_CHARTED_RUNS = "automl.charted_runs"
TAG_SECONDS_PER_CHART_SET = "automl.seconds_per_chart_set"
TAG_PARAMS_JSON = "automl.params_json"  # a child's hyperparameters with their types, for resume
# Where a trial ran, when its executor knows (Ray: node and worker ids).
TAG_NODE_ID = "automl.node_id"
TAG_WORKER_ID = "automl.worker_id"
# `mlflow run -b ray`: the Ray job that runs the project's run, and the cluster it went to.
TAG_RAY_JOB_ID = "automl.ray_job_id"
TAG_RAY_ADDRESS = "automl.ray_address"
# Seconds to generate and upload one run's code/ (enable_code_generation).
TAG_CODE_SECONDS = "automl.seconds_per_code_set"
TAG_RESUMED = "automl.resumed"  # how many times the experiment was continued
# JSON {work: reason} of optional work left out for lack of time (ensembles, charts, ...).
TAG_SKIPPED = "automl.skipped"
# How the final model was fitted: on all final rows, or a fallback when that could not finish.
TAG_FINAL_MODEL_FIT = "automl.final_model_fit"
TAG_TRACKING_BY_CALL = "automl.tracking_seconds_by_call"

# --- a registered model version -------------------------------------------------------------------
TAG_RUN_ID = "automl.run_id"  # the AutoML run the version comes from

# --- pipeline step runs ---------------------------------------------------------------------------
TAG_STEP = "automl.pipeline_step"
TAG_FINGERPRINT = "automl.step_fingerprint"
TAG_REUSED_FROM = "automl.reused_from"
TAG_OUTPUT_PREFIX = "automl.output."

# --- the Azure-style logging API (azureml/) -------------------------------------------------------
TAG_RUN_TYPE = "automl.run_type"  # our stand-in for Azure's ``azureml.runType``
STRING_TAG_PREFIX = "log."  # ``Run.log(name, "text")``: the latest string as tag ``log.<name>``
TAG_ARCHIVED_NAME = "automl.archived_name"  # the name an archived experiment was moved off
TAG_DELETED = "automl.deleted"  # Experiment.delete(): hidden from every listing

# --- experiments ----------------------------------------------------------------------------------
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"

# --- metric keys ----------------------------------------------------------------------------------
BEST_SCORE_METRIC = "best_score"
# Wall seconds the experiment spent in MLflow calls, and their share of the run's duration.
TRACKING_SECONDS_METRIC = "tracking_seconds"
TRACKING_FRACTION_METRIC = "tracking_fraction"
# Seconds of MLflow calls made by the background writer during the search (off the search's path).
TRACKING_BACKGROUND_SECONDS_METRIC = "tracking_background_seconds"

__all__ = sorted(name for name in list(globals()) if name.isupper())  # for tracking/__init__
