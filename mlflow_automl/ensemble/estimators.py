"""Ensembles of finished iterations: voting (greedy selection) and stacking.

Pure building blocks; the orchestrator wires them together in this order:

1. :func:`greedy_selection` picks voting weights from the members' stored out-of-fold /
   validation predictions (Caruana et al. 2004, selection with replacement);
   :func:`bagged_greedy_selection` averages it over random subsets of the members (forecasting).
2. :func:`gather_members` refits (or loads) the members with a non-zero weight, best first, until
   ``ensemble_download_models_timeout_sec`` runs out; it always gathers at least one.
3. :class:`VotingEnsemble` averages the gathered members (weights renormalised over them);
   :func:`fit_stack` trains a meta-learner on the gathered members' stored predictions and
   :class:`StackEnsemble` puts base members and meta-learner together.
4. :func:`ensemble_oof_predictions` gives each ensemble its own out-of-fold / validation
   predictions, so it is scored and logged the same way as any iteration.

Stacking features are the members' predictions side by side: for binary classification only
P(class 1) per member (the other column is redundant), for multiclass all K probabilities (the
sum-to-one collinearity is mild and regularised away; dropping an arbitrary class would make the
features asymmetric), for regression the point predictions. Default meta-learners:
``LogisticRegressionCV`` (classification) and ``ElasticNetCV`` (regression / forecasting).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import train_test_split

from mlflow_automl.evaluation.metrics import (
    CLASSIFICATION,
    FORECASTING,
    REGRESSION,
    compute_metric,
    compute_metrics,
    is_better,
    worst_score,
)
from mlflow_automl.model import predict_scores
from mlflow_automl.tasks import get_task

VOTING, STACK = "voting", "stack"
DEFAULT_ROUNDS = 15
DEFAULT_TRAIN_PERCENTAGE = 0.2

META_LEARNERS: tuple[str, ...] = (
    "LogisticRegression",
    "LogisticRegressionCV",
    "LightGBMClassifier",
    "ElasticNet",
    "ElasticNetCV",
    "LightGBMRegressor",
    "LinearRegression",
)
DEFAULT_META_LEARNER: dict[str, str] = {
    CLASSIFICATION: "LogisticRegressionCV",
    REGRESSION: "ElasticNetCV",
    FORECASTING: "ElasticNetCV",
}
_META_TASK: dict[str, str] = {
    "LogisticRegression": CLASSIFICATION,
    "LogisticRegressionCV": CLASSIFICATION,
    "LightGBMClassifier": CLASSIFICATION,
    "ElasticNet": REGRESSION,
    "ElasticNetCV": REGRESSION,
    "LightGBMRegressor": REGRESSION,
    "LinearRegression": REGRESSION,
}


class EnsembleTimeout(TimeoutError):
    """The deadline passed before a fit could start; the caller skips that ensemble."""


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _base_task(task: str) -> str:
    """Forecasting is scored and stacked as regression."""
    if task not in DEFAULT_META_LEARNER:
        raise ValueError(f"Unknown task {task!r}; expected one of {sorted(DEFAULT_META_LEARNER)}")
    return CLASSIFICATION if get_task(task).predicts_classes else REGRESSION


def _check_deadline(deadline: float | None, what: str) -> None:
    if deadline is not None and time.time() > deadline:
        raise EnsembleTimeout(f"deadline passed before {what}")


def _stack_arrays(predictions: Sequence[np.ndarray]) -> np.ndarray:
    """Members' predictions as one array of shape (members, n) or (members, n, K)."""
    if len(predictions) == 0:
        raise ValueError("an ensemble needs at least one member's predictions")
    arrays = [np.asarray(p, dtype=np.float64) for p in predictions]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"members' predictions differ in shape: {sorted(shapes)}")
    return np.stack(arrays)


def complete_rows(predictions: Sequence[np.ndarray]) -> np.ndarray:
    """Indices of the rows where every member has a finite prediction (the validated rows)."""
    stacked = _stack_arrays(predictions)
    finite = np.isfinite(stacked.reshape(stacked.shape[0], stacked.shape[1], -1))
    return np.flatnonzero(finite.all(axis=(0, 2)))


