"""Evaluation metrics for mlflow-automl, named as in Azure AutoML.

Everything that scikit-learn provides is computed with scikit-learn; only what it lacks
(normalized errors, Azure's percentage MAPE, ``norm_macro_recall``, ``weighted_accuracy``,
weighted Spearman) is written by hand.

Conventions:

* ``compute_*`` functions return every metric of the task's full set (or the ``names`` asked
  for), as plain Python floats. A metric that is undefined for the given data (e.g. AUC when
  ``y_true`` holds a single class, a normalized error when ``y_true`` is constant) is
  ``float("nan")``, never an exception.
* Predictions containing NaN/inf yield an all-NaN result (such a model can never win, because
  :func:`is_better` rejects a NaN candidate). Invalid *targets* (NaN, out-of-range class codes,
  shape mismatches) are caller bugs and raise ``ValueError``.
* ``*_binary`` metrics (Azure's) score the positive class of a binary label, class code 1
  (``positive_label`` puts the user's positive class there, see :mod:`mlflow_automl.data`);
  they are NaN for more than two classes.
* Default primary metrics are ``accuracy`` (classification) and
  ``normalized_root_mean_squared_error`` (regression / forecasting). Azure's own default for
  regression is ``spearman_correlation``; NRMSE is chosen here because it measures the error
  magnitude, not only the ranking, which is what a regression model is usually selected for.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Collection
from typing import Any

import numpy as np
from scipy import stats
from sklearn import metrics as skm

from mlflow_automl.tasks.names import CLASSIFICATION, FORECASTING, REGRESSION

CLASSIFICATION_METRICS: tuple[str, ...] = tuple(
    sorted(
        [
            "accuracy",
            "AUC_binary",
            "AUC_macro",
            "AUC_micro",
            "AUC_weighted",
            "average_precision_score_binary",
            "average_precision_score_macro",
            "average_precision_score_micro",
            "average_precision_score_weighted",
            "balanced_accuracy",
            "f1_score_binary",
            "f1_score_macro",
            "f1_score_micro",
            "f1_score_weighted",
            "log_loss",
            "matthews_correlation",
            "norm_macro_recall",
            "precision_score_binary",
            "precision_score_macro",
            "precision_score_micro",
            "precision_score_weighted",
            "recall_score_binary",
            "recall_score_macro",
            "recall_score_micro",
            "recall_score_weighted",
            "weighted_accuracy",
        ]
    )
)

REGRESSION_METRICS: tuple[str, ...] = tuple(
    sorted(
        [
            "explained_variance",
            "mean_absolute_error",
            "mean_absolute_percentage_error",
            "median_absolute_error",
            "normalized_mean_absolute_error",
            "normalized_median_absolute_error",
            "normalized_root_mean_squared_error",
            "normalized_root_mean_squared_log_error",
            "r2_score",
            "root_mean_squared_error",
            "root_mean_squared_log_error",
            "spearman_correlation",
        ]
    )
)

# Forecasting: the regression set plus the scale-free errors forecasters are compared by.
FORECASTING_METRICS: tuple[str, ...] = tuple(
    sorted(
        REGRESSION_METRICS
        + ("symmetric_mean_absolute_percentage_error", "mean_absolute_scaled_error")
    )
)

_REGRESSION_PRIMARY: tuple[str, ...] = (
    "spearman_correlation",
    "normalized_root_mean_squared_error",
    "r2_score",
    "normalized_mean_absolute_error",
)

PRIMARY_METRICS: dict[str, tuple[str, ...]] = {
    CLASSIFICATION: (
        "accuracy",
        "AUC_weighted",
        "average_precision_score_weighted",
        "norm_macro_recall",
        "precision_score_weighted",
    ),
    REGRESSION: _REGRESSION_PRIMARY,
    FORECASTING: _REGRESSION_PRIMARY
    + (
        "mean_absolute_percentage_error",
        "symmetric_mean_absolute_percentage_error",
        "mean_absolute_scaled_error",
    ),
}

DEFAULT_PRIMARY_METRIC: dict[str, str] = {
    CLASSIFICATION: "accuracy",
    REGRESSION: "normalized_root_mean_squared_error",
    FORECASTING: "normalized_root_mean_squared_error",
}

# Iterations that tie on the primary metric are ranked by this one: AUC saturates at 1.0 on easy
# data (penguins: an SGD model, the voting ensemble and others all at 1.0), where log loss still
# tells calibrated probabilities from over-confident ones.
TIEBREAK_METRIC: dict[str, str] = {
    CLASSIFICATION: "log_loss",
    REGRESSION: "normalized_root_mean_squared_error",
    FORECASTING: "normalized_root_mean_squared_error",
}

_TASK_METRICS: dict[str, tuple[str, ...]] = {
    CLASSIFICATION: CLASSIFICATION_METRICS,
    REGRESSION: REGRESSION_METRICS,
    FORECASTING: FORECASTING_METRICS,
}

# Metrics to minimise; everything else in the known set is maximised.
_LOWER_IS_BETTER: frozenset[str] = frozenset(
    {"log_loss"} | {m for m in FORECASTING_METRICS if m.endswith("_error")}
)
_ALL_METRICS: frozenset[str] = frozenset(CLASSIFICATION_METRICS) | frozenset(FORECASTING_METRICS)

# Same clipping bound as sklearn's historical log_loss default.
_PROBA_EPS = 1e-15

_NAN = float("nan")


# --------------------------------------------------------------------------------------------
# Task / direction helpers
# --------------------------------------------------------------------------------------------


def _check_task(task: str) -> str:
    if task not in _TASK_METRICS:
        raise ValueError(f"Unknown task {task!r}; expected one of {sorted(_TASK_METRICS)}")
    return task


def metrics_for_task(task: str) -> tuple[str, ...]:
    """Return the full (sorted) metric set computed for ``task``."""
    return _TASK_METRICS[_check_task(task)]


def greater_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better. Raises ``ValueError`` if unknown."""
    if metric not in _ALL_METRICS:
        raise ValueError(f"Unknown metric {metric!r}")
    return metric not in _LOWER_IS_BETTER


