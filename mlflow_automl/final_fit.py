"""The final model within the time left: a refit on all final rows when it fits, else a fallback.

The refit's cost is estimated from measurement: each trial records its mean fit time per split
(measured under the same load), scaled by the rows the refit sees (with a 1.5x margin). When the
refit cannot end before the deadline, the fallback is the best configuration fitted on its own
first training split: the very fit its trial measured, so its cost is known, not guessed (an
ensemble falls back to its best single member the same way). When even that does not fit, the
best-ranked iteration whose split fit does (the first trial is a cheap baseline) is used, and
when none does (a train/validation split's training rows are the final rows), the cheapest
iteration is fitted on a random sample of its split sized to the time left (at least 1,000
rows).
Forecasting has no split fallback (a forecaster fitted on an earlier window would forecast from
the wrong origin): it falls back to the best iteration whose refit on all rows fits.

Which was used is the ``automl.final_model_fit`` tag of the AutoML run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlflow_automl.data import TrainingData
from mlflow_automl.ensemble.iterations import fit_ensemble, is_ensemble
from mlflow_automl.leaderboard import Leaderboard, LeaderboardEntry
from mlflow_automl.search import Budget
from mlflow_automl.tasks import get_task

logger = logging.getLogger("mlflow_automl")

# Margin on a refit estimated from a split's measured fit time scaled to more rows.
REFIT_MARGIN = 1.5
# Margin on a fit of the same rows a trial measured.
SPLIT_FIT_MARGIN = 1.2
# The fewest rows the last-resort fallback fits on.
MIN_SAMPLE_ROWS = 1000


@dataclass
class FinalFit:
    """The fitted final pipeline, the iteration it comes from, and how it was fitted."""

    entry: LeaderboardEntry
    pipeline: Any
    how: str


def refit_seconds(entry: LeaderboardEntry, data: TrainingData) -> float:
    """Estimated seconds to refit ``entry`` on every final row."""
    n_fit_rows = max(1, len(data.splits[0][0]))
    return REFIT_MARGIN * entry.fit_seconds * len(data.final_rows) / n_fit_rows


def fit_final(
    config: Any,
    data: TrainingData,
    leaderboard: Leaderboard,
    budget: Budget,
    reserve: float,
    fit: Callable[[LeaderboardEntry, np.ndarray], Any],
) -> FinalFit:
    """Fits the final model so that it ends ``reserve`` seconds before the budget's deadline
    (what logging the model needs). ``fit(entry, rows)`` fits ``entry``'s configuration on
    ``rows`` and returns the fitted pipeline."""
    best = leaderboard.best
    final_rows = data.final_rows
    n_rows = len(final_rows)
    if is_ensemble(best):
        members = _members(leaderboard, best)
        first_member = refit_seconds(members[0], data) if members else 0.0
        if budget.fits(first_member, reserve):
            deadline = None if budget.deadline is None else budget.deadline - reserve
            pipeline = fit_ensemble(
                config,
                data,
                leaderboard,
                best.params,
                lambda entry: fit(entry, final_rows),
                deadline,
                lambda entry: refit_seconds(entry, data),
            )
            n_fitted = len(pipeline.members)
            return FinalFit(
                best, pipeline, f"{best.learner}: {n_fitted} member(s) refit on all {n_rows} rows"
            )
        budget.skip(
            f"{best.learner} refit",
            f"its first member's refit (~{first_member:.1f} s) did not fit in the "
            f"{budget.seconds_left(reserve):.1f} s left; its best single member is used",
        )
        best = next(e for e in leaderboard.ranked() if not is_ensemble(e))
    estimate = refit_seconds(best, data)
    if budget.fits(estimate, reserve):
        return FinalFit(best, fit(best, final_rows), f"refit on all {n_rows} rows")
    left = budget.seconds_left(reserve)
    why = f"a refit on all {n_rows} rows (~{estimate:.1f} s) did not fit in the {left:.1f} s left"
    logger.warning("final model: %s; using a fallback", why)
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
