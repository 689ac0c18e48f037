"""The final model within the time left: a refit on all final rows when it fits, else a fallback.

The refit's cost is estimated from measurement: each trial records its mean fit time per split
(measured under the same load), scaled by the rows the refit sees. Where it is worth a process
start (``killable``, and an estimate above :data:`PROCESS_START_S`), the refit runs in a process
of its own (``executors/killable.py``) that is killed at its deadline, so the estimate only
decides whether to try (unpadded); otherwise it runs here, bounded by the estimate with a 1.5x
margin (1.2x when every fit is one a trial measured: a holdout's refit, fold models). The
refit's deadline leaves the cheapest fallback its time (:func:`fallback_seconds`).

When the refit is not tried or is stopped, the fallback is the best configuration fitted on its
own first training split: the very fit its trial measured, so its cost is known, not guessed
(an ensemble falls back to its best single member the same way). When even that does not fit,
the best-ranked iteration whose split fit does (the first trial is a cheap baseline) is used,
and when none does (a train/validation split's training rows are the final rows), the cheapest
iteration is fitted on a random sample of its split sized to the time left (at least 1,000
rows).
Forecasting has no split fallback (a forecaster fitted on an earlier window would forecast from
the wrong origin): it falls back to the best iteration whose refit on all rows fits.

With ``final_model='fold_models'`` (or ``'auto'`` under cross-validation) the final model is
not one refit but the best configuration fitted on each validation fold's training rows, the
fold models averaged (AutoGluon's bagging): its cost is the trial's own measured fits, and a
voting ensemble's members are averaged over their folds the same way. A stack ensemble's
members are refit on all rows as before: its meta-learner combines one model per member.

Which was used is the ``automl.final_model_fit`` tag of the AutoML run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlflow_automl.data import TrainingData
from mlflow_automl.ensemble import VotingEnsemble
from mlflow_automl.ensemble.iterations import VOTING, fit_ensemble, is_ensemble
from mlflow_automl.executors.killable import CallStopped, NotPicklable, call_before
from mlflow_automl.leaderboard import Leaderboard, LeaderboardEntry
from mlflow_automl.search import Budget
from mlflow_automl.search.budget import OPTIONAL_SHARE, Reserve, slowdown
from mlflow_automl.tasks import get_task

logger = logging.getLogger("mlflow_automl")

# Margin on a refit estimated from a split's measured fit time scaled to more rows, when the
# refit runs here and cannot be stopped.
REFIT_MARGIN = 1.5
# Margin on a fit of the same rows a trial measured.
SPLIT_FIT_MARGIN = 1.2
# The fewest rows the last-resort fallback fits on.
MIN_SAMPLE_ROWS = 1000
# Seconds to start the refit's process and load the package and the data in it, on a quiet
# machine (measured: 1.2 s for an interpreter, 2.8 s with the package's imports); scaled by
# slowdown(). A refit expected to take less runs here: a process would cost more than it saves.
PROCESS_START_S = 3.0
# At most this much (on a quiet machine) is kept back for the fallback after a stopped refit.
FALLBACK_S = 2.0


FOLD_MODELS, AUTO = "fold_models", "auto"


def uses_fold_models(config: Any, data: TrainingData) -> bool:
    """Whether the final model is the validation folds' models averaged (``final_model``)."""
    cross_validated = data.strategy.kind == "cross_validation" and len(data.splits) > 1
    return (
        config.final_model in (FOLD_MODELS, AUTO)
        and cross_validated
        and get_task(config.task).split_fallback
    )


def training_row_sets(config: Any, data: TrainingData) -> list[np.ndarray]:
    """The rows of each fit the final model is made of: all final rows once (a refit), or
    each validation fold's training rows (the fold models)."""
    if uses_fold_models(config, data):
        return [train for train, _ in data.splits]
    return [data.final_rows]


def fit_on_row_sets(
    config: Any,
    data: TrainingData,
    entry: LeaderboardEntry,
    fit: Callable[[LeaderboardEntry, np.ndarray], Any],
    row_sets: list[np.ndarray],
) -> Any:
    """``entry``'s final model: one fit on the only row set (a refit), or one per row set
    (the fold models), averaged with equal weights."""
    if len(row_sets) == 1:
        return fit(entry, row_sets[0])
    folds = [(entry.learner, fit(entry, rows)) for rows in row_sets]
    return VotingEnsemble.from_fitted(folds, [1.0] * len(folds), config.task, data.n_classes)


