"""Target transforms for skewed regression targets, chosen by validation.

A price or a count with a long right tail is often learnt better on ``log1p(y)``: trees split on
relative differences, linear models stop chasing the tail. Whether it helps a given table is an
empirical question, so the transform is one more hyperparameter (``target_transform``) of every
regression learner, offered only where it can apply (a non-negative, right-skewed target) and
kept where the validation score says so. The model is scikit-learn's
``TransformedTargetRegressor``: it predicts on the original scale, so every metric, ensemble and
chart sees original-scale predictions without a special case.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TARGET_TRANSFORM = "target_transform"  # the hyperparameter's name in a trial's params
IDENTITY, LOG1P = "identity", "log1p"
# Right skew (Fisher-Pearson) from which log1p is worth trying: prices and counts are well above
# (the benchmark's skewed tables: 1.4 to 3.3); a roughly symmetric target gains nothing.
MIN_SKEW = 1.0


def transforms_for(y: np.ndarray, enabled: bool = True) -> tuple[str, ...]:
    """The transforms the search may choose for regression target ``y``: ``()`` when none
    applies (transforms off, negative values, or a target that is not right-skewed), else
    ``("identity", "log1p")``."""
    from scipy.stats import skew

    values = np.asarray(y, dtype=np.float64)
    if not enabled or values.size < 3 or not np.all(np.isfinite(values)) or values.min() < 0:
        return ()
    if np.ptp(values) == 0 or skew(values) < MIN_SKEW:
        return ()
    return (IDENTITY, LOG1P)


def split_params(params: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A trial's params as (the learner's own hyperparameters, the target transform)."""
    own = {k: v for k, v in params.items() if k != TARGET_TRANSFORM}
    return own, params.get(TARGET_TRANSFORM, IDENTITY)


def wrap(estimator: Any, transform: str) -> Any:
    """``estimator`` fitted on the transformed target and predicting on the original scale."""
    if transform == IDENTITY:
        return estimator
    if transform != LOG1P:
        raise ValueError(f"unknown target_transform {transform!r}; use {IDENTITY!r} or {LOG1P!r}")
    from sklearn.compose import TransformedTargetRegressor

    # check_inverse would refit nothing but costs a pass per fit; expm1 inverts log1p exactly.
    return TransformedTargetRegressor(
        regressor=estimator, func=np.log1p, inverse_func=np.expm1, check_inverse=False
    )


def inner(estimator: Any) -> Any:
    """The learner's own estimator inside a target-transform wrapper (fitted when fitted)."""
    from sklearn.compose import TransformedTargetRegressor

    if isinstance(estimator, TransformedTargetRegressor):
        return getattr(estimator, "regressor_", estimator.regressor)
    return estimator
