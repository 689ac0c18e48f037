"""The ensemble estimators: soft voting and two-layer stacking over pipelines.

Both follow scikit-learn's estimator contract: ``__init__`` stores the *unfitted* members
(``estimators``: ``(name, estimator)`` pairs, as in ``sklearn.ensemble.VotingClassifier``), the
weights or the meta-learner; ``fit(X, y)`` fits clones of them and sets ``estimators_``,
``weights_`` / ``meta_learner_`` and ``classes_``. The engine, whose members were already fitted
by trials or the final refit, builds them with ``from_fitted`` instead (no second fit), and
``sklearn.base.clone`` still gives an unfitted copy.

Classification members are fitted on class codes 0..K-1 and give one probability column per
code, so an ensemble can stand in for the single pipeline inside ``AutoMLClassifier``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.model_selection import cross_val_predict
from sklearn.utils import ClassifierTags, RegressorTags, check_array, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, has_fit_parameter, validate_data

from mlflow_automl.ensemble.selection import _base_task, _normalised
from mlflow_automl.ensemble.stacking import (
    _fit_quietly,
    make_meta_learner,
    meta_inputs,
)
from mlflow_automl.evaluation.metrics import CLASSIFICATION
from mlflow_automl.model_base import fit_target, predict_scores, sample_weight_params
from mlflow_automl.tasks import get_task


def _is_classification(ensemble: _EnsembleBase) -> bool:
    return get_task(ensemble.task).predicts_classes


class _EnsembleBase(BaseEstimator):
    """What voting and stacking share: members, classes, predict / predict_proba."""

    task: str
    estimators: list[tuple[str, Any]] | None

    # --- fitted state -----------------------------------------------------------------------------
    @property
    def members(self) -> list[tuple[str, Any]]:
        """The fitted ``(learner name, pipeline)`` members (``estimators_``), in order."""
        check_is_fitted(self)
        return self.estimators_

    @property
    def members_(self) -> list[str]:
        """Learner names of the members, in order."""
        return [name for name, _ in self.members]

    @property
    def n_classes(self) -> int | None:
        """Number of class codes (classification), else ``None``."""
        return len(self.classes_) if hasattr(self, "classes_") else None

    def __sklearn_is_fitted__(self) -> bool:
        return bool(getattr(self, "estimators_", None))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if _is_classification(self):
            tags.estimator_type, tags.classifier_tags = "classifier", ClassifierTags()
        else:
            tags.estimator_type, tags.regressor_tags = "regressor", RegressorTags()
        # Sparse input works when every member takes it (not the engine's featurizers).
        members = self.estimators or []
        # A stack on the features stacks them densely beside the predictions: dense only.
        tags.input_tags.sparse = (
            bool(members)
            and getattr(self, "featurizer", None) is None
            and all(get_tags(estimator).input_tags.sparse for _, estimator in members)
        )
        return tags

    def _set_members(self, members: list[tuple[str, Any]], n_classes: int | None) -> None:
        self.estimators_ = list(members)
        if n_classes is not None:
            self.classes_ = np.arange(n_classes)

    # --- fitting ----------------------------------------------------------------------------------
    def _check_members(self) -> list[tuple[str, Any]]:
        _base_task(self.task)  # raises for an unknown task
        if not self.estimators:
            raise ValueError(f"{type(self).__name__} needs at least one (name, estimator) member")
        return list(self.estimators)

    def _fit_target(self, X: Any, y: Any) -> np.ndarray:
        """Class codes (classification; ``classes_``: the sorted labels) or floats."""
        validate_data(self, X, y, skip_check_array=True)  # y given; n_features_in_
        return fit_target(self, y, _is_classification(self))

    def _fit_members(self, X: Any, codes: np.ndarray, sample_weight: Any) -> None:
        self.estimators_ = [
            (name, _fit_member(clone(estimator), X, codes, sample_weight))
            for name, estimator in self._check_members()
        ]

    # --- predicting -------------------------------------------------------------------------------
    def _check_X(self, X: Any) -> None:
        if hasattr(self, "n_features_in_"):  # fitted by fit(), not from_fitted()
            if not isinstance(X, pd.DataFrame):  # scikit-learn's errors for 1-D input
                check_array(X, dtype=None, ensure_all_finite=False, accept_sparse=True)
            validate_data(self, X, reset=False, skip_check_array=True)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy (classification) or R^2, as scikit-learn's mixins define it."""
        mixin = ClassifierMixin if _is_classification(self) else RegressorMixin
        return mixin.score(self, X, y, sample_weight)

    def _member_scores(self, X: Any, used: Sequence[int]) -> list[np.ndarray]:
        return [predict_scores(self.estimators_[i][1], X, self.n_classes) for i in used]

    @available_if(_is_classification)
    def predict_proba(self, X: Any) -> np.ndarray:
        """One probability column per class code (``classes_``)."""
        check_is_fitted(self)
        self._check_X(X)
        return self._scores(X)

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        self._check_X(X)
        scores = self._scores(X)
        return scores if self.n_classes is None else self.classes_[np.argmax(scores, axis=1)]

    def _scores(self, X: Any) -> np.ndarray:
        raise NotImplementedError