def margin_for(data: TrainingData, row_sets: list[np.ndarray]) -> float:
    """:data:`SPLIT_FIT_MARGIN` when every fit is one a trial measured (a holdout's refit is
    on its training split; fold models are on the folds'), else :data:`REFIT_MARGIN` for a
    refit extrapolated to more rows."""
    trained = [train for train, _ in data.splits]
    measured = all(any(np.array_equal(rows, t) for t in trained) for rows in row_sets)
    return SPLIT_FIT_MARGIN if measured else REFIT_MARGIN


@dataclass
class FinalFit:
    """The fitted final pipeline, the iteration it comes from, and how it was fitted."""

    entry: LeaderboardEntry
    pipeline: Any
    how: str


def refit_seconds(
    entry: LeaderboardEntry,
    data: TrainingData,
    margin: float = REFIT_MARGIN,
    row_sets: list[np.ndarray] | None = None,
) -> float:
    """Estimated seconds to fit ``entry``'s final model (times ``margin``): on every final row,
    or on each of ``row_sets`` (``training_row_sets``), from its trial's measured split fits."""
    n_fit_rows = max(1, len(data.splits[0][0]))
    rows = len(data.final_rows) if row_sets is None else sum(len(r) for r in row_sets)
    return margin * entry.fit_seconds * rows / n_fit_rows


def fallback_seconds(config: Any, leaderboard: Leaderboard, data: TrainingData) -> float:
    """What a fallback needs after a stopped refit: kept back from the refit's deadline. The
    cheapest split fit, at most :data:`FALLBACK_S` (scaled by the load): the last resort fits
    a sample sized to the time left. Forecasting has no such sample: its cheapest refit."""
    singles = [e for e in leaderboard.ranked() if not is_ensemble(e)]
    if not singles:
        return 0.0
    if not get_task(config.task).split_fallback:
        return min(refit_seconds(e, data) for e in singles)
    cheapest = min(SPLIT_FIT_MARGIN * e.fit_seconds for e in singles)
    return min(cheapest, FALLBACK_S * slowdown())


def refit_reserve(
    config: Any,
    leaderboard: Leaderboard,
    data: TrainingData,
    n_members: int,
    killable: bool,
    extra_cap: float | None = None,
) -> float:
    """Seconds the search leaves for the final refit: the best iteration's, plus (when an
    ensemble may win) the next ``n_members - 1``'s, at most ``extra_cap`` seconds for those: an
    ensemble refit gathers members only until its deadline, so they are optional. A refit
    that runs in a process stopped at its deadline needs its plain estimate, the process's
    start and the fallback's time; one that runs here, its estimate with the 1.5x margin."""
    ranked = [e for e in leaderboard.ranked() if not is_ensemble(e)][:n_members]
    if not ranked:
        return 0.0
    start = PROCESS_START_S * slowdown()
    row_sets = training_row_sets(config, data)
    in_process = not killable or refit_seconds(ranked[0], data, 1.0, row_sets) <= start
    margin = margin_for(data, row_sets) if in_process else 1.0
    first, *others = (refit_seconds(e, data, margin, row_sets) for e in ranked)
    extra = sum(others) if extra_cap is None else min(sum(others), extra_cap)
    if in_process:
        return first + extra
    return first + extra + start + fallback_seconds(config, leaderboard, data)


class _Refit:
    """Runs a refit here or in a process killed at the refit's deadline (see the module
    docstring); ``why`` says why the last one did not return a model."""

    def __init__(
        self,
        config: Any,
        leaderboard: Leaderboard,
        data: TrainingData,
        budget: Budget,
        reserve: float,
        killable: bool,
        n_threads: int,
    ) -> None:
        self.budget, self.reserve, self.killable, self.n_threads = (
            budget,
            reserve,
            killable,
            n_threads,
        )
        self.floor = fallback_seconds(config, leaderboard, data) if killable else 0.0
        self.why = ""
        self.where = ""  # " in a process of its own" once a refit ran in one

    def _in_process(self, estimate: float) -> bool:
        return not self.killable or estimate <= PROCESS_START_S * slowdown()

    def fits(self, estimate: float, margin: float) -> bool:
        """Whether a refit estimated (unpadded) at ``estimate`` seconds is worth trying;
        ``margin`` pads it where it runs here (``margin_for``)."""
        if self._in_process(estimate):
            return self.budget.fits(margin * estimate, self.reserve)
        start = PROCESS_START_S * slowdown()
        return self.budget.fits(estimate + start, self.reserve + self.floor)

    def run(self, work: Callable[[], Any], estimate: float, margin: float) -> Any | None:
        """``work()``, or None when it was stopped at the deadline (``why`` says so)."""
        if self._in_process(estimate):
            return work()
        started = time.time()
        try:
            fitted = call_before(work, self._deadline, self.n_threads)
            self.where = " in a process of its own"
            return fitted
        except NotPicklable as exc:
            logger.info("final model: refit here, not in a process of its own: %s", exc)
            return work() if self.budget.fits(margin * estimate, self.reserve) else None
        except CallStopped:
            self.why = (
                f"stopped at the deadline after {time.time() - started:.1f} s "
                f"(expected ~{estimate:.1f} s)"
            )
            logger.warning("final model: the refit was %s; using a fallback", self.why)
            return None

    def _deadline(self) -> float | None:
        deadline = self.budget.deadline  # read again: a stop signal moves it
        return None if deadline is None else deadline - self.reserve - self.floor