def worst_score(metric: str) -> float:
    """The worst possible value of ``metric`` (``-inf`` if maximised, ``+inf`` if minimised)."""
    return -math.inf if greater_is_better(metric) else math.inf


def _is_nan(value: float | None) -> bool:
    return value is None or math.isnan(float(value))


def loss(metric: str, value: float | None) -> float:
    """``value`` oriented so that smaller is better (``+inf`` for a missing value): a sort key."""
    if _is_nan(value):
        return math.inf
    return -float(value) if greater_is_better(metric) else float(value)


def is_better(metric: str, candidate: float, incumbent: float | None) -> bool:
    """Whether ``candidate`` strictly improves on ``incumbent`` for ``metric``.

    A NaN (or ``None``) candidate is never better; a NaN/``None`` incumbent is always beaten by a
    non-NaN candidate.
    """
    higher = greater_is_better(metric)  # validates the name first, whatever the values
    if _is_nan(candidate):
        return False
    if _is_nan(incumbent):
        return True
    return float(candidate) > float(incumbent) if higher else float(candidate) < float(incumbent)


def improves(metric: str, candidate: float, incumbent: float | None) -> bool:
    """Better by a margin that matters (1e-4, relative above 1): the search's notion of
    progress, for early stopping and for a learner's plateau."""
    if _is_nan(incumbent):
        return is_better(metric, candidate, incumbent)
    margin = 1e-4 * max(1.0, abs(float(incumbent)))
    shifted = incumbent + margin if greater_is_better(metric) else incumbent - margin
    return is_better(metric, candidate, shifted)


# --------------------------------------------------------------------------------------------
# Shared plumbing
# --------------------------------------------------------------------------------------------


def _safe(fn: Callable[[], float]) -> float:
    """Evaluate one metric; undefined-for-this-data (sklearn's ValueError) becomes NaN."""
    try:
        value = float(fn())
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return _NAN
    return value