def _fit_member(estimator: Any, X: Any, y: np.ndarray, sample_weight: Any) -> Any:
    # Convergence chatter from member fits would drown the console, as for trials.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y, **sample_weight_params(estimator, sample_weight))


class VotingEnsemble(_EnsembleBase):
    """Soft voting: the weighted average of the members' probabilities or predictions.

    Args:
        estimators: unfitted ``(learner name, estimator)`` pairs.
        weights: one non-negative weight per member (``None``: equal); normalised to sum to 1
            in ``weights_``.
        task: ``"classification"``, ``"regression"`` or ``"forecasting"``.

    Fitted attributes: ``estimators_`` (alias ``members``), ``weights_``, ``classes_``
    (classification).
    """

    def __init__(
        self,
        estimators: list[tuple[str, Any]] | None = None,
        weights: Sequence[float] | None = None,
        task: str = CLASSIFICATION,
    ) -> None:
        self.estimators = estimators
        self.weights = weights
        self.task = task

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> VotingEnsemble:
        members = self._check_members()
        weights = np.ones(len(members)) if self.weights is None else self.weights
        self.weights_ = _normalised(weights, len(members))
        self._fit_members(X, self._fit_target(X, y), sample_weight)
        return self

    @classmethod
    def from_fitted(
        cls,
        members: list[tuple[str, Any]],
        weights: Sequence[float],
        task: str,
        n_classes: int | None = None,
    ) -> VotingEnsemble:
        """A fitted ensemble of already fitted members (no second fit)."""
        ensemble = cls([(name, clone(m)) for name, m in members], list(weights), task)
        ensemble._set_members(members, n_classes)
        ensemble.weights_ = _normalised(weights, len(members))
        return ensemble

    def flat(self) -> VotingEnsemble:
        """The same average with voting members (fold models) replaced by their own members,
        weights multiplied: one level, as the ONNX export and the explanation expect."""
        members, weights = [], []
        for (name, member), weight in zip(self.members, self.weights_):
            if isinstance(member, VotingEnsemble):
                inner = member.flat()
                members += inner.members
                weights += [weight * w for w in inner.weights_]
            else:
                members.append((name, member))
                weights.append(weight)
        return VotingEnsemble.from_fitted(members, weights, self.task, self.n_classes)

    def _scores(self, X: Any) -> np.ndarray:
        weights = self.weights_
        used = np.flatnonzero(weights > 0)
        scores = self._member_scores(X, used)
        return sum(w * s for w, s in zip(weights[used], scores))

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Pickled before the estimator contract: the fitted members were parameters.
        if "members" in state and "estimators_" not in state:
            state["weights_"] = _normalised(state["weights"], len(state["members"]))
            _migrate_members(state)
        super().__setstate__(state)


