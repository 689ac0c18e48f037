"""One trial: build a pipeline for (learner, params), fit it on each split, score it.

This is the shared evaluation routine every executor runs (in-process, in a worker process, or
later on a Ray worker). It never raises for a learner's failure: the outcome says what happened,
so a failing trial cannot take the experiment down.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlflow_automl.evaluation.metrics import compute_metrics

COMPLETED, FAILED, TIMED_OUT = "completed", "failed", "timeout"


@dataclass(frozen=True)
class TrialSpec:
    """What to try: a learner, its hyperparameters, and where the proposal came from."""

    iteration: int
    learner: str
    params: dict[str, Any]
    origin: str = ""  # "low_cost" | "default" | "portfolio" | "tpe"


@dataclass
class TrialContext:
    """Everything a worker needs to evaluate trials; shipped once per worker."""

    X: pd.DataFrame
    y: np.ndarray
    sample_weight: np.ndarray | None
    splits: list[tuple[np.ndarray, np.ndarray]]
    task: str
    n_classes: int | None
    plan: Any  # FeaturizationPlan
    random_state: int
    n_jobs: int
    metric_scale: np.ndarray | None = None  # forecasting: per-row MASE denominators
    # (split index, category codes?) -> its featurized rows (see featurized_split); filled where
    # trials run, never shipped to a worker.
    _featurized: dict[tuple[int, bool], Any] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def for_experiment(cls, config: Any, data: Any, plan: Any) -> TrialContext:
        """What every trial of an experiment needs (``AutoMLConfig``, ``TrainingData``, the
        plan), sent once to each worker."""
        return cls(
            X=data.X,
            y=data.y,
            sample_weight=data.sample_weight,
            splits=data.splits,
            task=config.task,
            n_classes=data.n_classes,
            plan=plan,
            random_state=config.random_seed,
            n_jobs=config.cores_per_iteration,
            metric_scale=getattr(data, "metric_scale", None),
        )

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_featurized": {}}

    def scale_of(self, rows: np.ndarray) -> np.ndarray | None:
        return None if self.metric_scale is None else self.metric_scale[rows]

    @property
    def validation_rows(self) -> np.ndarray:
        """Rows that trials are scored on (every row under cross-validation)."""
        return np.unique(np.concatenate([valid for _, valid in self.splits]))


@dataclass
class TrialOutcome:
    spec: TrialSpec
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    predictions: np.ndarray | None = None  # out-of-fold / validation scores, row-aligned with X
    started_at: float = 0.0  # wall-clock seconds since the epoch
    ended_at: float = 0.0
    fit_seconds: float = 0.0  # mean fit time of one split
    error: str = ""
    # Where it ran, when the executor knows (Ray: the node and worker ids).
    node_id: str = ""
    worker_id: str = ""

    @property
    def duration(self) -> float:
        return self.ended_at - self.started_at

    @property
    def ok(self) -> bool:
        return self.status == COMPLETED


class TrialTimeout(Exception):
    """Raised between splits when a trial's deadline has passed."""


def evaluate_trial(
    context: TrialContext, spec: TrialSpec, deadline: float | None = None
) -> TrialOutcome:
    """Fits ``spec`` on every split of ``context`` and scores the pooled validation predictions.

    ``deadline`` is a wall-clock time (``time.time()``); it is checked between splits. Executors
    that can stop a process enforce it exactly; this check is the in-process fallback.
    """
    started = time.time()
    outcome = TrialOutcome(spec=spec, status=FAILED, started_at=started)
    _run_splits(context, spec, deadline, outcome)
    outcome.ended_at = time.time()
    return outcome


