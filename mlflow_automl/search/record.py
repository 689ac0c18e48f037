"""Each finished iteration written once, the same way for trials and ensembles: its child run,
its leaderboard entry, the AutoML run's ``best_score`` step and the console line."""

from __future__ import annotations

import logging
import math
from concurrent.futures import Future
from typing import Any

from mlflow_automl import tracking
from mlflow_automl.console import ConsoleReporter
from mlflow_automl.evaluation.trial import TrialOutcome
from mlflow_automl.leaderboard import Leaderboard, LeaderboardEntry
from mlflow_automl.search.budget import Budget

logger = logging.getLogger("mlflow_automl")


class IterationRecorder:
    """Records finished iterations into ``leaderboard``, MLflow and the console.

    During the search the child runs are written on the tracker's background thread
    (``background=True`` gives a future of the run id); ensembles, after it, directly.
    """

    def __init__(
        self,
        tracker: tracking.ExperimentTracker,
        console: ConsoleReporter,
        budget: Budget,
        leaderboard: Leaderboard,
    ) -> None:
        self.tracker = tracker
        self.console = console
        self.budget = budget
        self.leaderboard = leaderboard

    def add(
        self,
        entry: LeaderboardEntry,
        *,
        params: dict[str, Any],
        metrics: dict[str, float],
        status: str,
        started: float,
        ended: float,
        succeeded: bool,
        error: str | None = None,
        background: bool = False,
        note: str = "",
        ran_on: dict[str, str | None] | None = None,
    ) -> Future | str | None:
        """Adds ``entry`` and writes its child run; returns the run id (a future of it in the
        background; None when the run went to the journal). ``ran_on``: the node and worker
        that ran a trial, when its executor knows (Ray)."""
        tracker = self.tracker
        tags = {
            tracking.TAG_ITERATION: entry.iteration,
            tracking.TAG_LEARNER: entry.learner,
            tracking.TAG_PIPELINE: entry.pipeline,
            tracking.TAG_STATUS: status,
            tracking.TAG_ORIGIN: entry.origin,
            **({tracking.TAG_ERROR: error or None} if error is not None else {}),
            **(ran_on or {}),
        }
        write = tracker.in_background if background else _now
        run_id = write(
            tracker.log_trial,
            entry.iteration,
            params=params,
            metrics=metrics,
            tags=tags,
            started_at=started,
            ended_at=ended,
            succeeded=succeeded,
        )
        self.leaderboard.add(entry)
        best = self.leaderboard.best_score
        if best is not None:
            write(tracker.log_metrics, {tracking.BEST_SCORE_METRIC: best}, step=entry.iteration)
        self.console.trial(
            entry.iteration,
            entry.pipeline,
            entry.duration,
            entry.score,
            best,
            self.budget.fraction_used(),
            note=note,
        )
        return run_id

    def add_trial(
        self, outcome: TrialOutcome, metric: str, pipeline: str
    ) -> tuple[LeaderboardEntry, Future]:
        """A trial's outcome (failed or not): its entry, and its child run being written in the
        background (the future gives the run id)."""
        spec = outcome.spec
        score = outcome.metrics.get(metric) if outcome.ok else None
        if score is not None and not math.isfinite(score):
            score = None
        if outcome.error:
            logger.debug(
                "iteration %d (%s) %s: %s",
                spec.iteration,
                spec.learner,
                outcome.status,
                outcome.error,
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
        metrics = dict(outcome.metrics)
        if outcome.ok:
            metrics["fit_time_seconds"] = outcome.fit_seconds
        return entry, self.add(
            entry,
            params={"learner": spec.learner, **spec.params},
            metrics=metrics,
            status=outcome.status,
            started=outcome.started_at,
            ended=outcome.ended_at,
            succeeded=outcome.ok and score is not None,
            error=outcome.error or "",
            background=True,
            note="" if outcome.ok else outcome.status,
            ran_on={
                tracking.TAG_NODE_ID: outcome.node_id or None,
                tracking.TAG_WORKER_ID: outcome.worker_id or None,
            },
        )

    def add_ensemble(self, iteration: int, built: Any) -> str | None:
        """An ensemble (``ensemble.iterations.EnsembleIteration``) as iteration ``iteration``."""
        entry = LeaderboardEntry(
            iteration=iteration,
            run_id="",
            learner=built.kind,
            pipeline=built.kind,
            status="completed",
            score=built.metrics.get(self.budget.metric),
            metrics=built.metrics,
            params=built.spec,
            duration=built.ended - built.started,
            fit_seconds=0.0,
            origin="ensemble",
            predictions=built.predictions,
        )
        entry.run_id = self.add(
            entry,
            params=built.params,
            metrics=built.metrics,
            status="completed",
            started=built.started,
            ended=built.ended,
            succeeded=True,
        )
        return entry.run_id


def _now(write: Any, *args: Any, **kwargs: Any) -> Any:
    return write(*args, **kwargs)