def _check_weights(sample_weight, n: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=float).ravel()
    if w.shape[0] != n:
        raise ValueError(f"sample_weight has {w.shape[0]} entries, expected {n}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("sample_weight must be finite and non-negative")
    if not np.any(w > 0):
        raise ValueError("sample_weight must have at least one positive entry")
    return w


def _all_nan(names: tuple[str, ...]) -> dict[str, float]:
    return dict.fromkeys(names, _NAN)


# --------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------


def _prepare_classification(y_true, proba, n_classes: int | None):
    y = np.asarray(y_true).ravel()
    p = np.asarray(proba, dtype=float)
    if p.ndim == 1:
        # Convenience: a 1-D array is read as P(class 1) of a binary problem.
        if n_classes not in (None, 2):
            raise ValueError("1-D proba is only accepted for binary classification")
        p = np.column_stack([1.0 - p, p])
    if p.ndim != 2:
        raise ValueError(f"proba must be 2-D (n_samples, n_classes), got shape {p.shape}")
    if p.shape[0] != y.shape[0]:
        raise ValueError(f"y_true has {y.shape[0]} rows but proba has {p.shape[0]}")
    if y.shape[0] == 0:
        raise ValueError("Cannot compute metrics on zero samples")
    k = p.shape[1] if n_classes is None else int(n_classes)
    if p.shape[1] != k:
        raise ValueError(f"proba has {p.shape[1]} columns but n_classes={k}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError("y_true must hold integer class codes 0..K-1")
    elif y.dtype.kind not in "iub":
        raise ValueError(f"y_true must hold integer class codes 0..K-1, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if np.any(y < 0) or np.any(y >= k):
        raise ValueError(f"y_true holds class codes outside 0..{k - 1}")
    return y, p, k


def _weighted_accuracy(y, pred, k: int, w: np.ndarray | None) -> float:
    # Azure: each sample weighted by the share of samples of its true class, so frequent
    # classes count more (the opposite of balanced_accuracy).
    class_share = np.bincount(y, minlength=k) / y.shape[0]
    weights = class_share[y]
    if w is not None:
        weights = weights * w
    return skm.accuracy_score(y, pred, sample_weight=weights)


def _norm_macro_recall(y, pred, k: int, w: np.ndarray | None) -> float:
    if k < 2:
        return _NAN
    # Macro recall over the classes present in y_true (classes absent from y_true have no
    # defined recall); chance level is 1/K for a predictor guessing among all K classes.
    present = np.unique(y)
    recall = skm.recall_score(
        y, pred, labels=present, average="macro", sample_weight=w, zero_division=0
    )
    chance = 1.0 / k
    return (recall - chance) / (1.0 - chance)


def _ovr_score(score_fn, y_bin, p, average: str, w: np.ndarray | None) -> float:
    if average == "micro":
        # Micro: the flattened binarized matrix, all K columns.
        return score_fn(y_bin, p, average="micro", sample_weight=w)
    # Macro / weighted: one-vs-rest per class, skipping classes absent from y_true.
    present = y_bin.sum(axis=0) > 0
    if present.sum() < 2:
        # A single class in y_true: no negatives in its column, curves undefined.
        return _NAN
    return score_fn(y_bin[:, present], p[:, present], average=average, sample_weight=w)


def compute_classification_metrics(
    y_true,
    proba,
    n_classes: int | None = None,
    sample_weight=None,
    names: Collection[str] | None = None,
) -> dict[str, float]:
    """:data:`CLASSIFICATION_METRICS` (or only ``names``) for integer labels ``y_true`` and
    ``proba`` (n, K).

    Column ``j`` of ``proba`` is the probability of class ``j``; the predicted label is the row
    argmax. ``y_true`` may lack some of the K classes. A 1-D ``proba`` is taken as P(class 1)
    of a binary problem.
    """
    names = _wanted(names, CLASSIFICATION_METRICS)
    y, p, k = _prepare_classification(y_true, proba, n_classes)
    w = _check_weights(sample_weight, y.shape[0])
    if not np.all(np.isfinite(p)):
        return _all_nan(names)

    pred = np.argmax(p, axis=1)
    # One-hot by hand: label_binarize collapses K=2 to one column, but Azure averages both
    # one-vs-rest curves for binary macro/weighted scores.
    y_bin = (y[:, None] == np.arange(k)[None, :]).astype(int)

    def log_loss() -> float:
        # Clip then renormalise so log_loss is finite and sklearn sees proper distributions.
        clipped = np.clip(p, _PROBA_EPS, 1.0 - _PROBA_EPS)
        clipped = clipped / clipped.sum(axis=1, keepdims=True)
        return skm.log_loss(y, clipped, labels=list(range(k)), sample_weight=w)

    # Each metric is a thunk, so a caller asking for one (ensemble selection) pays for one.
    thunks: dict[str, Callable[[], float]] = {
        "accuracy": lambda: skm.accuracy_score(y, pred, sample_weight=w),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, pred, sample_weight=w),
        "weighted_accuracy": lambda: _weighted_accuracy(y, pred, k, w),
        "matthews_correlation": lambda: skm.matthews_corrcoef(y, pred, sample_weight=w),
        "norm_macro_recall": lambda: _norm_macro_recall(y, pred, k, w),
        "log_loss": log_loss,
    }
    for avg in ("macro", "micro", "weighted"):
        for name, fn in (
            ("precision_score", skm.precision_score),
            ("recall_score", skm.recall_score),
            ("f1_score", skm.f1_score),
        ):
            thunks[f"{name}_{avg}"] = lambda fn=fn, avg=avg: fn(
                y, pred, average=avg, sample_weight=w, zero_division=0
            )
        thunks[f"AUC_{avg}"] = lambda avg=avg: _ovr_score(skm.roc_auc_score, y_bin, p, avg, w)
        thunks[f"average_precision_score_{avg}"] = lambda avg=avg: _ovr_score(
            skm.average_precision_score, y_bin, p, avg, w
        )
    thunks.update(_binary_thunks(y, pred, p, k, w))
    with warnings.catch_warnings():
        # Undefined-metric / constant-input warnings are expected here; the value says it all.
        warnings.simplefilter("ignore")
        return {name: _safe(thunks[name]) for name in names}


def _binary_thunks(y, pred, p, k: int, w: np.ndarray | None) -> dict[str, Callable[[], float]]:
    """Azure's ``*_binary`` metrics: the positive class (code 1) of a binary label."""
    if k != 2:
        return dict.fromkeys(
            [f"{m}_binary" for m in _BINARY_BASES], lambda: _NAN
        )  # no positive class among several
    thunks: dict[str, Callable[[], float]] = {
        "AUC_binary": lambda: skm.roc_auc_score(y, p[:, 1], sample_weight=w),
        "average_precision_score_binary": lambda: skm.average_precision_score(
            y, p[:, 1], sample_weight=w
        ),
    }
    for name, fn in (
        ("precision_score", skm.precision_score),
        ("recall_score", skm.recall_score),
        ("f1_score", skm.f1_score),
    ):
        thunks[f"{name}_binary"] = lambda fn=fn: fn(
            y, pred, average="binary", pos_label=1, sample_weight=w, zero_division=0
        )
    return thunks


_BINARY_BASES = ("AUC", "average_precision_score", "precision_score", "recall_score", "f1_score")


# --------------------------------------------------------------------------------------------
# Regression
# --------------------------------------------------------------------------------------------


def _mape_percent(y, yp, w: np.ndarray | None) -> float:
    # Azure: a percentage, ignoring rows whose true value is 0 (relative error undefined).
    keep = y != 0
    if not np.any(keep):
        return _NAN
    rel = np.abs((y[keep] - yp[keep]) / y[keep])
    weights = None if w is None else w[keep]
    return 100.0 * float(np.average(rel, weights=weights))


def _spearman(y, yp, w: np.ndarray | None) -> float:
    if np.ptp(y) == 0 or np.ptp(yp) == 0:
        return _NAN  # rank correlation undefined for constant input
    if w is None:
        return float(stats.spearmanr(y, yp).statistic)
    # scipy has no weighted Spearman: weighted Pearson correlation of the ranks.
    ry, rp = stats.rankdata(y), stats.rankdata(yp)
    my, mp = np.average(ry, weights=w), np.average(rp, weights=w)
    cov = np.average((ry - my) * (rp - mp), weights=w)
    var_y = np.average((ry - my) ** 2, weights=w)
    var_p = np.average((rp - mp) ** 2, weights=w)
    if var_y == 0 or var_p == 0:
        return _NAN
    return float(cov / math.sqrt(var_y * var_p))


def _prepare_regression(
    y_true: Any, y_pred: Any, sample_weight: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validated 1-D float targets, predictions (may hold NaN) and weights."""
    y = np.asarray(y_true, dtype=float).ravel()
    yp = np.asarray(y_pred, dtype=float).ravel()
    if y.shape != yp.shape:
        raise ValueError(f"y_true has {y.shape[0]} values but y_pred has {yp.shape[0]}")
    if y.shape[0] == 0:
        raise ValueError("no samples to evaluate")
    if not np.all(np.isfinite(y)):
        raise ValueError("y_true contains NaN or infinite values")
    return y, yp, _check_weights(sample_weight, y.shape[0])


def compute_regression_metrics(
    y_true, y_pred, sample_weight=None, names: Collection[str] | None = None
) -> dict[str, float]:
    """:data:`REGRESSION_METRICS` (or only ``names``) for 1-D targets ``y_true`` and
    predictions ``y_pred``.

    Normalized errors divide by the range of ``y_true`` (NaN if it is constant);
    ``normalized_root_mean_squared_log_error`` divides by the range of ``log1p(y_true)``, as in
    Azure. RMSLE metrics are NaN when any target or prediction is negative.
    """
    names = _wanted(names, REGRESSION_METRICS)
    y, yp, w = _prepare_regression(y_true, y_pred, sample_weight)
    if not np.all(np.isfinite(yp)):
        return _all_nan(names)
    return _evaluate(_regression_thunks(y, yp, w), names)


def _regression_thunks(y, yp, w) -> dict[str, Callable[[], float]]:
    log_ok = bool(np.all(y >= 0) and np.all(yp >= 0))

    def normalized(metric: str, scale: float) -> Callable[[], float]:
        def thunk() -> float:
            value = _safe(thunks[metric])
            return value / scale if scale > 0 and not math.isnan(value) else _NAN

        return thunk

    thunks: dict[str, Callable[[], float]] = {
        "explained_variance": lambda: skm.explained_variance_score(y, yp, sample_weight=w),
        "r2_score": lambda: skm.r2_score(y, yp, sample_weight=w),
        "mean_absolute_error": lambda: skm.mean_absolute_error(y, yp, sample_weight=w),
        "median_absolute_error": lambda: skm.median_absolute_error(y, yp, sample_weight=w),
        "root_mean_squared_error": lambda: skm.root_mean_squared_error(y, yp, sample_weight=w),
        # sklearn accepts values > -1 since 1.x; Azure's definition needs non-negative values.
        "root_mean_squared_log_error": (
            (lambda: skm.root_mean_squared_log_error(y, yp, sample_weight=w))
            if log_ok
            else (lambda: _NAN)
        ),
        "mean_absolute_percentage_error": lambda: _mape_percent(y, yp, w),
        "spearman_correlation": lambda: _spearman(y, yp, w),
    }
    y_range = float(np.ptp(y))
    for metric in ("mean_absolute_error", "median_absolute_error", "root_mean_squared_error"):
        thunks[f"normalized_{metric}"] = normalized(metric, y_range)
    log_range = float(np.ptp(np.log1p(y))) if log_ok else 0.0
    thunks["normalized_root_mean_squared_log_error"] = normalized(
        "root_mean_squared_log_error", log_range
    )
    return thunks


def _evaluate(thunks: dict[str, Callable[[], float]], names: Collection[str]) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: float(_safe(thunks[name])) for name in names}


# --------------------------------------------------------------------------------------------
# Forecasting
# --------------------------------------------------------------------------------------------


def _smape_percent(y, yp, w: np.ndarray | None) -> float:
    # Percent, 0..200; rows where truth and forecast are both 0 have no relative error.
    denominator = (np.abs(y) + np.abs(yp)) / 2.0
    keep = denominator > 0
    if not np.any(keep):
        return _NAN
    rel = np.abs(y[keep] - yp[keep]) / denominator[keep]
    return 100.0 * float(np.average(rel, weights=None if w is None else w[keep]))


def _mase(y, yp, scale, w: np.ndarray | None) -> float:
    # Each row's absolute error divided by its series' in-sample seasonal-naive MAE (Hyndman &
    # Koehler 2006); rows of a constant history (scale 0) have no scaled error.
    if scale is None:
        return _NAN
    s = np.asarray(scale, dtype=float).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scale has {s.shape[0]} values, expected {y.shape[0]}")
    keep = np.isfinite(s) & (s > 0)
    if not np.any(keep):
        return _NAN
    scaled = np.abs(y[keep] - yp[keep]) / s[keep]
    return float(np.average(scaled, weights=None if w is None else w[keep]))


def compute_forecasting_metrics(
    y_true, y_pred, sample_weight=None, scale=None, names: Collection[str] | None = None
) -> dict[str, float]:
    """:data:`FORECASTING_METRICS` (or only ``names``): the regression set, sMAPE and MASE.

    ``scale`` holds, per row, the in-sample MAE of the seasonal naive forecast on the history of
    the row's series before its forecast origin (see
    :func:`mlflow_automl.forecasting.metrics.mase_scale`); the mean of the rows' scaled errors is
    the mean of the per-series MASEs when every series has the same number of forecast rows.
    Without ``scale`` MASE is NaN.
    """
    names = _wanted(names, FORECASTING_METRICS)
    y, yp, w = _prepare_regression(y_true, y_pred, sample_weight)
    if not np.all(np.isfinite(yp)):
        return _all_nan(names)
    thunks = _regression_thunks(y, yp, w)
    thunks["symmetric_mean_absolute_percentage_error"] = lambda: _smape_percent(y, yp, w)
    thunks["mean_absolute_scaled_error"] = lambda: _mase(y, yp, scale, w)
    return _evaluate(thunks, names)


# --------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------


def compute_metrics(
    task: str,
    y_true,
    prediction,
    sample_weight=None,
    scale=None,
    names: Collection[str] | None = None,
) -> dict[str, float]:
    """Compute the full metric set of ``task`` (or only the metrics in ``names``).

    ``prediction`` is the (n, K) probability matrix for classification and the point predictions
    for regression / forecasting; ``scale`` (forecasting only) are the rows' MASE denominators.
    """
    compute = _COMPUTE[_check_task(task)]
    return compute(y_true, prediction, sample_weight, scale, names)


# Each task's metric set, as data: (y_true, prediction, sample_weight, scale, names) -> metrics.
_COMPUTE: dict[str, Callable[..., dict[str, float]]] = {
    CLASSIFICATION: lambda y, p, w, scale, names: compute_classification_metrics(
        y, p, sample_weight=w, names=names
    ),
    REGRESSION: lambda y, p, w, scale, names: compute_regression_metrics(
        y, p, sample_weight=w, names=names
    ),
    FORECASTING: compute_forecasting_metrics,
}


def compute_metric(
    task: str, metric: str, y_true, prediction, sample_weight=None, scale=None
) -> float:
    """One metric of ``task``: what the search and ensemble selection compare."""
    return compute_metrics(task, y_true, prediction, sample_weight, scale, names=(metric,))[metric]


def _wanted(names: Collection[str] | None, full: tuple[str, ...]) -> tuple[str, ...]:
    if names is None:
        return full
    unknown = sorted(set(names) - set(full))
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; valid: {', '.join(full)}")
    return tuple(names)
