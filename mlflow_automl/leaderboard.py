"""The leaderboard: every finished iteration, the best one, and its table form.

It also bounds memory: validation predictions (used by charts and ensembles) are kept only for
the best ``keep_predictions`` iterations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlflow_automl.evaluation.metrics import TIEBREAK_METRIC, loss, metrics_for_task
from mlflow_automl.evaluation.trial import TrialSpec


@dataclass
class LeaderboardEntry:
    iteration: int
    run_id: str
    learner: str
    pipeline: str
    status: str
    score: float | None  # the primary metric; None when the trial failed
    metrics: dict[str, float]
    params: dict[str, Any]
    duration: float
    fit_seconds: float
    origin: str
    predictions: np.ndarray | None = field(default=None, repr=False)

    def spec(self) -> TrialSpec:
        """The trial this entry ran (what a proposer is told of an earlier iteration)."""
        return TrialSpec(self.iteration, self.learner, self.params, self.origin)


class Leaderboard:
    def __init__(self, task: str, metric: str, keep_predictions: int = 20) -> None:
        self.task, self.metric = task, metric
        self.keep_predictions = keep_predictions
        self.entries: list[LeaderboardEntry] = []
        self.best: LeaderboardEntry | None = None

    @property
    def best_score(self) -> float | None:
        return None if self.best is None else self.best.score

    def rank_key(self, entry: LeaderboardEntry) -> tuple[float, float, int]:
        """Smaller is better: the primary metric, then the task's tie-break metric, then the
        earlier iteration."""
        tiebreak = TIEBREAK_METRIC[self.task]
        return (
            loss(self.metric, entry.score),
            loss(tiebreak, entry.metrics.get(tiebreak)),
            entry.iteration,
        )

    def add(self, entry: LeaderboardEntry) -> bool:
        """Adds a finished iteration; returns True when it is the new best."""
        self.entries.append(entry)
        improved = entry.score is not None and (
            self.best is None or self.rank_key(entry) < self.rank_key(self.best)
        )
        if improved:
            self.best = entry
        self._forget_old_predictions()
        return improved

    def prefer(self, entry: LeaderboardEntry) -> None:
        """Makes ``entry`` the final model although another scored better (the forecasting
        ensemble rule in ``ensemble.iterations.prefer_combination``); the ranking is unchanged."""
        if entry not in self.entries or entry.score is None:
            raise ValueError(f"iteration {entry.iteration} is not a scored entry")
        self.best = entry

    def ranked(self) -> list[LeaderboardEntry]:
        """Scored entries, best first."""
        return sorted((e for e in self.entries if e.score is not None), key=self.rank_key)

    def frame(self) -> pd.DataFrame:
        """One row per iteration, best first; failed iterations last."""
        others = [m for m in metrics_for_task(self.task) if m != self.metric]
        columns = ["iteration", "pipeline", "learner", self.metric, "status", "duration_s"]
        columns.append("run_id")
        rows = [
            {
                "iteration": e.iteration,
                "pipeline": e.pipeline,
                "learner": e.learner,
                self.metric: e.score,
                "status": e.status,
                "duration_s": round(e.duration, 3),
                "run_id": e.run_id,
                **{m: e.metrics.get(m) for m in others},
            }
            for e in sorted(self.entries, key=self.rank_key)
        ]
        return pd.DataFrame(rows, columns=columns + others)

    def _forget_old_predictions(self) -> None:
        for entry in self.ranked()[self.keep_predictions :]:
            entry.predictions = None
