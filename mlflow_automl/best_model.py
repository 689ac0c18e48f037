"""The best model after the search: fitted within the time left, wrapped, logged with its input
example (and as ONNX when asked), its tables and tags written to the AutoML run."""

from __future__ import annotations

import logging
import time
from typing import Any

import pandas as pd

from mlflow_automl import tracking
from mlflow_automl.config import AutoMLConfig, AutoMLConfigError
from mlflow_automl.data import TrainingData
from mlflow_automl.ensemble import StackEnsemble, VotingEnsemble
from mlflow_automl.final_fit import fit_final, killable_refit
from mlflow_automl.inputs import InputError, check_input, column_kinds
from mlflow_automl.leaderboard import LeaderboardEntry
from mlflow_automl.learners import get_learner
from mlflow_automl.model import build_pipeline, fit_pipeline, wrap_fitted
from mlflow_automl.search import Budget
from mlflow_automl.search.loop import SearchResult
from mlflow_automl.tasks import get_task

logger = logging.getLogger("mlflow_automl")

_ONNX_PARITY_ROWS = 2000


def log_best_model(
    config: AutoMLConfig,
    data: TrainingData,
    plan: Any,
    result: SearchResult,
    tracker: tracking.ExperimentTracker,
    budget: Budget,
) -> tuple[Any, str | None]:
    """Refits the best configuration, logs it and the run's tables; returns (model, uri)."""
    tracker.log_table(result.leaderboard.frame(), tracking.LEADERBOARD_FILE)
    tracker.set_tags({tracking.TAG_STOP_REASON: result.stop_reason})
    if result.best is None:
        tracker.log_table(plan.summary_frame(), tracking.FEATURIZATION_FILE)
        raise RuntimeError(
            f"No trial completed ({len(result.leaderboard.entries)} tried; stop reason: "
            f"{result.stop_reason}). See the failed child runs' automl.error tags."
        )

    cores = config.cores_per_iteration

    def fit(entry: LeaderboardEntry, rows: Any) -> Any:
        learner = get_learner(entry.learner, config.task)
        pipeline = build_pipeline(
            plan,
            learner,
            entry.params,
            config.task,
            config.random_seed,
            learner.threads(data.X, cores),
        )
        weights = None if data.sample_weight is None else data.sample_weight[rows]
        return fit_pipeline(pipeline, learner, data.X.iloc[rows], data.y[rows], weights)

    final = fit_final(
        config,
        data,
        result.leaderboard,
        budget,
        budget.essential_reserve_seconds,
        fit,
        killable=killable_refit(config),
        n_threads=cores,
        plan=plan,
    )
    best, pipeline = final.entry, final.pipeline
    tracker.set_tags({tracking.TAG_FINAL_MODEL_FIT: final.how})
    task = get_task(config.task)
    # Fold models are an ensemble of one configuration: is_ensemble(best) is not enough.
    combined = isinstance(pipeline, VotingEnsemble | StackEnsemble)
    task.record_engineered_counts(plan, pipeline, combined)
    tracker.log_table(plan.summary_frame(), tracking.FEATURIZATION_FILE)
    kinds = input_kinds(config, data, plan)
    model = wrap_fitted(
        pipeline, config.task, data.classes, list(data.X.columns), best.learner, best.params, kinds
    )
    example = task.input_example(model, data, kinds, data.final_rows)  # prepares the model
    user_example = user_input_example(config, data, kinds)
    example = example if user_example is None else user_example
    model_uri = tracker.log_model(
        model, example, model.predict(example), named_inputs=data.string_column_names
    )
    if config.enable_onnx_compatible_models:
        _export_onnx(model, data, tracker)
    tracker.log_metrics(best.metrics)
    tracker.set_tags(
        {
            tracking.TAG_BEST_CHILD: best.run_id,
            tracking.TAG_BEST_ITERATION: best.iteration,
            tracking.TAG_MODEL_URI: model_uri,
            tracking.TAG_LEARNER: best.learner,
            tracking.TAG_PIPELINE: best.pipeline,
        }
    )
    logger.info(
        "best model logged as %s (%.1f s left in budget)",
        model_uri,
        (budget.deadline - time.time()) if budget.deadline else float("nan"),
    )
    return model, model_uri


def input_kinds(config: AutoMLConfig, data: TrainingData, plan: Any) -> dict[str, str]:
    """Each training column's kind for the model's input check (``inputs.py``)."""
    return column_kinds(data.X, get_task(config.task).parsed_date_columns(plan))


def user_input_example(
    config: AutoMLConfig, data: TrainingData, kinds: dict[str, str]
) -> pd.DataFrame | None:
    """The ``input_example`` setting checked as prediction input (before any run exists)."""
    if config.input_example is None:
        return None
    try:
        example = check_input(config.input_example, list(data.X.columns), kinds)
    except InputError as exc:
        raise AutoMLConfigError(f"input_example: {exc}") from exc
    if example.empty:
        raise AutoMLConfigError("input_example has no rows; give at least one.")
    return example


def _export_onnx(model: Any, data: TrainingData, tracker: tracking.ExperimentTracker) -> None:
    """Converts the best model to ONNX and logs it; a failure is a tag, never an error."""
    from mlflow_automl.onnx_export import convert_model, onnx_signature

    rows = data.validation_rows[:_ONNX_PARITY_ROWS]
    export = convert_model(model, data.X.iloc[rows])
    tags = {
        tracking.TAG_ONNX_STATUS: "failed" if export.error else "converted",
        tracking.TAG_ONNX_ERROR: export.error,
        tracking.TAG_ONNX_MAX_ABS_DIFF: export.max_abs_diff,
    }
    if export.error is None:
        tags[tracking.TAG_ONNX_URI] = tracking.log_onnx_model(
            tracker.run_id, export.model, onnx_signature(export)
        )
    else:
        logger.warning("the best model stays in Python: %s", export.error)
    tracker.set_tags(tags)
