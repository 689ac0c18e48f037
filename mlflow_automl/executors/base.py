"""The executor contract: start with a context, submit specs, wait for outcomes, shut down."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

from mlflow_automl.evaluation.trial import TrialContext, TrialOutcome, TrialSpec


def trial_deadline(deadline: float | None, timeout: float | None) -> float | None:
    """The earlier of ``deadline`` and ``timeout`` seconds from now."""
    limits = [d for d in (deadline, None if timeout is None else time.time() + timeout) if d]
    return min(limits) if limits else None


class TrialExecutor(ABC):
    """Runs trials. Not thread-safe: one search loop owns an executor.

    ``deadline`` values are wall-clock times (``time.time()``). An outcome is returned for every
    submitted spec: completed, failed, or timed out.
    """

    def __init__(self, max_concurrency: int = 1) -> None:
        self.max_concurrency = max_concurrency
        # When set, ``wait`` also returns (maybe with no outcome) once this file descriptor is
        # readable: a stop signal's wake-up (mlflow_automl/stops.py).
        self.wakeup_fd: int | None = None

    @abstractmethod
    def start(self, context: TrialContext) -> None:
        """Makes the data available to the workers; called once before any submit."""

    @abstractmethod
    def submit(self, spec: TrialSpec, deadline: float | None, timeout: float | None = None) -> None:
        """Starts ``spec``; only called while ``n_running < max_concurrency``. ``timeout``
        (seconds) counts from when the trial actually starts (a worker may still be importing),
        and whichever of it and ``deadline`` comes first ends the trial."""

    @abstractmethod
    def wait(self, timeout: float | None = None) -> list[TrialOutcome]:
        """Blocks until at least one trial ends, ``timeout`` seconds pass or ``wakeup_fd`` is
        readable."""

    @property
    @abstractmethod
    def n_running(self) -> int: ...

    @abstractmethod
    def cancel_all(self, reason: str) -> list[TrialOutcome]:
        """Stops every running trial; returns their (timed-out) outcomes."""

    @abstractmethod
    def shutdown(self) -> None: ...

    def __enter__(self) -> TrialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
