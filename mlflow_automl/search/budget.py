"""When the search stops: time, iterations, exit score, or no more improvement.

The clock includes everything after the search (final refit, model logging), so the search
stops early enough to leave ``reserve_seconds`` for that work. Each later phase checks
:attr:`Budget.deadline` itself; optional work that no longer fits is recorded with
:meth:`Budget.skip`, and the whole record goes to the AutoML run.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field

from mlflow_automl.evaluation.metrics import greater_is_better, is_better

# Without any limit the search would run until it stops improving; this caps it like Azure's
# default of 1000 iterations.
DEFAULT_MAX_ITERATIONS = 1000

logger = logging.getLogger("mlflow_automl")


# The load average is a minute's average (and in a container often the host's): past this
# factor it says little about the next seconds, and reserves scaled by it would eat the budget.
MAX_SLOWDOWN = 3.0


def slowdown() -> float:
    """How much slower than on a quiet machine single-threaded work runs now, from 1 to
    :data:`MAX_SLOWDOWN`: runnable processes per core over the last minute. Two busy neighbours
    on 2 cores give ~1.5; fixed costs measured on a quiet machine are multiplied by it."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        return 1.0
    return min(MAX_SLOWDOWN, max(1.0, load / (os.cpu_count() or 1)))


@dataclass
class Budget:
    metric: str
    timeout_seconds: float | None = None
    iterations: int | None = None
    exit_score: float | None = None
    early_stopping: bool = True
    early_stopping_n_iters: int = 20
    min_iterations_before_early_stop: int = 0
    # With a time budget the user has said how long they will wait, so a plateau only ends the
    # search once it has lasted this share of the budget: on the benchmark suite, plateaus of
    # 20 trials at 60 s were often followed by gains (credit, churn, cps1988).
    early_stopping_patience_fraction: float = 0.25
    started_at: float = field(default_factory=time.time)
    reserve_seconds: float = 0.0
    # Until a trial has scored, only this much is kept back: an experiment without any model
    # is worse than one whose optional work (ensembles, charts) is cut short.
    essential_reserve_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.timeout_seconds is None and self.iterations is None and self.exit_score is None:
            self.early_stopping = True  # no criterion: run until the metric stops improving
        self._best: float | None = None
        self._last_improvement = 0
        self._last_improvement_at = self.started_at
        self._completed = 0
        self.skipped: dict[str, str] = {}

    def skip(self, what: str, why: str) -> None:
        """Records optional work left out (``what``) and the reason, for the AutoML run's tag."""
        self.skipped[what] = why
        logger.info("skipped %s: %s", what, why)

    def seconds_left(self, margin: float = 0.0) -> float | None:
        """Seconds until the deadline minus ``margin`` (None without a time budget)."""
        if self.deadline is None:
            return None
        return self.deadline - margin - time.time()

    def fits(self, seconds: float, margin: float = 0.0) -> bool:
        """Whether work of ``seconds`` ends by the deadline with ``margin`` to spare."""
        left = self.seconds_left(margin)
        return left is None or seconds <= left

    @property
    def deadline(self) -> float | None:
        if self.timeout_seconds is None:
            return None
        return self.started_at + self.timeout_seconds

    @property
    def search_deadline(self) -> float | None:
        """The time trials must end by, leaving room for the refit and logging."""
        if self.deadline is None:
            return None
        if self._best is None:
            return self.deadline - min(self.reserve_seconds, self.essential_reserve_seconds)
        return self.deadline - self.reserve_seconds

    def elapsed(self) -> float:
        return time.time() - self.started_at

    def fraction_used(self) -> float | None:
        if self.timeout_seconds is None:
            return None
        return min(1.0, self.elapsed() / self.timeout_seconds)

    def record(self, score: float | None) -> bool:
        """Notes one finished trial; returns True when it improved the best score."""
        self._completed += 1
        if score is None or not math.isfinite(score):
            return False
        if self._best is None or _improves(self.metric, score, self._best):
            self._last_improvement = self._completed
            self._last_improvement_at = time.time()
            improved = True
        else:
            improved = False
        if is_better(self.metric, score, self._best):
            self._best = score
        return improved

    def can_start(self, n_started: int) -> bool:
        """Whether another trial may start now."""
        return self.stop_reason(n_started) is None

    def stop_reason(self, n_started: int) -> str | None:
        max_iterations = self.iterations or DEFAULT_MAX_ITERATIONS
        if n_started >= max_iterations:
            return f"reached iterations={max_iterations}"
        if self.search_deadline is not None and time.time() >= self.search_deadline:
            return f"reached experiment timeout ({self.timeout_seconds:.0f} s)"
        if self.exit_score is not None and self._best is not None:
            reached = (
                self._best >= self.exit_score
                if greater_is_better(self.metric)
                else self._best <= self.exit_score
            )
            if reached:
                return f"reached experiment_exit_score={self.exit_score}"
        if (
            self.early_stopping
            and self._completed >= max(self.min_iterations_before_early_stop, 1)
            and self._completed - self._last_improvement >= self.early_stopping_n_iters
            and time.time() - self._last_improvement_at >= self.early_stopping_patience_seconds
        ):
            return f"early stopping: no improvement in {self.early_stopping_n_iters} iterations"
        return None

    @property
    def early_stopping_patience_seconds(self) -> float:
        """How long the score must have been flat before early stopping may end the search."""
        if self.timeout_seconds is None:
            return 0.0
        return self.early_stopping_patience_fraction * self.timeout_seconds


def _improves(metric: str, score: float, best: float) -> bool:
    """Better by a margin that matters: tiny gains do not reset the early-stopping clock."""
    margin = 1e-4 * max(1.0, abs(best))
    shifted = best + margin if greater_is_better(metric) else best - margin
    return is_better(metric, score, shifted)