class StackEnsemble(_EnsembleBase):
    """Two layers: the members' predictions (and optionally the features) feed a meta-learner.

    Args:
        estimators: unfitted ``(learner name, estimator)`` pairs, in the order of the
            meta-learner's features (:func:`~mlflow_automl.ensemble.stacking.stack_features`).
        meta_learner: the unfitted meta-learner (``None``: the task's default,
            :func:`~mlflow_automl.ensemble.stacking.make_meta_learner`).
        task: ``"classification"``, ``"regression"`` or ``"forecasting"``.
        cv: folds for the members' out-of-fold predictions the meta-learner is fitted on
            (``fit`` only; as ``sklearn.model_selection.cross_val_predict``).
        featurizer: an unfitted transformer of the raw input (the engine's ``Featurizer``);
            given, the meta-learner sees its output left of the predictions (as scikit-learn's
            ``passthrough=True``, for raw frames). ``None``: the predictions only.
        blend: weights over ``[meta-learner, member 1, ..., member m]`` (greedy selection on
            top of the two layers); the output is their weighted average. ``None``: the
            meta-learner's output alone.

    Fitted attributes: ``estimators_`` (alias ``members``), ``meta_learner_``, ``featurizer_``
    (``None`` without passthrough), ``blend_`` (normalised, or ``None``), ``classes_``
    (classification).
    """

    def __init__(
        self,
        estimators: list[tuple[str, Any]] | None = None,
        meta_learner: BaseEstimator | None = None,
        task: str = CLASSIFICATION,
        cv: Any = 5,
        featurizer: Any = None,
        blend: Sequence[float] | None = None,
    ) -> None:
        self.estimators = estimators
        self.meta_learner = meta_learner
        self.task = task
        self.cv = cv
        self.featurizer = featurizer
        self.blend = blend

    def _set_blend(self, n_members: int) -> None:
        self.blend_ = None if self.blend is None else _normalised(self.blend, 1 + n_members)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> StackEnsemble:
        """Meta-learner on the members' out-of-fold predictions, then members on all rows."""
        members = self._check_members()
        codes = self._fit_target(X, y)
        method = "predict_proba" if _is_classification(self) else "predict"
        oof = []
        for _, estimator in members:
            params = sample_weight_params(estimator, sample_weight)
            oof.append(
                cross_val_predict(
                    clone(estimator), X, codes, cv=self.cv, method=method, params=params
                )
            )
        self._set_blend(len(members))
        features, self.featurizer_ = None, None
        if self.featurizer is not None:
            self.featurizer_ = clone(self.featurizer)
            weights = {}  # the engine's Featurizer takes none, as in a trial; a scaler may
            if sample_weight is not None and has_fit_parameter(self.featurizer_, "sample_weight"):
                weights = {"sample_weight": sample_weight}
            # fit_transform: the engine's target encoding is cross-fitted on these rows.
            features = self.featurizer_.fit_transform(X, codes, **weights)
        meta = self.meta_learner
        if meta is None:
            meta = make_meta_learner(self.task, passthrough=self.featurizer is not None)
        self.meta_learner_ = _fit_quietly(
            clone(meta), meta_inputs(oof, self.task, features), codes, sample_weight
        )
        self._fit_members(X, codes, sample_weight)
        return self

    @classmethod
    def from_fitted(
        cls,
        members: list[tuple[str, Any]],
        meta_learner: BaseEstimator,
        task: str,
        n_classes: int | None = None,
        featurizer: Any = None,
        blend: Sequence[float] | None = None,
    ) -> StackEnsemble:
        """A fitted stack of already fitted members, meta-learner and featurizer (no second
        fit)."""
        ensemble = cls(
            [(name, clone(m)) for name, m in members],
            clone(meta_learner),
            task,
            featurizer=None if featurizer is None else clone(featurizer),
            blend=None if blend is None else list(blend),
        )
        ensemble._set_members(members, n_classes)
        ensemble._set_blend(len(members))
        ensemble.meta_learner_ = meta_learner
        ensemble.featurizer_ = featurizer
        return ensemble

    @property
    def weights_(self) -> np.ndarray:
        """Equal nominal weights: the meta-learner, not a weight, combines the members."""
        return np.full(len(self.members), 1.0 / len(self.members))

    def _scores(self, X: Any) -> np.ndarray:
        scores = self._member_scores(X, range(len(self.estimators_)))
        features = None if self.featurizer_ is None else self.featurizer_.transform(X)
        # predict_scores pads classes the meta-learner never saw, as for any pipeline.
        meta = predict_scores(
            self.meta_learner_, meta_inputs(scores, self.task, features), self.n_classes
        )
        if self.blend_ is None:
            return meta
        return sum(w * s for w, s in zip(self.blend_, [meta, *scores]) if w > 0)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Pickled before the estimator contract: fitted members and meta-learner were parameters.
        if "members" in state and "estimators_" not in state:
            state["meta_learner_"] = state["meta_learner"]
            state["meta_learner"] = clone(state["meta_learner"])
            state.setdefault("cv", 5)
            _migrate_members(state)
        # Pickled before passthrough and blending: predictions only, the meta-learner alone.
        for name in ("featurizer", "featurizer_", "blend", "blend_"):
            state.setdefault(name, None)
        super().__setstate__(state)


def _migrate_members(state: dict[str, Any]) -> None:
    """Old pickled layout -> fitted attributes plus unfitted parameters, in place."""
    members = state.pop("members")
    n_classes = state.pop("n_classes", None)
    state["estimators_"] = members
    state["estimators"] = [(name, clone(m)) for name, m in members]
    if n_classes is not None:
        state["classes_"] = np.arange(n_classes)
