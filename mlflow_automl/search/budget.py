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
from typing import Any

from mlflow_automl.config import AutoMLConfigError
from mlflow_automl.evaluation.metrics import greater_is_better, improves, is_better

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
    # Whether some learner still gains (the proposer's plateau rule, set by the search loop).
    # With a time budget a plateau ends the search only once none does: at 60 s on the
    # regression suite, stopping at the first flat quarter left 0.7 points of r2 on concrete
    # and 0.3 on computers that the rest of the budget found.
    learners_improving: bool = False
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

    @classmethod
    def for_config(
        cls, config: Any, reserve: Reserve, iterations: int | None, n_learners: int, started: float
    ) -> Budget:
        """The budget of an ``AutoMLConfig``: ``iterations`` left for the search (ensembles
        take the last ones), early stopping not before each learner had 1.5 trials."""
        return cls(
            metric=config.metric,
            timeout_seconds=config.timeout_seconds,
            iterations=iterations,
            exit_score=config.experiment_exit_score,
            early_stopping=config.enable_early_stopping,
            early_stopping_n_iters=config.early_stopping_n_iters,
            min_iterations_before_early_stop=math.ceil(n_learners * 1.5),
            started_at=started,
            reserve_seconds=reserve.fixed(),
            essential_reserve_seconds=reserve.essential(),
        )

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
        if improves(self.metric, score, self._best):  # the first score always does
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
            and not (self.timeout_seconds is not None and self.learners_improving)
        ):
            return f"early stopping: no improvement in {self.early_stopping_n_iters} iterations"
        return None

    @property
    def early_stopping_patience_seconds(self) -> float:
        """How long the score must have been flat before early stopping may end the search."""
        if self.timeout_seconds is None:
            return 0.0
        return self.early_stopping_patience_fraction * self.timeout_seconds


# --- the reserve: time kept back from the search for the work after it ---------------------------
# Logging the best model (signature, input example, code, explicit requirements: 0.1-0.4 s), the
# tables, registration and closing the run.
MODEL_LOGGING_RESERVE_S = 1.5
REGISTRATION_RESERVE_S = 0.5
# Optional work, skipped when its time is not there: the explanation (0.3-0.6 s measured), more
# charts, and scoring each ensemble from stored predictions (selection 0.1-0.4 s, stacking CV up
# to ~1 s). It may take at most this share of a budget.
EXPLANATION_RESERVE_S = 1.0
ENSEMBLE_RESERVE_S = 1.0
OPTIONAL_SHARE = 0.2
ESSENTIAL_SHARE = 0.25
# When ensembles may win, the refit reserve covers the best few iterations together.
ENSEMBLE_REFIT_MEMBERS = 5
# The smallest budget (minimum_timeout_seconds). Measured: a whole one-trial experiment on
# penguins took 6.8-7.6 s at load 4 on 2 cores, ~4 s of it creating a new SQLite store and the
# run; the baseline's fit grows with the cells of the table: ElasticNet's low-cost point on
# 180k x 30 (diamonds resampled) fitted in 6-13 s on the busy machine, ~0.5-1M cells/s.
MINIMUM_BUDGET_S = 10.0
BASELINE_CELLS_PER_SECOND = 500_000


@dataclass(frozen=True)
class Reserve:
    """The reserve policy: seconds kept back from the search for the work after it.

    What must happen (logging the model, registering it, the best model's charts) is kept in
    full, scaled by how busy the machine is; optional work (ensembles, the explanation) up to
    :data:`OPTIONAL_SHARE` of the budget, so that a short experiment still searches. The refit
    of the final model is estimated from the trials (``final_fit``) and added by the caller.
    """

    timeout_seconds: float | None
    chart_set_seconds: float  # the best model's charts, always drawn (quiet machine)
    registers: bool = False
    explains: bool = False
    n_ensembles: int = 0

    @classmethod
    def for_config(cls, config: Any, chart_set_seconds: float, n_ensembles: int) -> Reserve:
        """The reserve of an ``AutoMLConfig``."""
        return cls(
            timeout_seconds=config.timeout_seconds,
            chart_set_seconds=chart_set_seconds,
            registers=bool(config.registered_model_name),
            explains=bool(config.model_explainability),
            n_ensembles=n_ensembles,
        )

    @property
    def refit_members(self) -> int:
        """How many of the best iterations the refit reserve covers."""
        return ENSEMBLE_REFIT_MEMBERS if self.n_ensembles else 1

    def essential(self) -> float:
        """Logging the model (and registering it when asked): measured on a quiet machine,
        scaled by how busy the machine is now; a short budget must still leave a trial time."""
        seconds = MODEL_LOGGING_RESERVE_S + (REGISTRATION_RESERVE_S if self.registers else 0.0)
        seconds *= slowdown()
        if self.timeout_seconds is not None:
            seconds = min(seconds, ESSENTIAL_SHARE * self.timeout_seconds)
        return seconds

    def fixed(self) -> float:
        """What does not depend on the best model: the essential work, the best model's charts
        and the optional work (capped by its share of the budget)."""
        explain = EXPLANATION_RESERVE_S if self.explains else 0.0
        optional = explain + ENSEMBLE_RESERVE_S * self.n_ensembles
        if self.timeout_seconds is not None:
            optional = min(optional, OPTIONAL_SHARE * self.timeout_seconds)
        return self.essential() + self.chart_set_seconds * slowdown() + optional

    def after_search(self, refit_seconds: float) -> float:
        """Everything after the search, given the expected refit of the final model."""
        return self.fixed() + refit_seconds


def minimum_timeout_seconds(data: Any) -> float:
    """The smallest time budget that leaves room for one baseline trial and logging its model
    (``data`` a ``TrainingData``): starting a trial worker and the MLflow run, the trial, the
    refit, logging the model (see :data:`MINIMUM_BUDGET_S`), plus the first trial's fit on this
    many rows."""
    cells = len(data.final_rows) * max(1, data.X.shape[1])
    # To a tenth of a second: a 10 s budget on a small table is not refused by 0.0002 s.
    return round(MINIMUM_BUDGET_S + cells / BASELINE_CELLS_PER_SECOND, 1)


def check_minimum_budget(timeout_seconds: float | None, data: Any) -> None:
    """Refuses, before any MLflow run exists, a time budget too small for even one model."""
    if timeout_seconds is None:
        return
    minimum = minimum_timeout_seconds(data)
    if timeout_seconds < minimum:
        raise AutoMLConfigError(
            f"The time budget of {timeout_seconds:g} s (experiment_timeout_minutes="
            f"{timeout_seconds / 60:g}) is too small: one baseline trial and logging its "
            f"model need at least {minimum:.0f} s for {len(data.final_rows)} rows x "
            f"{data.X.shape[1]} columns; set experiment_timeout_minutes to at least "
            f"{math.ceil(minimum / 6) / 10:g}."
        )