def _normalised(weights: Sequence[float], n_members: int) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape[0] != n_members:
        raise ValueError(f"{w.shape[0]} weights for {n_members} members")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    return w / w.sum()


def _weighted_average(predictions: Sequence[np.ndarray], weights: np.ndarray) -> np.ndarray:
    # Zero-weight members are skipped, so their NaN rows cannot leak into the average.
    used = np.flatnonzero(weights > 0)
    return sum(weights[i] * np.asarray(predictions[i], dtype=np.float64) for i in used)


def score_predictions(
    task: str, y: np.ndarray, predictions: np.ndarray, sample_weight: np.ndarray | None = None
) -> dict[str, float]:
    """All metrics of ``task`` over the rows where ``predictions`` are finite (validated)."""
    rows = complete_rows([predictions])
    if rows.size == 0:
        raise ValueError("no row has a finite prediction to score")
    weights = None if sample_weight is None else np.asarray(sample_weight)[rows]
    return compute_metrics(task, np.asarray(y)[rows], np.asarray(predictions)[rows], weights)


# --------------------------------------------------------------------------------------------
# Voting: greedy ensemble selection
# --------------------------------------------------------------------------------------------


def greedy_selection(
    predictions: list[np.ndarray],
    y: np.ndarray,
    task: str,
    metric: str,
    rounds: int = DEFAULT_ROUNDS,
    sample_weight: np.ndarray | None = None,
    deadline: float | None = None,
) -> np.ndarray:
    """Caruana ensemble selection with replacement; returns one weight per member, summing to 1.

    Each round adds the member whose addition makes the averaged prediction score best on
    ``metric``, even when that is worse than the current ensemble (as in Caruana et al.), and
    the result is the ensemble of the best-scoring round (the earliest among equals, as
    AutoGluon does), so it never scores below the best single member; weights are multiples of
    one over that round's number. Ties go to the lowest index. Only rows where every member has
    a finite prediction are used. Past ``deadline`` no further round starts (at least one is
    run).
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    rows = complete_rows(predictions)
    if rows.size == 0:
        raise ValueError("no row is validated by every member")
    members = _stack_arrays(predictions)[:, rows]
    y_rows = np.asarray(y)[rows]
    w_rows = None if sample_weight is None else np.asarray(sample_weight)[rows]

    counts = np.zeros(len(members), dtype=np.int64)
    running_sum = np.zeros_like(members[0])
    best_counts, best_round_score = counts, worst_score(metric)
    for done in range(rounds):
        if done > 0 and deadline is not None and time.time() > deadline:
            break
        best_index, best_score = 0, worst_score(metric)
        for index, member in enumerate(members):
            average = (running_sum + member) / (done + 1)
            score = compute_metric(task, metric, y_rows, average, w_rows)
            if is_better(metric, score, best_score):  # strict: ties keep the lower index
                best_index, best_score = index, score
        counts[best_index] += 1
        running_sum += members[best_index]
        if done == 0 or is_better(metric, best_score, best_round_score):
            best_counts, best_round_score = counts.copy(), best_score
    return best_counts / best_counts.sum()


def bagged_greedy_selection(
    predictions: list[np.ndarray],
    y: np.ndarray,
    task: str,
    metric: str,
    rounds: int = DEFAULT_ROUNDS,
    sample_weight: np.ndarray | None = None,
    deadline: float | None = None,
    bags: int = 100,
    share: float = 0.5,
    seed: int = 0,
) -> np.ndarray:
    """Bagged ensemble selection (Caruana et al. 2004, section 2.3): :func:`greedy_selection`
    on ``bags`` random subsets of ``share`` of the members, weights averaged over the bags.

    Plain selection fits its weights to the validation rows; on a few correlated rolling-origin
    windows it put 55-71 % of the weight on the one model that validated best by luck (a random
    forest scoring 0.78 MASE on the next day where seasonal naive scored 0.41). A bag without
    that model must use the others, so the average spreads the weight. With 20 bags the weights
    still moved with the seed (0.336-0.372 MASE on 148 series); 100 are stable (0.335-0.338)
    and take ~1.6 s on 5,000 validation rows. Past ``deadline`` no further bag starts (at
    least one is run).
    """
    n = len(predictions)
    rng = np.random.default_rng(seed)
    size = min(n, max(2, round(share * n)))
    total = np.zeros(n)
    for bag in range(bags):
        if bag > 0 and deadline is not None and time.time() > deadline:
            break
        chosen = np.sort(rng.choice(n, size=size, replace=False))
        weights = greedy_selection(
            [predictions[i] for i in chosen], y, task, metric, rounds, sample_weight
        )
        total[chosen] += weights
    return total / total.sum()


# --------------------------------------------------------------------------------------------
# Meta-learners
# --------------------------------------------------------------------------------------------


def _meta_defaults(type_name: str, random_state: int) -> tuple[type, dict[str, Any]]:
    """The estimator class of a meta-learner type and our defaults for it."""
    import lightgbm
    from sklearn import linear_model

    # LightGBM: deterministic and quiet, like the LightGBM learner; one thread (shared cores).
    lgbm = {"verbosity": -1, "deterministic": True, "force_col_wise": True, "n_jobs": 1}
    table: dict[str, tuple[type, dict[str, Any]]] = {
        "LogisticRegression": (linear_model.LogisticRegression, {"max_iter": 1000}),
        # Log-loss picks C by probability quality, which AUC / log_loss metrics depend on;
        # explicit l1_ratios / legacy flags keep sklearn 1.9's transition warnings quiet.
        "LogisticRegressionCV": (
            linear_model.LogisticRegressionCV,
            {
                "max_iter": 1000,
                "scoring": "neg_log_loss",
                "l1_ratios": (0.0,),
                "use_legacy_attributes": False,
            },
        ),
        "LightGBMClassifier": (lightgbm.LGBMClassifier, lgbm),
        "ElasticNet": (linear_model.ElasticNet, {}),
        "ElasticNetCV": (linear_model.ElasticNetCV, {}),
        "LightGBMRegressor": (lightgbm.LGBMRegressor, lgbm),
        "LinearRegression": (linear_model.LinearRegression, {}),
    }
    cls, defaults = table[type_name]
    if "random_state" in cls().get_params():
        defaults = {**defaults, "random_state": random_state}
    return cls, defaults


def make_meta_learner(
    task: str,
    type_name: str | None = None,
    kwargs: dict[str, Any] | None = None,
    random_state: int = 0,
) -> BaseEstimator:
    """An unfitted meta-learner of ``type_name`` (default by task) built with ``kwargs``.

    Raises ``ValueError`` for a type that does not fit the task (listing the valid ones) and for
    a keyword the estimator does not accept (naming it).
    """
    base = _base_task(task)
    valid = [name for name in META_LEARNERS if _META_TASK[name] == base]
    type_name = type_name or DEFAULT_META_LEARNER[task]
    if type_name not in valid:
        raise ValueError(
            f"stack_meta_learner_type {type_name!r} is not a meta-learner for task {task!r}; "
            f"valid types: {', '.join(valid)}"
        )
    cls, defaults = _meta_defaults(type_name, random_state)
    accepted = cls().get_params()
    unknown = sorted(set(kwargs or {}) - set(accepted))
    if unknown:
        raise ValueError(
            f"stack_meta_learner_kwargs: {type_name} has no parameter(s) {unknown}; "
            f"valid: {', '.join(sorted(accepted))}"
        )
    return cls(**{**defaults, **(kwargs or {})})


def stack_features(predictions: Sequence[np.ndarray], task: str) -> np.ndarray:
    """Members' predictions side by side: the meta-learner's input matrix."""
    columns = []
    for prediction in predictions:
        p = np.asarray(prediction, dtype=np.float64)
        if p.ndim == 1:
            columns.append(p[:, None])
        elif get_task(task).predicts_classes and p.shape[1] == 2:
            columns.append(p[:, 1:])  # binary: P(class 0) = 1 - P(class 1) adds nothing
        else:
            columns.append(p)
    return np.hstack(columns)


def _fit_quietly(estimator: BaseEstimator, X: np.ndarray, y: np.ndarray, sample_weight) -> Any:
    fit_params = {} if sample_weight is None else {"sample_weight": sample_weight}
    # Convergence chatter from meta-learner fits would drown the console, as for trials.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y, **fit_params)


def _split_for_meta(
    rows: np.ndarray, y: np.ndarray, task: str, train_percentage: float, random_state: int
) -> tuple[np.ndarray, np.ndarray]:
    """Meta-training rows and held-out scoring rows, stratified when the classes allow it."""
    if not 0 < train_percentage < 1:
        raise ValueError(f"train_percentage must be in (0, 1), got {train_percentage}")
    stratify = y[rows] if get_task(task).predicts_classes else None
    try:
        train, held_out = train_test_split(
            rows, train_size=train_percentage, random_state=random_state, stratify=stratify
        )
    except ValueError:  # a class too rare to stratify: a plain shuffled split still works
        train, held_out = train_test_split(
            rows, train_size=train_percentage, random_state=random_state
        )
    return np.sort(train), np.sort(held_out)


class StackFit(NamedTuple):
    """A fitted meta-learner and the rows the stack is to be scored on.

    ``score_rows`` is ``None`` when the meta-learner saw every validated row (cross-validation):
    score the stack with :func:`ensemble_oof_predictions` instead.
    """

    meta_learner: BaseEstimator
    score_rows: np.ndarray | None


def fit_stack(
    member_oof_predictions: list[np.ndarray],
    y: np.ndarray,
    task: str,
    meta_type: str | None = None,
    meta_kwargs: dict[str, Any] | None = None,
    train_percentage: float | None = None,
    sample_weight: np.ndarray | None = None,
    random_state: int = 0,
    deadline: float | None = None,
) -> StackFit:
    """Trains the meta-learner on the members' out-of-fold / validation predictions.

    With ``train_percentage`` (train/validation strategies) it is trained on that fraction of the
    validated rows, and the rest are returned as ``score_rows``; otherwise on all of them.
    """
    meta = make_meta_learner(task, meta_type, meta_kwargs, random_state)
    rows = complete_rows(member_oof_predictions)
    score_rows = None
    if train_percentage is not None:
        rows, score_rows = _split_for_meta(
            rows, np.asarray(y), task, train_percentage, random_state
        )
    _check_deadline(deadline, "fitting the stack meta-learner")
    features = stack_features([np.asarray(p)[rows] for p in member_oof_predictions], task)
    weights = None if sample_weight is None else np.asarray(sample_weight)[rows]
    return StackFit(_fit_quietly(meta, features, np.asarray(y)[rows], weights), score_rows)


# --------------------------------------------------------------------------------------------
# Ensemble estimators
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# The ensembles' own out-of-fold / validation predictions
# --------------------------------------------------------------------------------------------


def voting_oof_predictions(
    member_predictions: list[np.ndarray], weights: Sequence[float]
) -> np.ndarray:
    """The voting ensemble's predictions: the weighted average of the members' stored ones."""
    stacked = _stack_arrays(member_predictions)
    return _weighted_average(list(stacked), _normalised(weights, len(stacked)))


def stack_oof_predictions(
    member_predictions: list[np.ndarray],
    y: np.ndarray,
    task: str,
    splits: list[tuple[np.ndarray, np.ndarray]],
    meta_type: str | None = None,
    meta_kwargs: dict[str, Any] | None = None,
    train_percentage: float | None = None,
    sample_weight: np.ndarray | None = None,
    random_state: int = 0,
    deadline: float | None = None,
) -> np.ndarray:
    """The stack's own out-of-fold / validation predictions, row-aligned, NaN where unscored.

    Cross-validation (several splits, no ``train_percentage``): the meta-learner is
    cross-validated over the members' out-of-fold predictions with the same folds, so each row
    is predicted by a meta-learner that never saw it. One split: the meta-learner is trained on
    ``train_percentage`` (default 0.2) of the validation rows and predicts the rest.
    """
    y = np.asarray(y)
    first = np.asarray(member_predictions[0])
    n_classes = first.shape[1] if get_task(task).predicts_classes else None
    out = np.full(first.shape, np.nan)
    if train_percentage is None and len(splits) == 1:
        train_percentage = DEFAULT_TRAIN_PERCENTAGE
    if train_percentage is not None:
        meta, rows = fit_stack(
            member_predictions,
            y,
            task,
            meta_type,
            meta_kwargs,
            train_percentage,
            sample_weight,
            random_state,
            deadline,
        )
        held_out = [np.asarray(p)[rows] for p in member_predictions]
        out[rows] = predict_scores(meta, stack_features(held_out, task), n_classes)
        return out
    if complete_rows(member_predictions).size != len(y):
        raise ValueError("cross-validated stacking needs every row validated by every member")
    features = stack_features(member_predictions, task)
    meta = make_meta_learner(task, meta_type, meta_kwargs, random_state)
    weights = None if sample_weight is None else np.asarray(sample_weight)
    # Fold by fold (what cross_val_predict does), so that the deadline is checked between
    # folds and a stack that cannot finish in time stops after its first fold.
    started = time.time()
    for done, (train, valid) in enumerate(splits):
        _check_deadline(deadline, f"stack meta-learner fold {done + 1} of {len(splits)}")
        if done and deadline is not None:
            per_fold = (time.time() - started) / done
            if time.time() + per_fold * (len(splits) - done) > deadline:
                raise EnsembleTimeout(
                    f"{len(splits) - done} more fold(s) of {per_fold:.1f} s would end past "
                    "the deadline"
                )
        fitted = _fit_quietly(
            clone(meta), features[train], y[train], None if weights is None else weights[train]
        )
        out[valid] = predict_scores(fitted, features[valid], n_classes)
    return out


def ensemble_oof_predictions(
    kind: str,
    member_predictions: list[np.ndarray],
    *,
    weights: Sequence[float] | None = None,
    y: np.ndarray | None = None,
    task: str | None = None,
    splits: list[tuple[np.ndarray, np.ndarray]] | None = None,
    **stack_options: Any,
) -> np.ndarray:
    """An ensemble's out-of-fold / validation predictions, scored like any iteration's.

    ``kind="voting"`` needs ``weights``; ``kind="stack"`` needs ``y``, ``task`` and ``splits``
    plus the options of :func:`stack_oof_predictions`.
    """
    if kind == VOTING:
        if weights is None:
            raise ValueError("voting ensemble predictions need the members' weights")
        return voting_oof_predictions(member_predictions, weights)
    if kind == STACK:
        if y is None or task is None or splits is None:
            raise ValueError("stack ensemble predictions need y, task and splits")
        return stack_oof_predictions(member_predictions, y, task, splits, **stack_options)
    raise ValueError(f"unknown ensemble kind {kind!r}; expected {VOTING!r} or {STACK!r}")


# --------------------------------------------------------------------------------------------
# Gathering members under a deadline
# --------------------------------------------------------------------------------------------


def gather_members(
    entries: Sequence[Any],
    fit_member: Callable[[Any], Any],
    deadline: float | None = None,
    seconds: Callable[[Any], float] | None = None,
) -> list[tuple[Any, Any]]:
    """Fits (or loads) members in the given (rank) order until ``deadline``.

    Azure's ``ensemble_download_models_timeout_sec``: when time runs out, ensembling proceeds
    with the members gathered so far; the first is always gathered. Returns ``(entry, member)``
    pairs, so the caller knows which weights / predictions belong to the gathered members.
    Errors from ``fit_member`` propagate: the caller decides whether a failed refit is fatal.
    With ``seconds`` (a member's expected fit time) a member that would end past the deadline
    is not started either.
    """
    gathered: list[tuple[Any, Any]] = []
    for entry in entries:
        expected = 0.0 if seconds is None else seconds(entry)
        if gathered and deadline is not None and time.time() + expected > deadline:
            break
        gathered.append((entry, fit_member(entry)))
    return gathered
