"""Charts and explanations after the search: what the MLflow UI shows for each model.

Which runs get charts: the best iteration (on its child run and on the AutoML run), then the
next ``CHARTED_RUNS - 1`` best iterations while the time budget lasts. Charts are drawn from the
validation / out-of-fold predictions the search kept, so no model is refit for them. Other
iterations whose predictions are still in memory get theirs on request
(``AutoMLRun.log_charts(iteration)``).

Explanations (``model_explainability=True``): feature importance of the refit best model, raw and
engineered, as tables and charts on the AutoML run. Rows used: the validation rows for a
train/validation split (held out from the final model), otherwise a sample of the training rows
(in-sample: the final model was refit on every row).
"""

from __future__ import annotations

import logging
import time
from contextlib import suppress
from typing import Any

import numpy as np

from mlflow_automl import tracking
from mlflow_automl.data import TrainingData
from mlflow_automl.insights.charts import Chart
from mlflow_automl.leaderboard import Leaderboard, LeaderboardEntry
from mlflow_automl.search.budget import Budget, slowdown
from mlflow_automl.tasks import get_task

logger = logging.getLogger(__name__)

CHARTED_RUNS = 5
EXPLANATION_DIR = "explanation"
# Measured: one chart set takes 0.4-0.5 s to draw and ~0.1 s to upload to SQLite + files.
SECONDS_PER_CHART_SET = 0.8
# Whether the first chart set still fits is judged by the slowest machine measured, where a set
# took 3.1 s quiet: a set that does not fit is only skipped, one that overruns breaks the budget
# (a 25 s budget next to four busy processes there ended 1.2 s late after a 9.7 s chart set).
# Later sets are judged by the slowest set measured in the experiment.
FIRST_CHART_SET_SECONDS = 3.1
_MIN_EXPLAIN_SECONDS = 1.0
# Logging the explanation's two tables and its charts (quiet machine).
_EXPLANATION_LOGGING_SECONDS = 0.5