def fit_final(
    config: Any,
    data: TrainingData,
    leaderboard: Leaderboard,
    budget: Budget,
    reserve: float,
    fit: Callable[[LeaderboardEntry, np.ndarray], Any],
    killable: bool = False,
    n_threads: int = 1,
    plan: Any = None,
) -> FinalFit:
    """Fits the final model so that it ends ``reserve`` seconds before the budget's deadline
    (what logging the model needs). ``fit(entry, rows)`` fits ``entry``'s configuration on
    ``rows`` and returns the fitted pipeline; with ``killable`` a refit worth a process start
    runs in a process stopped at the deadline (``fit`` must then be picklable by cloudpickle,
    else it runs here), with ``n_threads`` OpenMP threads. ``plan`` featurizes the features of
    a stack that sees them (``stack_passthrough``)."""
    best = leaderboard.best
    final_rows = data.final_rows
    n_rows = len(final_rows)
    refit = _Refit(config, leaderboard, data, budget, reserve, killable, n_threads)
    if is_ensemble(best):
        done = _refit_ensemble(config, data, leaderboard, budget, reserve, fit, refit, plan)
        if done is not None:
            return done
        best = next(e for e in leaderboard.ranked() if not is_ensemble(e))
    row_sets = training_row_sets(config, data)
    estimate = refit_seconds(best, data, 1.0, row_sets)
    margin = margin_for(data, row_sets)
    done, attempt = f"refit on all {n_rows} rows", f"a refit on all {n_rows} rows"
    if len(row_sets) > 1:
        done = f"its {len(row_sets)} fold models averaged"
        attempt = f"fitting its {len(row_sets)} fold models"
    if refit.fits(estimate, margin):
        pipeline = refit.run(
            lambda: fit_on_row_sets(config, data, best, fit, row_sets), estimate, margin
        )
        if pipeline is not None:
            return FinalFit(best, pipeline, f"{done}{refit.where}")
        why = f"{attempt} was {refit.why}"
    else:
        left = budget.seconds_left(reserve)
        why = f"{attempt} (~{margin * estimate:.1f} s) did not fit in the {left:.1f} s left"
        logger.warning("final model: %s; using a fallback", why)
    return _fallback(config, data, leaderboard, budget, reserve, fit, best, why)


def _refit_ensemble(
    config: Any,
    data: TrainingData,
    leaderboard: Leaderboard,
    budget: Budget,
    reserve: float,
    fit: Callable[[LeaderboardEntry, np.ndarray], Any],
    refit: _Refit,
    plan: Any = None,
) -> FinalFit | None:
    """The best (an ensemble) with its members refit on all rows; None, with a skip that
    says why, when that cannot finish in time (the best single member is used then)."""
    best, final_rows = leaderboard.best, data.final_rows
    members = _members(leaderboard, best)
    # A stack's meta-learner combines one model per member: its members are refit.
    voting = best.params["kind"] == VOTING
    row_sets = training_row_sets(config, data) if voting else [final_rows]
    first_member = refit_seconds(members[0], data, 1.0, row_sets) if members else 0.0
    margin = margin_for(data, row_sets)
    if refit.fits(first_member, margin):
        deadline = refit._deadline()
        params = best.params

        def refit_ensemble() -> Any:
            return fit_ensemble(
                config,
                data,
                leaderboard,
                params,
                lambda entry: fit_on_row_sets(config, data, entry, fit, row_sets),
                deadline,
                lambda entry: refit_seconds(entry, data, margin, row_sets),
                plan,
            )

        pipeline = refit.run(refit_ensemble, first_member, margin)
        if pipeline is not None:
            n_fitted = len(pipeline.members)
            how = f" refit on all {len(final_rows)} rows"
            if len(row_sets) > 1:
                how, pipeline = f", each its {len(row_sets)} fold models averaged", pipeline.flat()
            return FinalFit(
                best, pipeline, f"{best.learner}: {n_fitted} member(s){how}{refit.where}"
            )
        why = f"its refit was {refit.why}"
    else:
        why = (
            f"its first member's refit (~{margin * first_member:.1f} s) did not fit in "
            f"the {budget.seconds_left(reserve):.1f} s left"
        )
    budget.skip(f"{best.learner} refit", f"{why}; its best single member is used")
    return None


