"""Stacking: meta-learners trained on the members' out-of-fold / validation predictions.

Stacking features are the members' predictions side by side: for binary classification only
P(class 1) per member (the other column is redundant), for multiclass all K probabilities (the
sum-to-one collinearity is mild and regularised away; dropping an arbitrary class would make the
features asymmetric), for regression the point predictions. Default meta-learners:
``LogisticRegressionCV`` (classification) and ``ElasticNetCV`` (regression / forecasting).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import train_test_split

from mlflow_automl.ensemble.selection import (
    STACK,
    VOTING,
    EnsembleTimeout,
    _base_task,
    _check_deadline,
    complete_rows,
    voting_oof_predictions,
)
from mlflow_automl.evaluation.metrics import CLASSIFICATION, FORECASTING, REGRESSION
from mlflow_automl.model_base import predict_scores
from mlflow_automl.tasks import get_task

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
# The meta-learner when it also sees the features (stack_passthrough): trees, as at layer one.
PASSTHROUGH_META_LEARNER: dict[str, str] = {
    CLASSIFICATION: "LightGBMClassifier",
    REGRESSION: "LightGBMRegressor",
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
    passthrough: bool = False,
) -> BaseEstimator:
    """An unfitted meta-learner of ``type_name`` (default by task, and by whether it also sees
    the features: :func:`default_meta_learner`) built with ``kwargs``.

    Raises ``ValueError`` for a type that does not fit the task (listing the valid ones) and for
    a keyword the estimator does not accept (naming it).
    """
    base = _base_task(task)
    valid = [name for name in META_LEARNERS if _META_TASK[name] == base]
    type_name = type_name or default_meta_learner(task, passthrough)
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


def default_meta_learner(task: str, passthrough: bool = False) -> str:
    """The meta-learner type used when ``stack_meta_learner_type`` is not set."""
    if passthrough:
        return PASSTHROUGH_META_LEARNER[_base_task(task)]
    return DEFAULT_META_LEARNER[task]


def meta_inputs(
    predictions: Sequence[np.ndarray], task: str, features: np.ndarray | None = None
) -> np.ndarray:
    """The meta-learner's input: the featurized original features (passthrough), if any, then
    the members' predictions (:func:`stack_features`)."""
    stacked = stack_features(predictions, task)
    return stacked if features is None else np.hstack([features, stacked])


def _featurize(
    featurizer: Any, X: Any, y: np.ndarray, fit_rows: np.ndarray, apply_rows: np.ndarray | None
) -> tuple[Any, np.ndarray, np.ndarray | None]:
    """A clone of ``featurizer`` fitted on ``fit_rows``; its output there (cross-fitted, as in
    a trial) and on ``apply_rows`` (``None``: not applied)."""
    fitted = clone(featurizer)
    fit_out = fitted.fit_transform(X.iloc[fit_rows], y[fit_rows])
    applied = None if apply_rows is None else fitted.transform(X.iloc[apply_rows])
    return fitted, fit_out, applied


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
    featurizer: Any = None  # fitted on the meta-learner's rows (passthrough), else None


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
    X: Any = None,
    featurizer: Any = None,
) -> StackFit:
    """Trains the meta-learner on the members' out-of-fold / validation predictions (and, with
    a ``featurizer``, on the rows of ``X`` featurized by a clone of it fitted on those rows).

    With ``train_percentage`` (train/validation strategies) it is trained on that fraction of the
    validated rows, and the rest are returned as ``score_rows``; otherwise on all of them.
    """
    y = np.asarray(y)
    meta = make_meta_learner(
        task, meta_type, meta_kwargs, random_state, passthrough=featurizer is not None
    )
    rows = complete_rows(member_oof_predictions)
    score_rows = None
    if train_percentage is not None:
        rows, score_rows = _split_for_meta(rows, y, task, train_percentage, random_state)
    _check_deadline(deadline, "fitting the stack meta-learner")
    fitted_featurizer, features = None, None
    if featurizer is not None:
        fitted_featurizer, features, _ = _featurize(featurizer, X, y, rows, None)
    inputs = meta_inputs([np.asarray(p)[rows] for p in member_oof_predictions], task, features)
    weights = None if sample_weight is None else np.asarray(sample_weight)[rows]
    meta = _fit_quietly(meta, inputs, y[rows], weights)
    return StackFit(meta, score_rows, fitted_featurizer)


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
    X: Any = None,
    featurizer: Any = None,
) -> np.ndarray:
    """The stack's own out-of-fold / validation predictions, row-aligned, NaN where unscored.

    Cross-validation (several splits, no ``train_percentage``): the meta-learner is
    cross-validated over the members' out-of-fold predictions with the same folds, so each row
    is predicted by a meta-learner that never saw it. One split: the meta-learner is trained on
    ``train_percentage`` (default 0.2) of the validation rows and predicts the rest. With a
    ``featurizer`` the meta-learner also sees ``X``, featurized by a clone fitted on its own
    training rows each time.
    """
    y = np.asarray(y)
    first = np.asarray(member_predictions[0])
    n_classes = first.shape[1] if get_task(task).predicts_classes else None
    out = np.full(first.shape, np.nan)
    if train_percentage is None and len(splits) == 1:
        train_percentage = DEFAULT_TRAIN_PERCENTAGE
    if train_percentage is not None:
        meta, rows, fitted = fit_stack(
            member_predictions,
            y,
            task,
            meta_type,
            meta_kwargs,
            train_percentage,
            sample_weight,
            random_state,
            deadline,
            X,
            featurizer,
        )
        held_out = [np.asarray(p)[rows] for p in member_predictions]
        features = None if fitted is None else fitted.transform(X.iloc[rows])
        out[rows] = predict_scores(meta, meta_inputs(held_out, task, features), n_classes)
        return out
    if complete_rows(member_predictions).size != len(y):
        raise ValueError("cross-validated stacking needs every row validated by every member")
    predictions = [np.asarray(p) for p in member_predictions]
    meta = make_meta_learner(
        task, meta_type, meta_kwargs, random_state, passthrough=featurizer is not None
    )
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
        train_features = valid_features = None
        if featurizer is not None:
            _, train_features, valid_features = _featurize(featurizer, X, y, train, valid)
        fitted = _fit_quietly(
            clone(meta),
            meta_inputs([p[train] for p in predictions], task, train_features),
            y[train],
            None if weights is None else weights[train],
        )
        valid_inputs = meta_inputs([p[valid] for p in predictions], task, valid_features)
        out[valid] = predict_scores(fitted, valid_inputs, n_classes)
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