def _run_splits(
    context: TrialContext, spec: TrialSpec, deadline: float | None, outcome: TrialOutcome
) -> None:
    from mlflow_automl.learners import get_learner
    from mlflow_automl.model import (
        build_pipeline,
        categorical_codes,
        fit_pipeline,
        predict_scores,
    )

    try:
        learner = get_learner(spec.learner, context.task)
        threads = learner.threads(context.X, context.n_jobs)
        codes = categorical_codes(context.plan, learner)
        n = len(context.y)
        shape = (n,) if context.n_classes is None else (n, context.n_classes)
        predictions = np.full(shape, np.nan)
        fit_times = []
        for split_index, (train, valid) in enumerate(context.splits):
            if deadline is not None and time.time() > deadline:
                raise TrialTimeout(f"trial passed its deadline after {len(fit_times)} split(s)")
            pipeline = build_pipeline(
                context.plan,
                learner,
                spec.params,
                context.task,
                context.random_state,
                threads,
            )
            weights = None if context.sample_weight is None else context.sample_weight[train]
            featurized = featurized_split(context, split_index, train, valid, codes > 0)
            fit_started = time.time()
            if featurized is None:
                fit_pipeline(pipeline, learner, context.X.iloc[train], context.y[train], weights)
                X_valid = context.X.iloc[valid]
                fit_times.append(time.time() - fit_started)
            else:  # the featurizer fitted on this split before: only the steps after it
                pipeline = pipeline[1:]
                fit_pipeline(pipeline, learner, featurized.train, context.y[train], weights)
                X_valid = featurized.valid
                # As if featurized here: the refit estimate is built on these times.
                fit_times.append(time.time() - fit_started + featurized.seconds)
            predictions[valid] = predict_scores(pipeline, X_valid, context.n_classes)
        rows = context.validation_rows
        scores = predictions[rows]
        if not np.all(np.isfinite(scores)):
            raise ValueError("the model produced non-finite predictions")
        weights = None if context.sample_weight is None else context.sample_weight[rows]
        outcome.metrics = compute_metrics(
            context.task, context.y[rows], scores, weights, scale=context.scale_of(rows)
        )
        outcome.predictions = predictions
        outcome.fit_seconds = float(np.mean(fit_times))
        outcome.status = COMPLETED
    except TrialTimeout as exc:
        outcome.status, outcome.error = TIMED_OUT, str(exc)
    except Exception as exc:  # a learner's failure is an outcome, not a crash
        outcome.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"


# The featurized splits a worker keeps, in float64 cells over all splits: ~160 MB. Above it
# each trial featurizes again (on big tables featurizing is a small share of a trial anyway).
MAX_FEATURIZED_CELLS = 20_000_000


@dataclass
class FeaturizedSplit:
    """A split's rows after the featurizer fitted on its training rows, and that fit's time."""

    train: np.ndarray
    valid: np.ndarray
    seconds: float


def featurized_split(
    context: TrialContext,
    index: int,
    train: np.ndarray,
    valid: np.ndarray,
    native_categoricals: bool = False,
) -> FeaturizedSplit | None:
    """The featurizer's output for split ``index``, computed once per process: the featurizer
    depends on the plan and the split's rows only (deterministic), so every trial used to fit
    the same one on every split (a quarter of a trial on a 4,454-row table). Kept apart for
    learners that read category codes (``native_categoricals``). None when trials must
    featurize themselves: forecasting (its forecaster owns featurizing), or past
    :data:`MAX_FEATURIZED_CELLS`."""
    from mlflow_automl.tasks import get_task

    if not get_task(context.task).shares_featurized_splits:
        return None
    key = (index, native_categoricals)
    cached = context._featurized.get(key)
    if cached is not None or key in context._featurized:
        return cached
    started = time.time()
    featurizer = context.plan.make_transformer(native_categoricals)
    fitted_train = featurizer.fit_transform(context.X.iloc[train], context.y[train])
    seconds = time.time() - started
    featurized = FeaturizedSplit(fitted_train, featurizer.transform(context.X.iloc[valid]), seconds)
    held = sum(f.train.size + f.valid.size for f in context._featurized.values() if f)
    if held + fitted_train.size + featurized.valid.size > MAX_FEATURIZED_CELLS:
        featurized = None  # remembered: this split is not kept, and not featurized twice here
    context._featurized[key] = featurized
    return featurized
