"""The search loop: ask the proposer, run trials on the executor, record each outcome, stop
when the budget says so (or on a signal)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from mlflow_automl.leaderboard import Leaderboard, LeaderboardEntry
from mlflow_automl.learners import get_learner
from mlflow_automl.model import describe_pipeline
from mlflow_automl.search.budget import Budget
from mlflow_automl.search.proposer import Proposer
from mlflow_automl.search.record import IterationRecorder
from mlflow_automl.stops import StopRequested, StopSignals


@dataclass
class SearchResult:
    leaderboard: Leaderboard
    stop_reason: str

    @property
    def best(self) -> LeaderboardEntry | None:
        return self.leaderboard.best


def run_search(
    config: Any,  # AutoMLConfig
    proposer: Proposer,
    budget: Budget,
    recorder: IterationRecorder,
    executor: Any,  # TrialExecutor, already started, running the first trial
    reserve_for: Callable[[Leaderboard], float],
    stop: StopSignals | None = None,
    prior: Any = None,  # resume.Prior: a continued experiment's earlier iterations
) -> SearchResult:
    """Runs trials until the budget, the proposer or ``stop`` ends the search; after each
    outcome the budget's reserve is re-estimated (``reserve_for``) from the leaderboard."""
    leaderboard = recorder.leaderboard
    for entry in prior.entries if prior else []:  # known (and told to the proposer)
        leaderboard.add(entry)
    run_ids: dict[int, Future] = {}  # iteration -> its child run id, written in the background
    n_started = executor.n_running  # the baseline, started before the MLflow run existed
    stop_reason = ""
    stop = stop or StopSignals()
    with executor:
        while True:
            stop_reason, n_started = _start_trials(
                config, proposer, budget, executor, stop, n_started
            )
            if executor.n_running == 0:
                break
            for outcome in _wait(executor, budget, stop):
                spec = outcome.spec
                pipeline = describe_pipeline(get_learner(spec.learner, config.task))
                entry, run_ids[spec.iteration] = recorder.add_trial(
                    outcome, config.metric, pipeline
                )
                proposer.tell(spec, entry.score, outcome.duration)
                budget.record(entry.score)
                budget.learners_improving = proposer.improving
                budget.reserve_seconds = reserve_for(leaderboard)
    recorder.tracker.flush(deadline=budget.deadline)  # later, what is left goes to the journal
    for entry in leaderboard.entries:
        if entry.iteration in run_ids:
            entry.run_id = run_ids[entry.iteration].result()
    if not stop_reason:
        stop_reason = budget.stop_reason(n_started) or "search finished"
    return SearchResult(leaderboard=leaderboard, stop_reason=stop_reason)


def _start_trials(
    config: Any,
    proposer: Proposer,
    budget: Budget,
    executor: Any,
    stop: StopSignals,
    n_started: int,
) -> tuple[str, int]:
    """Fills the executor's free slots; returns (why the search stops or "", trials started)."""
    while executor.n_running < executor.max_concurrency:
        stop_reason = stop.reason or budget.stop_reason(n_started) or ""
        if stop_reason:
            return stop_reason, n_started
        spec = proposer.ask()
        try:
            with stop.interruptible():  # a worker's start, or an in-process trial
                executor.submit(spec, budget.search_deadline, config.iteration_timeout_seconds)
        except StopRequested:
            continue  # the check above ends it
        n_started += 1
    return "", n_started


def _wait(executor: Any, budget: Budget, stop: StopSignals) -> list[Any]:
    """The next finished outcomes; running trials are cancelled on a stop or at the deadline."""
    deadline = budget.search_deadline
    outcomes = executor.wait(timeout=None if deadline is None else max(0.0, deadline - time.time()))
    if stop.requested:  # kills the running trials' process groups
        outcomes += executor.cancel_all(stop.reason)
    elif deadline is not None and time.time() >= deadline:
        outcomes += executor.cancel_all("stopped at the experiment timeout")
    return outcomes
