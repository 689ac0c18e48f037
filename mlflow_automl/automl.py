"""The orchestrator: config -> data -> featurization plan -> search -> ensembles -> best model
-> insights, all in MLflow.

Kept short on purpose: each step is one call into the module that owns the concept, and what
differs between tasks is asked of the task object (``mlflow_automl/tasks/``).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from threadpoolctl import threadpool_limits

from mlflow_automl import codegen, tracking
from mlflow_automl._version import __version__
from mlflow_automl.best_model import input_kinds, log_best_model, user_input_example
from mlflow_automl.config import AutoMLConfig
from mlflow_automl.console import ConsoleReporter, best_text, budget_text
from mlflow_automl.data import TrainingData
from mlflow_automl.ensemble.iterations import (
    add_ensemble_iterations,
    enabled_ensembles,
    search_iterations,
)
from mlflow_automl.evaluation.trial import TrialContext
from mlflow_automl.executors import make_executor
from mlflow_automl.featurize import Guardrail
from mlflow_automl.featurize.guardrails import guardrail_frame
from mlflow_automl.final_fit import ensemble_deadline, refit_reserve_for
from mlflow_automl.insights import SECONDS_PER_CHART_SET, Insights
from mlflow_automl.leaderboard import Leaderboard
from mlflow_automl.learners.registry import choose_learners
from mlflow_automl.logs import configure_logging
from mlflow_automl.machine import CpuSample, free_cores
from mlflow_automl.search import Budget, Proposer
from mlflow_automl.search.budget import (
    Reserve,
    check_minimum_budget,
    minimum_timeout_seconds,
)
from mlflow_automl.search.loop import SearchResult, run_search
from mlflow_automl.search.record import IterationRecorder
from mlflow_automl.stops import (
    STOP_GRACE_SECONDS,
    StopRequested,
    StopSignals,
    cut_budget,
    stop_summary,
)
from mlflow_automl.tasks import Task, get_task

logger = logging.getLogger("mlflow_automl")

__all__ = ["ExperimentResult", "SearchResult", "minimum_timeout_seconds", "run_experiment"]


@dataclass
class _Checked:
    """Everything known before an MLflow run exists: bad input has failed by then."""

    task: Task
    data: TrainingData
    plan: Any
    learners: list[Any]
    guardrails: list[Guardrail]


@dataclass
class ExperimentResult:
    """A finished experiment: its MLflow run, and what this process still holds of it (the
    fitted best model, the leaderboard with the best iterations' validation predictions, the
    insights that can chart more of them). ``azureml.submit`` wraps it as an ``AutoMLRun``."""

    run_id: str
    model: Any
    leaderboard: Leaderboard
    insights: Insights


def run_experiment(
    config: AutoMLConfig,
    experiment_name: str | None = None,
    show_output: bool = False,
    tags: dict[str, str] | None = None,
    run_name: str | None = None,
    parent_run_id: str | None = None,
    *,
    resume: Any = None,
) -> ExperimentResult:
    """Runs the AutoML experiment described by ``config`` (``mlflow_automl.submit``).

    The experiment is one MLflow run in ``experiment_name`` (default: the active run's
    experiment, else ``"automl"``), nested under the active run when there is one in that
    experiment; every trial is a child run of it.

    SIGINT or SIGTERM during the call stops it cleanly (``mlflow_automl/stops.py``): running
    trials are killed, the best model so far is logged within a few seconds, the run ends
    KILLED, then the signal goes on to the caller's handler (``KeyboardInterrupt`` for Ctrl+C).

    ``resume`` (a ``resume.Prior``, from ``AutoMLRun.continue_experiment``) continues that
    ended run instead of starting a new one.
    """
    if not isinstance(config, AutoMLConfig):
        raise TypeError(f"submit() takes an AutoMLConfig, not {type(config).__name__}")
    started = time.time()
    cpu_at_start = CpuSample.now()  # the free cores are measured over the input checks
    stop = StopSignals()  # SIGINT / SIGTERM: a clean stop that keeps the best model
    log_handler = configure_logging(config)
    try:
        with stop, tracking.bounded_http_retries():
            checked = _check(config)
            config.available_cores = free_cores(since=cpu_at_start)
            run = _experiment(
                config,
                checked,
                started,
                stop,
                resume,
                show_output,
                experiment_name=experiment_name,
                run_name=run_name,
                parent_run_id=parent_run_id,
                tags=tags,
            )
    except BaseException:
        if stop.requested:  # handlers are back: the caller's own now decides (see stops.py)
            stop.pass_on()
        raise
    finally:
        if log_handler is not None:
            logging.getLogger("mlflow_automl").removeHandler(log_handler)
            log_handler.close()
    if stop.requested:
        stop.pass_on()
    return run


def _check(config: AutoMLConfig) -> _Checked:
    """Everything that can reject the input, before an MLflow run exists."""
    task = get_task(config.task)
    data = task.prepare_data(config)
    plan = task.plan(config, data)
    user_input_example(config, data, input_kinds(config, data, plan))
    learners = choose_learners(config, data, plan)
    guardrails = _guardrails(task, data, plan)
    check_minimum_budget(config.timeout_seconds, data)
    return _Checked(task, data, plan, learners, guardrails)


def _experiment(
    config: AutoMLConfig,
    checked: _Checked,
    started: float,
    stop: StopSignals,
    resume: Any,  # resume.Prior
    show_output: bool,
    **run_settings: Any,  # experiment_name, run_name, parent_run_id, tags
) -> ExperimentResult:
    data = checked.data
    console = ConsoleReporter(show_output, config.metric)
    reserve = Reserve.for_config(config, SECONDS_PER_CHART_SET, len(enabled_ensembles(config)))
    iterations = search_iterations(config)
    budget = Budget.for_config(config, reserve, iterations, len(checked.learners), started)
    proposer = Proposer.for_config(config, checked.learners, data, resume)
    executor, tracker = _start(config, checked, budget, proposer, stop, resume, run_settings)
    _show_start(console, tracker, config, checked)
    status, model_uri = "FAILED", None
    try:
        if resume is None:  # a continued run has them (its data was checked to be the same)
            _log_inputs(tracker, checked)
        # A stop leaves a few seconds for the best model: every later phase works to this
        # deadline (ensembles, insights and registration are skipped).
        stop.on_stop(lambda: cut_budget(budget, STOP_GRACE_SECONDS))
        recorder = IterationRecorder(
            tracker, console, budget, Leaderboard(config.task, config.metric)
        )
        result = run_search(
            config,
            proposer,
            budget,
            recorder,
            executor,
            lambda board: reserve.after_search(refit_reserve_for(config, board, data, reserve)),
            stop,
            resume,
        )
        # One BLAS thread in this process: small meta-learner and refit matrices gain nothing
        # from more, and next to busy processes spinning BLAS threads made the stack's 10-fold
        # meta-learner CV on penguins take 33-41 s instead of 3-8 s.
        with threadpool_limits(limits=1, user_api="blas"):
            run, model_uri = _after_search(
                config, checked, result, recorder, budget, reserve, stop, resume
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
        _end_run(tracker, budget, stop, status, model_uri, config)
    console.end(
        {
            "Stopped because": result.stop_reason,
            "Best": best_text(result.best, config.metric),
            "Wall time": f"{time.time() - started:.1f} s",
            "Model": model_uri or "-",
            "See it in the UI": f"mlflow ui --backend-store-uri {tracking.tracking_uri()}",
        }
    )
    return run


def _log_inputs(tracker: tracking.ExperimentTracker, checked: _Checked) -> None:
    """The training dataset and the guardrails, written while the first trial runs: nothing
    optional goes before it."""
    data = checked.data
    tracker.in_background(
        tracker.log_training_dataset, data.raw_training_frame, data.label_column, data.source
    )
    tracker.in_background(
        tracker.log_table, guardrail_frame(checked.guardrails), tracking.GUARDRAILS_FILE
    )


def _end_run(
    tracker: tracking.ExperimentTracker,
    budget: Budget,
    stop: StopSignals,
    status: str,
    model_uri: str | None,
    config: AutoMLConfig,
) -> None:
    """Ends the AutoML run with ``status`` whatever happened, the skipped work recorded."""
    if budget.skipped:
        with suppress(Exception):  # never mask the experiment's own outcome
            tracker.set_tags({tracking.TAG_SKIPPED: json.dumps(budget.skipped)})
    with stop.shielded():  # even a second signal lets the run end
        tracker.finish(status, stop_reason=stop.reason)
    if stop.requested:
        registered = bool(config.registered_model_name)
        stop.summary = stop_summary(tracker.run_id, stop.reason, model_uri, registered)


def _start(
    config: AutoMLConfig,
    checked: _Checked,
    budget: Budget,
    proposer: Proposer,
    stop: StopSignals,
    resume: Any,
    run_settings: dict[str, Any],
) -> tuple[Any, tracking.ExperimentTracker]:
    """Starts the trial workers and the first trial, a cheap baseline, at once, while MLflow
    creates the run (and a new store's tables) on another thread: both take a second or two of
    a short budget. A continued experiment reopens its own run instead."""
    executor = make_executor(
        config.compute_target,
        # Not given: the executor's default (on Ray, what the cluster's CPUs allow).
        config.max_concurrent_iterations
        if "max_concurrent_iterations" in config.given_settings
        else None,
        config.max_cores_per_iteration,
    )
    executor.wakeup_fd = stop.wakeup_fd
    executor.start(TrialContext.for_experiment(config, checked.data, checked.plan))
    tracker_started = None
    try:
        if stop.requested:  # stopped before any run exists: nothing to keep
            raise StopRequested(stop.reason)
        if resume is None:
            tracker_started = _start_tracker(config, checked.data, **run_settings)
        else:
            tracker_started = functools.partial(tracking.ExperimentTracker.reopen, resume.run_id)
        with stop.interruptible():  # a worker's start, or an in-process trial
            executor.submit(
                proposer.ask(), budget.search_deadline, config.iteration_timeout_seconds
            )
        return executor, tracker_started()
    except BaseException:
        executor.shutdown()
        if resume is None and tracker_started is not None:  # never leave the run RUNNING
            with suppress(Exception), stop.shielded():
                tracker_started().finish(
                    "KILLED" if stop.requested else "FAILED", stop_reason=stop.reason
                )
        raise


def _after_search(
    config: AutoMLConfig,
    checked: _Checked,
    result: SearchResult,
    recorder: IterationRecorder,
    budget: Budget,
    reserve: Reserve,
    stop: StopSignals,
    resume: Any,
) -> tuple[ExperimentResult, str | None]:
    """Ensembles, the best model, registration and insights; returns (result, model uri)."""
    data, tracker = checked.data, recorder.tracker
    if not stop.requested:
        add_ensemble_iterations(
            config,
            data,
            recorder,
            ensemble_deadline(config, result.leaderboard, data, reserve, budget),
            checked.plan,
        )
    if resume is not None and resume.keeps_model(result.best):
        model, model_uri = resume.keep_model(tracker, result.leaderboard, result.stop_reason)
    else:
        model, model_uri = log_best_model(config, data, checked.plan, result, tracker, budget)
    insights = Insights(config.task, data, tracker)
    run = ExperimentResult(tracker.run_id, model, result.leaderboard, insights)
    # Asked for, so before the optional insights; a stopped run is not registered.
    if config.registered_model_name and not stop.requested:
        tracking.register_best_model(
            tracker.run_id, config.registered_model_name, config.registered_model_alias
        )
    if not stop.requested:
        insights.log_all_or_tag(result.leaderboard, model, config.model_explainability, budget)
        if config.enable_code_generation:  # code/ of the best and charted runs
            charted = codegen.runs_to_code(result.leaderboard, model, len(insights.chart_seconds))
            codegen.log_code(
                config, data, checked.plan, result.leaderboard, charted, tracker.run_id, budget
            )
    return run, model_uri


def _guardrails(task: Task, data: TrainingData, plan: Any) -> list[Guardrail]:
    validation = Guardrail(
        name="Validation split handling",
        status="done",
        description=f"Validation: {data.strategy.describe()}.",
        details=data.strategy.as_params(),
    )
    return [validation, *task.guardrails(data, plan)]


def _show_start(
    console: ConsoleReporter,
    tracker: tracking.ExperimentTracker,
    config: AutoMLConfig,
    checked: _Checked,
) -> None:
    data = checked.data
    console.start(
        tracker.run_name,
        tracker.run_id,
        tracker.experiment_id,
        {
            "tracking URI": tracking.tracking_uri(),
            "rows x columns": f"{data.n_rows} x {data.X.shape[1]}",
            "validation": data.strategy.describe(),
            "learners": ", ".join(learner.name for learner in checked.learners),
            "time budget": budget_text(config),
        },
        checked.guardrails,
    )


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
    dropped = "; ".join(f"{name}: {why}" for name, why in config.dropped_settings.items())
    return tracking.ExperimentTracker.start_in_thread(
        experiment_name,
        settings=config.loggable_settings() | data.strategy.as_params(),
        tags={
            tracking.TAG_TASK: config.task,
            tracking.TAG_METRIC: config.metric,
            tracking.TAG_VERSION: __version__,
            tracking.TAG_LABEL: data.label_column,
            tracking.TAG_THREADS: f"{config.cores_per_iteration} per trial; "
            f"{config.free_cores} of {os.cpu_count()} cores free at start",
            # Settings the config dropped (with a warning), and why.
            **({tracking.TAG_DROPPED_SETTINGS: dropped} if dropped else {}),
            **(tags or {}),
        },
        run_name=run_name,
        parent_run_id=parent_run_id,
    )