def _fallback(
    config: Any,
    data: TrainingData,
    leaderboard: Leaderboard,
    budget: Budget,
    reserve: float,
    fit: Callable[[LeaderboardEntry, np.ndarray], Any],
    best: LeaderboardEntry,
    why: str,
) -> FinalFit:
    """A model without the refit of ``best`` (``why`` says what stopped it): another iteration
    refit where the task forbids split fits (forecasting), else the fastest iteration that fits
    in the time left on its first training split, or on a sample of it sized to the time."""
    left = budget.seconds_left(reserve)
    final_rows, n_rows = data.final_rows, len(data.final_rows)
    singles = [e for e in leaderboard.ranked() if not is_ensemble(e)]
    if not get_task(config.task).split_fallback:
        chosen = next((e for e in singles if budget.fits(refit_seconds(e, data), reserve)), None)
        chosen = chosen or min(singles, key=lambda e: e.fit_seconds)
        return FinalFit(
            chosen,
            fit(chosen, final_rows),
            f"iteration {chosen.iteration} ({chosen.learner}) refit on all {n_rows} rows: "
            f"for iteration {best.iteration}, {why}",
        )
    split_rows = data.splits[0][0]
    chosen = next(
        (e for e in singles if budget.fits(SPLIT_FIT_MARGIN * e.fit_seconds, reserve)), None
    )
    if chosen is not None:
        return FinalFit(
            chosen,
            fit(chosen, split_rows),
            f"iteration {chosen.iteration} ({chosen.learner}) fitted on its first training "
            f"split ({len(split_rows)} rows), not refit: {why}",
        )
    # Not even a measured split fit fits: the cheapest iteration on a random share of its
    # split, sized to the time left (fit time taken as linear in rows), so a model comes back.
    chosen = min(singles, key=lambda e: e.fit_seconds)
    share = max(0.0, left) / max(SPLIT_FIT_MARGIN * chosen.fit_seconds, 1e-9)
    n_sample = min(len(split_rows), max(MIN_SAMPLE_ROWS, int(share * len(split_rows))))
    rng = np.random.default_rng(config.random_seed)
    sample = np.sort(rng.choice(split_rows, size=n_sample, replace=False))
    return FinalFit(
        chosen,
        fit(chosen, sample),
        f"iteration {chosen.iteration} ({chosen.learner}) fitted on {n_sample} sampled rows of "
        f"its first training split, not refit: {why}",
    )


def _members(leaderboard: Leaderboard, ensemble: LeaderboardEntry) -> list[LeaderboardEntry]:
    by_iteration = {e.iteration: e for e in leaderboard.entries}
    return [by_iteration[i] for i in ensemble.params.get("members", []) if i in by_iteration]


def killable_refit(config: Any) -> bool:
    """Whether the final refit may run in a process stopped at the deadline: not where the user
    asked for everything in this process (``inprocess``: debugging, no child processes)."""
    return config.compute_target != "inprocess"


def refit_reserve_for(
    config: Any, leaderboard: Leaderboard, data: TrainingData, reserve: Reserve
) -> float:
    """Time to keep for refitting the final model on all final rows: the best iteration, or,
    when ensembles may win, the best few together, their extra members being optional work
    (``final_fit.refit_reserve``)."""
    cap = None if reserve.timeout_seconds is None else OPTIONAL_SHARE * reserve.timeout_seconds
    killable = killable_refit(config)
    return refit_reserve(config, leaderboard, data, reserve.refit_members, killable, cap)


def ensemble_deadline(
    config: Any, leaderboard: Leaderboard, data: TrainingData, reserve: Reserve, budget: Budget
) -> float | None:
    """Ensembles are optional: they must leave the time the refit and logging need."""
    if budget.deadline is None:
        return None
    refit = refit_reserve_for(config, leaderboard, data, reserve)
    return budget.deadline - refit - budget.essential_reserve_seconds - reserve.chart_set_seconds
