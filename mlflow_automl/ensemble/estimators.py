"""The ensemble estimators: soft voting and two-layer stacking over fitted pipelines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from mlflow_automl.ensemble.selection import _normalised
from mlflow_automl.ensemble.stacking import stack_features
from mlflow_automl.evaluation.metrics import CLASSIFICATION
from mlflow_automl.model import predict_scores


class _EnsembleBase(BaseEstimator):
    """Shared interface: fitted ``(name, pipeline)`` members in, raw feature frames in.

    Usable in place of the single pipeline inside ``AutoMLClassifier`` / ``AutoMLRegressor``:
    ``predict_proba`` gives one column per class code and ``classes_`` are the codes 0..K-1.
    """

    task: str
    n_classes: int | None
    members: list[tuple[str, Any]]

    @property
    def members_(self) -> list[str]:
        """Learner names of the members, in order."""
        return [name for name, _ in self.members]

    @property
    def classes_(self) -> np.ndarray:
        if self.n_classes is None:
            raise AttributeError("a regression ensemble has no classes_")
        return np.arange(self.n_classes)

    def __sklearn_is_fitted__(self) -> bool:
        return bool(self.members)

    def _member_scores(self, X: pd.DataFrame, used: Sequence[int]) -> list[np.ndarray]:
        return [predict_scores(self.members[i][1], X, self.n_classes) for i in used]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if self.n_classes is None:
            raise AttributeError("predict_proba is only available for classification")
        return self._scores(X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        scores = self._scores(X)
        return scores if self.n_classes is None else np.argmax(scores, axis=1)

    def _scores(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError


class VotingEnsemble(_EnsembleBase):
    """Soft voting: the weighted average of the members' probabilities or predictions.

    Args:
        members: fitted ``(learner name, pipeline)`` pairs.
        weights: one non-negative weight per member; normalised to sum to 1 in ``weights_``.
        task: ``"classification"``, ``"regression"`` or ``"forecasting"``.
        n_classes: number of class codes (classification only).
    """

    def __init__(
        self,
        members: list[tuple[str, Any]] | None = None,
        weights: Sequence[float] | None = None,
        task: str = CLASSIFICATION,
        n_classes: int | None = None,
    ) -> None:
        self.members = members
        self.weights = weights
        self.task = task
        self.n_classes = n_classes

    @property
    def weights_(self) -> np.ndarray:
        return _normalised(self.weights, len(self.members))

    def _scores(self, X: pd.DataFrame) -> np.ndarray:
        weights = self.weights_
        used = np.flatnonzero(weights > 0)
        scores = self._member_scores(X, used)
        return sum(w * s for w, s in zip(weights[used], scores))


class StackEnsemble(_EnsembleBase):
    """Two layers: the members' predictions feed a fitted meta-learner.

    Args:
        members: fitted ``(learner name, pipeline)`` pairs, in the order the meta-learner's
            features were built (:func:`stack_features`).
        meta_learner: the fitted meta-learner from :func:`fit_stack`.
        task: ``"classification"``, ``"regression"`` or ``"forecasting"``.
        n_classes: number of class codes (classification only).
    """

    def __init__(
        self,
        members: list[tuple[str, Any]] | None = None,
        meta_learner: BaseEstimator | None = None,
        task: str = CLASSIFICATION,
        n_classes: int | None = None,
    ) -> None:
        self.members = members
        self.meta_learner = meta_learner
        self.task = task
        self.n_classes = n_classes

    @property
    def weights_(self) -> np.ndarray:
        """Equal nominal weights: the meta-learner, not a weight, combines the members."""
        return np.full(len(self.members), 1.0 / len(self.members))

    def _scores(self, X: pd.DataFrame) -> np.ndarray:
        features = stack_features(self._member_scores(X, range(len(self.members))), self.task)
        # predict_scores pads classes the meta-learner never saw, as for any pipeline.
        return predict_scores(self.meta_learner, features, self.n_classes)
