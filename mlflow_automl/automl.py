"""The orchestrator: config -> data -> featurization plan -> search -> best model -> MLflow.

Kept short on purpose: each step is one call into the module that owns the concept.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import time
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from mlflow_automl import codegen, tracking
from mlflow_automl._version import __version__
from mlflow_automl.config import AutoMLConfig, AutoMLConfigError
from mlflow_automl.console import ConsoleReporter
from mlflow_automl.data import TrainingData, prepare_training_data
from mlflow_automl.ensemble_runs import (
    build_ensembles,
    enabled_ensembles,
    is_ensemble,
    prefer_combination,
    search_iterations,
)
from mlflow_automl.evaluation.metrics import FORECASTING
from mlflow_automl.evaluation.trial import TrialContext, TrialOutcome
from mlflow_automl.executors import make_executor
from mlflow_automl.featurize import Guardrail, check_guardrails, plan_featurization
from mlflow_automl.final_fit import fit_final, refit_seconds
from mlflow_automl.inputs import InputError, check_input, column_kinds, typical_example
from mlflow_automl.insights import SECONDS_PER_CHART_SET, Insights
from mlflow_automl.leaderboard import Leaderboard, LeaderboardEntry
from mlflow_automl.learners import get_learner, learners_for
from mlflow_automl.model import build_pipeline, describe_pipeline, fit_pipeline, wrap_fitted
from mlflow_automl.search import Budget, Proposer
from mlflow_automl.search.budget import slowdown
from mlflow_automl.stops import STOP_GRACE_SECONDS, StopRequested, StopSignals, cut_budget

logger = logging.getLogger("mlflow_automl")

# Seconds kept back from the search for logging the best model (signature, input example,
# code, explicit requirements: 0.1-0.4 s), the tables, registration and closing the run.
_MODEL_LOGGING_RESERVE_S = 1.5
_REGISTRATION_RESERVE_S = 0.5
# The smallest budget (minimum_timeout_seconds). Measured: a whole one-trial experiment on
# penguins took 6.8-7.6 s at load 4 on 2 cores, ~4 s of it creating a new SQLite store and the
# run; the baseline's fit grows with the cells of the table: ElasticNet's low-cost point on
# 180k x 30 (diamonds resampled) fitted in 6-13 s on the busy machine, ~0.5-1M cells/s.
_MINIMUM_BUDGET_S = 10.0
_BASELINE_CELLS_PER_SECOND = 500_000
# ... and for the best model's charts, always drawn.
_CHARTS_RESERVE_S = SECONDS_PER_CHART_SET
# Optional work, skipped when its time is not there: the explanation (0.3-0.6 s measured), more
# charts, and scoring each ensemble from stored predictions (selection 0.1-0.4 s, stacking CV
# up to ~1 s). It may take at most this share of a budget.
_EXPLANATION_RESERVE_S = 1.0
_ENSEMBLE_RESERVE_S = 1.0
_OPTIONAL_SHARE = 0.2
_ESSENTIAL_SHARE = 0.25
# Featurization steps with no ONNX equivalent (date parsing, sklearn's feature hashing,
# multiclass target encoding), left out when enable_onnx_compatible_models=True.
_NOT_ONNX_CONVERTIBLE = ["DateTimeFeaturizer", "HashOneHotEncoder", "TargetEncoder"]
_ONNX_PARITY_ROWS = 2000


@dataclass
class SearchResult:
    leaderboard: Leaderboard
    stop_reason: str

    @property
    def best(self) -> LeaderboardEntry | None:
        return self.leaderboard.best


def submit(
    config: AutoMLConfig,
    experiment_name: str | None = None,
    show_output: bool = False,
    tags: dict[str, str] | None = None,
    run_name: str | None = None,
    parent_run_id: str | None = None,
    *,
    resume: Any = None,
) -> Any:  # AutoMLRun
    """Runs the AutoML experiment described by ``config``; returns an ``AutoMLRun``.

    The experiment is one MLflow run in ``experiment_name`` (default: the active run's
    experiment, else ``"automl"``), nested under the active run when there is one in that
    experiment; every trial is a child run of it.

    SIGINT or SIGTERM during the call stops it cleanly (``mlflow_automl/stops.py``): running
    trials are killed, the best model so far is logged within a few seconds, the run ends
    KILLED, then the signal goes on to the caller's handler (``KeyboardInterrupt`` for Ctrl+C).

    ``resume`` (a ``resume.Prior``, from ``AutoMLRun.continue_experiment``) continues that
    ended run instead of starting a new one.
    """
    stop = StopSignals()  # SIGINT / SIGTERM: a clean stop that keeps the best model
    try:
        with stop, tracking.bounded_http_retries():
            run = _submit(
                config, experiment_name, show_output, tags, run_name, parent_run_id, stop, resume
            )
    except BaseException:
        if stop.requested:  # handlers are back: the caller's own now decides (see stops.py)
            stop.pass_on()
        raise
    if stop.requested:
        stop.pass_on()
    return run


def _submit(
    config: AutoMLConfig,
    experiment_name: str | None,
    show_output: bool,
    tags: dict[str, str] | None,
    run_name: str | None,
    parent_run_id: str | None,
    stop: StopSignals,
    resume: Any,  # resume.Prior
) -> Any:  # AutoMLRun
    from mlflow_automl.run import AutoMLRun

    started = time.time()
    if not isinstance(config, AutoMLConfig):
        raise TypeError(f"submit() takes an AutoMLConfig, not {type(config).__name__}")
    log_handler = _configure_logging(config)
    try:
        # Everything that can reject the input runs before an MLflow run exists.
        data = prepare_training_data(config)
        plan = _plan(config, data)
        _user_input_example(config, data, _input_kinds(config, data, plan))
        learners = _choose_learners(config, data, plan)
        guardrails = _guardrails(config, data, plan)

        _check_minimum_budget(config, data)
        console = ConsoleReporter(show_output, config.metric)
        # Trial workers import their libraries while MLflow creates the run (and, for a new
        # store, its tables): both take a second or two of a short budget.
        executor = make_executor(config.compute_target, config.max_concurrent_iterations)
        executor.wakeup_fd = stop.wakeup_fd
        executor.start(_trial_context(config, data, plan))
        budget = _budget(config, learners, started)
        proposer = _proposer(config, data, learners, resume)
        tracker_started = None
        try:
            if stop.requested:  # stopped before any run exists: nothing to keep
                raise StopRequested(stop.reason)
            # The first trial, a cheap baseline, starts at once, while MLflow creates the run
            # (and a new store's tables) on another thread: nothing comes before it. A
            # continued experiment reopens its own run instead.
            if resume is None:
                tracker_started = _start_tracker(
                    config, data, experiment_name, run_name, parent_run_id, tags
                )
            else:
                tracker_started = functools.partial(
                    tracking.ExperimentTracker.reopen, resume.run_id
                )
            with stop.interruptible():  # a worker's start, or an in-process trial
                executor.submit(
                    proposer.ask(), budget.search_deadline, config.iteration_timeout_seconds
                )
            tracker = tracker_started()
        except BaseException:
            executor.shutdown()
            if resume is None and tracker_started is not None:  # never leave the run RUNNING
                with suppress(Exception), stop.shielded():
                    tracker_started().finish(
                        "KILLED" if stop.requested else "FAILED", stop_reason=stop.reason
                    )
            raise
        console.start(
            tracker.run_name,
            tracker.run_id,
            tracker.experiment_id,
            {
                "tracking URI": tracking.tracking_uri(),
                "rows x columns": f"{data.n_rows} x {data.X.shape[1]}",
                "validation": data.strategy.describe(),
                "learners": ", ".join(learner.name for learner in learners),
                "time budget": _budget_text(config),
            },
            guardrails,
        )
        status = "FAILED"
        model_uri = None
        try:
            if resume is None:  # a continued run has them (its data was checked to be the same)
                # Written while the first trial runs: nothing optional goes before it.
                tracker.in_background(
                    tracker.log_training_dataset,
                    data.raw_training_frame,
                    data.label_column,
                    data.source,
                )
                tracker.in_background(
                    tracker.log_table, _guardrail_frame(guardrails), tracking.GUARDRAILS_FILE
                )
            # A stop leaves a few seconds for the best model: every later phase works to this
            # deadline (ensembles, insights and registration are skipped).
            stop.on_stop(lambda: cut_budget(budget, STOP_GRACE_SECONDS))
            result = _search(
                config, data, proposer, budget, tracker, console, executor, stop, resume
            )
            # One BLAS thread in this process: small meta-learner and refit matrices gain
            # nothing from more, and next to busy processes spinning BLAS threads made the
            # stack's 10-fold meta-learner CV on penguins take 33-41 s instead of 3-8 s.
            with threadpool_limits(limits=1, user_api="blas"):
                if not stop.requested:
                    _ensemble_iterations(config, data, result, tracker, console, budget)
                if resume is not None and resume.keeps_model(result.best):
                    model, model_uri = resume.keep_model(
                        tracker, result.leaderboard, result.stop_reason
                    )
                else:
                    model, model_uri = _finish(config, data, plan, result, tracker, budget)
                insights = Insights(config.task, data, tracker)
                run = AutoMLRun(
                    tracker.run_id,
                    best_model=model,
                    leaderboard=result.leaderboard,
                    insights=insights,
                )
                # Asked for, so before the optional insights; a stopped run is not registered.
                if config.registered_model_name and not stop.requested:
                    run.register_model(config.registered_model_name, config.registered_model_alias)
                if not stop.requested:
                    _log_insights(insights, result, model, config, budget, tracker)
                    if config.enable_code_generation:  # code/ of the best and charted runs
                        codegen.log_code(
                            config,
                            data,
                            plan,
                            result.leaderboard,
                            codegen.runs_to_code(
                                result.leaderboard, model, len(insights.chart_seconds)
                            ),
                            tracker.run_id,
                            budget,
                        )
            status = "KILLED" if stop.requested else "FINISHED"
        except KeyboardInterrupt:
            status = "KILLED"
            raise
        except Exception as exc:
            status = "KILLED" if stop.requested else "FAILED"  # e.g. stopped before any model
            if tracker.offline:
                raise tracker.unavailable_error(exc) from exc
            raise
        finally:
            executor.shutdown()  # idempotent; the search has shut it down unless it failed
            if budget.skipped:
                with suppress(Exception):  # never mask the experiment's own outcome
                    tracker.set_tags({tracking.TAG_SKIPPED: json.dumps(budget.skipped)})
            with stop.shielded():  # even a second signal lets the run end
                tracker.finish(status, stop_reason=stop.reason)
            if stop.requested:
                stop.summary = _report_stop(tracker.run_id, stop.reason, model_uri, config)
        elapsed = time.time() - started
        console.end(
            {
                "Stopped because": result.stop_reason,
                "Best": _best_text(result, config.metric),
                "Wall time": f"{elapsed:.1f} s",
                "Model": model_uri or "-",
                "See it in the UI": f"mlflow ui --backend-store-uri {tracking.tracking_uri()}",
            }
        )
        return run
    finally:
        if log_handler is not None:
            logging.getLogger("mlflow_automl").removeHandler(log_handler)
            log_handler.close()


def _report_stop(run_id: str, reason: str | None, model_uri: str | None, config: Any) -> str:
    """Says what a stopped experiment kept (a warning, and the KeyboardInterrupt's text)."""
    if model_uri:
        kept = f"best model so far logged as {model_uri}: AutoMLRun({run_id!r}).get_output()"
        if config.registered_model_name:
            kept += " (not registered: the run was stopped)"
    else:
        kept = "no trial had finished, so there is no model"
    summary = f"AutoML run {run_id} {reason}; {kept}"
    logger.warning(summary)
    return summary


# --- steps ----------------------------------------------------------------------------------------
def _start_tracker(
    config: AutoMLConfig,
    data: TrainingData,
    experiment_name: str | None,
    run_name: str | None,
    parent_run_id: str | None,
    tags: dict[str, Any] | None,
) -> Any:  # () -> tracking.ExperimentTracker
    """Starts creating the AutoML (parent) run, with the settings as params, on another
    thread; returns the function that waits for its tracker."""
    return tracking.ExperimentTracker.start_in_thread(
        experiment_name,
        settings=config.loggable_settings() | data.strategy.as_params(),
        tags={
            tracking.TAG_TASK: config.task,
            tracking.TAG_METRIC: config.metric,
            tracking.TAG_VERSION: __version__,
            tracking.TAG_LABEL: data.label_column,
            **_dropped_tag(config),
            **(tags or {}),
        },
        run_name=run_name,
        parent_run_id=parent_run_id,
    )


def _dropped_tag(config: AutoMLConfig) -> dict[str, str]:
    """Settings the config dropped (with a warning), and why."""
    dropped = "; ".join(f"{name}: {why}" for name, why in config.dropped_settings.items())
    return {tracking.TAG_DROPPED_SETTINGS: dropped} if dropped else {}


def _trial_context(config: AutoMLConfig, data: TrainingData, plan: Any) -> TrialContext:
    """What every trial needs, sent once to each worker."""
    return TrialContext(
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


def _choose_learners(config: AutoMLConfig, data: TrainingData, plan: Any) -> list[Any]:
    needs_missing = plan.mode == "off" and bool(data.X.isna().to_numpy().any())
    learners = learners_for(
        config.task,
        allowed=config.allowed_models,
        blocked=config.blocked_models,
        onnx_only=config.enable_onnx_compatible_models,
        need_sample_weight=data.sample_weight is not None,
        need_missing=needs_missing,
    )
    if not learners:
        reasons = []
        if data.sample_weight is not None:
            reasons.append("the weight column needs learners that accept sample weights")
        if needs_missing:
            reasons.append("featurization='off' with missing values needs NaN-aware learners")
        raise AutoMLConfigError(
            "No learner is left to try after allowed_models/blocked_models"
            + (f" ({'; '.join(reasons)})" if reasons else "")
            + "."
        )
    return learners


def _plan(config: AutoMLConfig, data: TrainingData) -> Any:
    """The featurization plan, or for forecasting the plan that builds forecasters."""
    if config.task == FORECASTING:
        from mlflow_automl.forecasting.data import plan_forecasting

        return plan_forecasting(data, _featurization_for(config))
    return plan_featurization(data.X, _featurization_for(config), config.task)


def _guardrails(config: AutoMLConfig, data: TrainingData, plan: Any) -> list[Guardrail]:
    if config.task == FORECASTING:
        rows = list(data.guardrails)  # time-series checks and repairs, from data preparation
    else:
        y = pd.Series(data.decode(data.y) if data.classes is not None else data.y)
        rows = check_guardrails(data.X, y, config.task, plan, data.n_dropped_label_rows)
    rows.insert(
        0,
        Guardrail(
            name="Validation split handling",
            status="done",
            description=f"Validation: {data.strategy.describe()}.",
            details=data.strategy.as_params(),
        ),
    )
    return rows


def _budget(config: AutoMLConfig, learners: list[Any], started: float) -> Budget:
    return Budget(
        metric=config.metric,
        timeout_seconds=config.timeout_seconds,
        iterations=search_iterations(config),
        exit_score=config.experiment_exit_score,
        early_stopping=config.enable_early_stopping,
        early_stopping_n_iters=config.early_stopping_n_iters,
        min_iterations_before_early_stop=math.ceil(len(learners) * 1.5),
        started_at=started,
        reserve_seconds=_fixed_reserve(config),
        essential_reserve_seconds=_essential_reserve(config),
    )


def _proposer(
    config: AutoMLConfig, data: TrainingData, learners: list[Any], prior: Any = None
) -> Proposer:
    """The proposer, told a continued experiment's earlier trials (``prior``, a
    ``resume.Prior``) before its first ask: they are never run again, and numbers go on."""
    proposer = Proposer(
        learners,
        config.task,
        config.metric,
        n_rows=len(data.final_rows),
        n_features=data.X.shape[1],
        seed=config.random_seed,
        deterministic=config.timeout_seconds is None and config.max_concurrent_iterations == 1,
    )
    for entry in prior.entries if prior else []:
        proposer.observe(entry.spec(), entry.score, entry.duration)
    return proposer


def _search(
    config: AutoMLConfig,
    data: TrainingData,
    proposer: Proposer,
    budget: Budget,
    tracker: tracking.ExperimentTracker,
    console: ConsoleReporter,
    executor: Any,  # TrialExecutor, already started, running the first trial
    stop: StopSignals | None = None,
    prior: Any = None,  # resume.Prior: a continued experiment's earlier iterations
) -> SearchResult:
    leaderboard = Leaderboard(config.task, config.metric)
    for entry in prior.entries if prior else []:  # known (and told to the proposer)
        leaderboard.add(entry)
    run_ids: dict[int, Future] = {}  # iteration -> its child run id, written in the background
    n_started = executor.n_running  # the baseline, started before the MLflow run existed
    stop_reason = ""
    stop = stop or StopSignals()
    with executor:
        while True:
            while executor.n_running < executor.max_concurrency:
                stop_reason = stop.reason or budget.stop_reason(n_started) or ""
                if stop_reason:
                    break
                spec = proposer.ask()
                try:
                    with stop.interruptible():  # a worker's start, or an in-process trial
                        executor.submit(
                            spec, budget.search_deadline, config.iteration_timeout_seconds
                        )
                except StopRequested:
                    continue  # the loop's check above ends it
                n_started += 1
            if executor.n_running == 0:
                break
            outcomes = executor.wait(timeout=_seconds_to(budget.search_deadline))
            if stop.requested:  # kills the running trials' process groups
                outcomes += executor.cancel_all(stop.reason)
            elif budget.search_deadline is not None and time.time() >= budget.search_deadline:
                outcomes += executor.cancel_all("stopped at the experiment timeout")
            for outcome in outcomes:
                entry, run_ids[outcome.spec.iteration] = _record(
                    outcome, config, tracker, proposer, budget
                )
                leaderboard.add(entry)
                budget.reserve_seconds = _reserve_for(leaderboard, data, config)
                best_score = leaderboard.best_score
                if best_score is not None:
                    tracker.in_background(
                        tracker.log_metrics,
                        {tracking.BEST_SCORE_METRIC: best_score},
                        step=outcome.spec.iteration,
                    )
                console.trial(
                    outcome.spec.iteration,
                    entry.pipeline,
                    entry.duration,
                    entry.score,
                    best_score,
                    budget.fraction_used(),
                    note="" if outcome.ok else outcome.status,
                )
    tracker.flush(deadline=budget.deadline)  # later, what is left goes to the journal
    for entry in leaderboard.entries:
        if entry.iteration in run_ids:
            entry.run_id = run_ids[entry.iteration].result()
    if not stop_reason:
        stop_reason = budget.stop_reason(n_started) or "search finished"
    return SearchResult(leaderboard=leaderboard, stop_reason=stop_reason)


def _record(
    outcome: TrialOutcome,
    config: AutoMLConfig,
    tracker: tracking.ExperimentTracker,
    proposer: Proposer,
    budget: Budget,
) -> tuple[LeaderboardEntry, Future]:
    """The trial's leaderboard entry, and its child run being written in the background (the
    future gives the run id)."""
    spec = outcome.spec
    learner = get_learner(spec.learner, config.task)
    score = outcome.metrics.get(config.metric) if outcome.ok else None
    if score is not None and not math.isfinite(score):
        score = None
    proposer.tell(spec, score, outcome.duration)
    budget.record(score)
    pipeline = describe_pipeline(learner)
    metrics = dict(outcome.metrics)
    if outcome.ok:
        metrics["fit_time_seconds"] = outcome.fit_seconds
    if outcome.error:
        logger.debug(
            "iteration %d (%s) %s: %s", spec.iteration, spec.learner, outcome.status, outcome.error
        )
    run_id = tracker.in_background(
        tracker.log_trial,
        spec.iteration,
        params={"learner": spec.learner, **spec.params},
        metrics=metrics,
        tags={
            tracking.TAG_ITERATION: spec.iteration,
            tracking.TAG_LEARNER: spec.learner,
            tracking.TAG_PIPELINE: pipeline,
            tracking.TAG_STATUS: outcome.status,
            tracking.TAG_ORIGIN: spec.origin,
            tracking.TAG_ERROR: outcome.error or None,
        },
        started_at=outcome.started_at,
        ended_at=outcome.ended_at,
        succeeded=outcome.ok and score is not None,
    )
    entry = LeaderboardEntry(
        iteration=spec.iteration,
        run_id="",  # known once the background write is done
        learner=spec.learner,
        pipeline=pipeline,
        status=outcome.status if score is not None or not outcome.ok else "failed",
        score=score,
        metrics=outcome.metrics,
        params=spec.params,
        duration=outcome.duration,
        fit_seconds=outcome.fit_seconds,
        origin=spec.origin,
        predictions=outcome.predictions,
    )
    return entry, run_id


def _ensemble_iterations(
    config: AutoMLConfig,
    data: TrainingData,
    result: SearchResult,
    tracker: tracking.ExperimentTracker,
    console: ConsoleReporter,
    budget: Budget,
) -> None:
    """The voting and stack ensembles, logged and ranked like any iteration."""
    leaderboard = result.leaderboard
    iteration = 1 + max((e.iteration for e in leaderboard.entries), default=-1)
    deadline = None
    if budget.deadline is not None:
        # Ensembles are optional: they must leave the time the refit and logging need.
        refit = _refit_reserve(leaderboard, data, config)
        deadline = budget.deadline - refit - budget.essential_reserve_seconds - _CHARTS_RESERVE_S
        if time.time() >= deadline:
            for kind in enabled_ensembles(config):
                budget.skip(kind, "time budget: no time left after the search")
            return
    for kind, spec, predictions, metrics, started, ended in build_ensembles(
        config, data, leaderboard, deadline, budget.skipped
    ):
        score = metrics.get(config.metric)
        params = {"learner": kind, **{k: v for k, v in spec.items() if k != "kind"}}
        run_id = tracker.log_trial(
            iteration,
            params=params,
            metrics=metrics,
            tags={
                tracking.TAG_ITERATION: iteration,
                tracking.TAG_LEARNER: kind,
                tracking.TAG_PIPELINE: kind,
                tracking.TAG_STATUS: "completed",
                tracking.TAG_ORIGIN: "ensemble",
            },
            started_at=started,
            ended_at=ended,
            succeeded=True,
        )
        entry = LeaderboardEntry(
            iteration=iteration,
            run_id=run_id,
            learner=kind,
            pipeline=kind,
            status="completed",
            score=score,
            metrics=metrics,
            params=spec,
            duration=ended - started,
            fit_seconds=0.0,
            origin="ensemble",
            predictions=predictions,
        )
        leaderboard.add(entry)
        tracker.log_metrics({tracking.BEST_SCORE_METRIC: leaderboard.best_score}, step=iteration)
        console.trial(
            iteration, kind, entry.duration, score, leaderboard.best_score, budget.fraction_used()
        )
        iteration += 1
    runner_up = leaderboard.best
    if prefer_combination(config, data, leaderboard):
        tracker.set_tags(
            {
                tracking.TAG_FINAL_MODEL_RULE: (
                    f"VotingEnsemble kept: iteration {runner_up.iteration} ({runner_up.learner}) "
                    "scored better by less than one standard error over the validation windows"
                )
            }
        )


def _finish(
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
    best = result.best
    if best is None:
        tracker.log_table(plan.summary_frame(), tracking.FEATURIZATION_FILE)
        raise RuntimeError(
            f"No trial completed ({len(result.leaderboard.entries)} tried; stop reason: "
            f"{result.stop_reason}). See the failed child runs' automl.error tags."
        )

    def fit(entry: LeaderboardEntry, rows: Any) -> Any:
        learner = get_learner(entry.learner, config.task)
        pipeline = build_pipeline(
            plan, learner, entry.params, config.task, config.random_seed, config.cores_per_iteration
        )
        weights = None if data.sample_weight is None else data.sample_weight[rows]
        return fit_pipeline(pipeline, learner, data.X.iloc[rows], data.y[rows], weights)

    final = fit_final(
        config, data, result.leaderboard, budget, budget.essential_reserve_seconds, fit
    )
    best, pipeline = final.entry, final.pipeline
    rows = data.final_rows
    tracker.set_tags({tracking.TAG_FINAL_MODEL_FIT: final.how})
    if config.task == FORECASTING:
        plan.record_engineered_counts(pipeline)
    else:
        first = pipeline.members[0][1] if is_ensemble(best) else pipeline
        plan.record_engineered_counts(first.named_steps["featurize"])
    tracker.log_table(plan.summary_frame(), tracking.FEATURIZATION_FILE)
    kinds = _input_kinds(config, data, plan)
    model = wrap_fitted(
        pipeline, config.task, data.classes, list(data.X.columns), best.learner, best.params, kinds
    )
    if config.task == FORECASTING:
        from mlflow_automl.forecasting.model import prepare_for_logging

        example = prepare_for_logging(model, data)
    else:
        example = typical_example(data.X.iloc[rows], kinds)  # not a real training record
    user_example = _user_input_example(config, data, kinds)
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


def _log_insights(
    insights: Insights,
    result: SearchResult,
    model: Any,
    config: AutoMLConfig,
    budget: Budget,
    tracker: tracking.ExperimentTracker,
) -> None:
    """Charts and the explanation come after the model is logged and usable: their failure (a
    full disk, an unwritable artifact store) is a tag and a warning, not a FAILED run."""
    try:
        insights.log_all(result.leaderboard, model, config.model_explainability, budget)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        logger.warning("charts / explanation not logged (the model is): %s", error)
        with suppress(Exception):  # the store that refused the charts may refuse this too
            tracker.set_tags({tracking.TAG_INSIGHTS_ERROR: error[:5000]})


def _input_kinds(config: AutoMLConfig, data: TrainingData, plan: Any) -> dict[str, str]:
    """Each training column's kind for the model's input check (``inputs.py``)."""
    parsed_dates = () if config.task == FORECASTING else plan.columns_of_type("DateTime")
    return column_kinds(data.X, parsed_dates)


def _user_input_example(
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
        "automl.onnx_max_abs_diff": export.max_abs_diff,
    }
    if export.error is None:
        tags[tracking.TAG_ONNX_URI] = tracking.log_onnx_model(
            tracker.run_id, export.model, onnx_signature(export)
        )
    else:
        logger.warning("the best model stays in Python: %s", export.error)
    tracker.set_tags(tags)


def _featurization_for(config: AutoMLConfig) -> Any:
    """The featurization setting, limited to steps that convert when ONNX models are asked for."""
    featurization = config.featurization
    if not config.enable_onnx_compatible_models or featurization == "off":
        return featurization
    from copy import deepcopy

    from mlflow_automl.featurize import FeaturizationConfig

    custom = FeaturizationConfig() if featurization == "auto" else deepcopy(featurization)
    custom.add_blocked_transformers(_NOT_ONNX_CONVERTIBLE)
    return custom


# --- small helpers --------------------------------------------------------------------------------
def _seconds_to(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.time())


def _fixed_reserve(config: AutoMLConfig) -> float:
    """Time kept for the work after the search that does not depend on the best model: what
    must happen (logging, the best model's charts) in full, optional work (ensembles, the
    explanation) up to a share of the budget, so that a short experiment still searches."""
    explain = _EXPLANATION_RESERVE_S if config.model_explainability else 0.0
    optional = explain + _ENSEMBLE_RESERVE_S * len(enabled_ensembles(config))
    if config.timeout_seconds is not None:
        optional = min(optional, _OPTIONAL_SHARE * config.timeout_seconds)
    return _essential_reserve(config) + _CHARTS_RESERVE_S * slowdown() + optional


def _reserve_for(leaderboard: Leaderboard, data: TrainingData, config: AutoMLConfig) -> float:
    """Time to keep for refitting the final model, logging it and its insights."""
    return _fixed_reserve(config) + _refit_reserve(leaderboard, data, config)


def _refit_reserve(leaderboard: Leaderboard, data: TrainingData, config: AutoMLConfig) -> float:
    """Time to keep for refitting the final model on all final rows: the best iteration, or,
    when ensembles may win, the best few together (with a 1.5x margin)."""
    n_members = 5 if enabled_ensembles(config) else 1
    return sum(refit_seconds(e, data) for e in leaderboard.ranked()[:n_members])


def _essential_reserve(config: AutoMLConfig) -> float:
    """Time to keep for logging the model (and registering it when asked): measured on a quiet
    machine, scaled by how busy the machine is now."""
    seconds = _MODEL_LOGGING_RESERVE_S
    if config.registered_model_name:
        seconds += _REGISTRATION_RESERVE_S
    seconds *= slowdown()
    if config.timeout_seconds is not None:  # a short budget must still leave a trial its time
        seconds = min(seconds, _ESSENTIAL_SHARE * config.timeout_seconds)
    return seconds


def minimum_timeout_seconds(data: TrainingData) -> float:
    """The smallest time budget that leaves room for one baseline trial and logging its model:
    starting a trial worker and the MLflow run, the trial, the refit, logging the model (see
    ``_MINIMUM_BUDGET_S``), plus the first trial's fit on this many rows."""
    cells = len(data.final_rows) * max(1, data.X.shape[1])
    # To a tenth of a second: a 10 s budget on a small table is not refused by 0.0002 s.
    return round(_MINIMUM_BUDGET_S + cells / _BASELINE_CELLS_PER_SECOND, 1)


def _check_minimum_budget(config: AutoMLConfig, data: TrainingData) -> None:
    """Refuses, before any MLflow run exists, a time budget too small for even one model."""
    if config.timeout_seconds is None:
        return
    minimum = minimum_timeout_seconds(data)
    if config.timeout_seconds < minimum:
        raise AutoMLConfigError(
            f"The time budget of {config.timeout_seconds:g} s (experiment_timeout_minutes="
            f"{config.timeout_seconds / 60:g}) is too small: one baseline trial and logging its "
            f"model need at least {minimum:.0f} s for {len(data.final_rows)} rows x "
            f"{data.X.shape[1]} columns; set experiment_timeout_minutes to at least "
            f"{math.ceil(minimum / 6) / 10:g}."
        )


def _guardrail_frame(rows: list[Guardrail]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "name": r.name,
                "status": r.status,
                "description": r.description,
                "details": str(r.details),
            }
            for r in rows
        ],
        columns=["name", "status", "description", "details"],
    )


def _budget_text(config: AutoMLConfig) -> str:
    parts = []
    if config.timeout_seconds is not None:
        parts.append(f"{config.timeout_seconds:.0f} s")
    if config.iterations is not None:
        parts.append(f"{config.iterations} iterations")
    if config.experiment_exit_score is not None:
        parts.append(f"exit score {config.experiment_exit_score}")
    return ", ".join(parts) or "until the score stops improving"


def _best_text(result: SearchResult, metric: str) -> str:
    if result.best is None:
        return "-"
    b = result.best
    return f"iteration {b.iteration} {b.pipeline}: {metric} = {b.score:.4f}"


def _configure_logging(config: AutoMLConfig) -> logging.Handler | None:
    package_logger = logging.getLogger("mlflow_automl")
    level = config.verbosity
    package_logger.setLevel(level if isinstance(level, int) else level.upper())
    if not config.debug_log:
        return None
    from pathlib import Path

    path = Path(config.path or ".") / config.debug_log
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.DEBUG)
    return handler