class Insights:
    """Draws and logs charts and explanations for one experiment's iterations."""

    def __init__(self, task: str, data: TrainingData, tracker: tracking.ExperimentTracker):
        self.task = task
        self.data = data
        self.tracker = tracker
        self.chart_seconds: list[float] = []

    def charts(self, entry: LeaderboardEntry) -> list[Chart]:
        if entry.predictions is None:
            raise RuntimeError(
                f"iteration {entry.iteration}'s validation predictions are no longer in memory "
                "(only the best iterations' are kept, in the process that ran the experiment)."
            )
        return get_task(self.task).charts(self.data, entry.predictions)

    def log_charts(self, entry: LeaderboardEntry, also_on_parent: bool = False) -> None:
        started = time.time()
        charts = self.charts(entry)
        tracking.log_charts(entry.run_id, charts)
        if also_on_parent:
            tracking.log_charts(self.tracker.run_id, charts)
        self.chart_seconds.append(time.time() - started)

    def log_all_or_tag(
        self, leaderboard: Leaderboard, model: Any, explain: bool, budget: Budget | None = None
    ) -> None:
        """:meth:`log_all` after the model is logged and usable: a failure (a full disk, an
        unwritable artifact store) is a tag and a warning, not a FAILED run."""
        try:
            self.log_all(leaderboard, model, explain, budget)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            logger.warning("charts / explanation not logged (the model is): %s", error)
            with suppress(Exception):  # the store that refused the charts may refuse this too
                self.tracker.set_tags({tracking.TAG_INSIGHTS_ERROR: error[:5000]})

    def log_all(
        self, leaderboard: Leaderboard, model: Any, explain: bool, budget: Budget | None = None
    ) -> None:
        """Best model's charts, its explanation, then more charts while time remains. Each
        chart set and the explanation first checks that its time is there; what is left out is
        recorded in ``budget.skipped``."""
        ranked = [e for e in leaderboard.ranked() if e.predictions is not None]
        if not ranked:
            return
        budget = budget or Budget(metric="", iterations=1)  # no time limit
        if self._chart_set_fits(budget):
            self.log_charts(ranked[0], also_on_parent=True)
        else:
            budget.skip("charts", self._no_time_for("the best model's charts", budget))
        if explain and not get_task(self.task).explainable:
            # Feature importance of forecasters (lags of a recursive model, per-series
            # statistical models) is not computed yet; the tag says so instead of failing.
            self.tracker.set_tags(
                {tracking.TAG_EXPLANATION_METHOD: "not available for forecasting"}
            )
        elif explain:
            self.log_explanation(model, budget)
        for entry in ranked[1 : CHARTED_RUNS if self.chart_seconds else 1]:
            if not self._chart_set_fits(budget):
                budget.skip(
                    "charts",
                    self._no_time_for(f"charts beyond the best {len(self.chart_seconds)}", budget),
                )
                break
            self.log_charts(entry)
        if self.chart_seconds:
            self.tracker.set_tags(
                {
                    tracking.TAG_CHARTED_RUNS: len(self.chart_seconds),
                    tracking.TAG_SECONDS_PER_CHART_SET: round(
                        sum(self.chart_seconds) / len(self.chart_seconds), 3
                    ),
                }
            )

    def chart_set_seconds(self) -> float:
        """Expected seconds for one more chart set: the slowest measured in this experiment,
        else the slowest machine's quiet figure scaled by how busy the machine is."""
        if self.chart_seconds:
            return max(self.chart_seconds)
        return FIRST_CHART_SET_SECONDS * slowdown()

    def _chart_set_fits(self, budget: Budget) -> bool:
        return budget.fits(self.chart_set_seconds())

    def _no_time_for(self, what: str, budget: Budget) -> str:
        return (
            f"time budget: {what} need ~{self.chart_set_seconds():.1f} s per set, "
            f"{max(0.0, budget.seconds_left() or 0.0):.1f} s left"
        )

    def log_explanation(self, model: Any, budget: Budget | None = None) -> None:
        from mlflow_automl.insights.explain import explain_model, importance_charts

        # Its tables and charts are logged after the computation, within the budget too.
        logging_seconds = _EXPLANATION_LOGGING_SECONDS * slowdown()
        left = None if budget is None else budget.seconds_left(logging_seconds)
        if left is not None and left < _MIN_EXPLAIN_SECONDS * slowdown():
            budget.skip(
                "explanation",
                f"time budget: {max(0.0, left):.1f} s left, the explanation needs "
                f"~{_MIN_EXPLAIN_SECONDS * slowdown() + logging_seconds:.1f} s",
            )
            return
        time_limit = left
        data = self.data
        rows = data.validation_rows if data.strategy.kind != "cross_validation" else data.final_rows
        weights = None if data.sample_weight is None else data.sample_weight[rows]
        model, explained = _explainable(model)
        explanation = explain_model(
            model, data.X.iloc[rows], data.y[rows], self.task, weights, time_limit=time_limit
        )
        tables = f"{EXPLANATION_DIR}/tables"
        self.tracker.log_table(explanation.raw, f"{tables}/feature_importance_raw.json")
        self.tracker.log_table(
            explanation.engineered, f"{tables}/feature_importance_engineered.json"
        )
        tracking.log_charts(self.tracker.run_id, importance_charts(explanation), EXPLANATION_DIR)
        self.tracker.set_tags(
            {
                tracking.TAG_EXPLANATION_METHOD: explanation.method,
                tracking.TAG_EXPLAINED_MODEL: explained,
            }
        )


def _explainable(model: Any) -> tuple[Any, str]:
    """The model to explain: an ensemble is explained through its heaviest member."""
    from mlflow_automl.model import wrap_fitted

    ensemble = model.pipeline_
    if not hasattr(ensemble, "members"):
        return model, model.learner_name
    name, member = ensemble.members[int(np.argmax(ensemble.weights_))]
    classes = getattr(model, "classes_", None)
    member_model = wrap_fitted(member, model.task, classes, model.feature_columns_, name, {})
    return member_model, f"{name} (heaviest member of {model.learner_name})"
