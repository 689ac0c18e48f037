"""MASE denominators: the in-sample error of the seasonal naive forecast per series.

The metric definitions themselves (MAPE, sMAPE, MASE) live with every other metric in
:mod:`mlflow_automl.evaluation.metrics`.
"""

from __future__ import annotations

import numpy as np


def mase_scale(history: np.ndarray, season: int) -> float:
    """Mean absolute error of the seasonal naive forecast (the naive one when the history is
    shorter than two seasons) over ``history``; NaN when the history is too short or flat."""
    values = np.asarray(history, dtype=float)
    m = season if season > 1 and len(values) > season else 1
    if len(values) <= m:
        return float("nan")
    scale = float(np.mean(np.abs(values[m:] - values[:-m])))
    return scale if scale > 0 else float("nan")
