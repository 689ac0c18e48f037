"""Runs each trial in the calling process: simplest to debug, deadlines checked between splits."""

from __future__ import annotations

from mlflow_automl.evaluation.trial import TrialContext, TrialOutcome, TrialSpec, evaluate_trial
from mlflow_automl.executors.base import TrialExecutor, trial_deadline


class InProcessExecutor(TrialExecutor):
    def __init__(self, max_concurrency: int = 1) -> None:
        super().__init__(max_concurrency=1)  # one process, one trial at a time
        self._context: TrialContext | None = None
        self._pending: list[TrialOutcome] = []

    def start(self, context: TrialContext) -> None:
        self._context = context

    def submit(self, spec: TrialSpec, deadline: float | None, timeout: float | None = None) -> None:
        deadline = trial_deadline(deadline, timeout)
        self._pending.append(evaluate_trial(self._context, spec, deadline))

    def wait(self, timeout: float | None = None) -> list[TrialOutcome]:
        done, self._pending = self._pending, []
        return done

    @property
    def n_running(self) -> int:
        return len(self._pending)

    def cancel_all(self, reason: str) -> list[TrialOutcome]:
        return self.wait()

    def shutdown(self) -> None:
        self._pending = []
