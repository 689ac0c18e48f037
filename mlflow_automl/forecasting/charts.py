"""Forecasting charts, from a trial's kept rolling-origin predictions (no refit):

* ``forecast_vs_actual``: for a sample of series (up to 4, the largest first), the actual
  values over the validation windows and the history just before them, and each fold's
  forecast;
* ``error_by_horizon``: mean absolute error (and MASE) per horizon step, over series and folds;

plus the regression charts (``predicted_vs_true``, ``residuals_histogram``). Same conventions as
:mod:`mlflow_automl.insights.charts`: PNG + the JSON data the figure was drawn from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlflow_automl.forecasting.timeseries import SINGLE_SERIES
from mlflow_automl.insights.charts import (
    Chart,
    json_number,
    json_numbers,
    label_axes,
    new_figure,
    quiet,
    regression_charts,
    render_chart,
)

FORECASTING_CHARTS: tuple[str, ...] = ("forecast_vs_actual", "error_by_horizon")
MAX_SERIES = 4


def forecasting_charts(data: Any, predictions: np.ndarray) -> list[Chart]:
    """The forecasting chart set of one trial; ``data`` is a ``ForecastingData``."""
    rows = data.validation_rows
    y, yp = data.y[rows], predictions[rows]
    if not np.all(np.isfinite(yp)):
        return []
    windows = data.windows.assign(
        actual=data.y[data.n_original + np.arange(len(data.windows))],
        forecast=predictions[data.n_original + np.arange(len(data.windows))],
        scale=data.metric_scale[data.n_original + np.arange(len(data.windows))],
    )
    with quiet():
        charts = [
            _forecast_vs_actual(data, windows),
            _error_by_horizon(windows),
        ]
    return charts + regression_charts(y, yp)


def _sample_series(windows: pd.DataFrame) -> list[str]:
    size = windows.groupby("series")["actual"].apply(lambda v: float(np.mean(np.abs(v))))
    return list(size.sort_values(ascending=False).index[:MAX_SERIES])


def _forecast_vs_actual(data: Any, windows: pd.DataFrame) -> Chart:
    history = data.history
    chosen = _sample_series(windows)
    first_cutoff = windows["cutoff"].min()
    horizon = int(windows["step"].max())
    figure = new_figure(8.0, 2.4 * len(chosen) + 0.6)
    axes = figure.subplots(len(chosen), 1, squeeze=False)[:, 0]
    series_data = []
    for ax, key in zip(axes, chosen):
        past = history[history["series"] == key]
        # The validation span and as much history before it again, for context.
        context_start = past["time"][past["time"] <= first_cutoff].tail(2 * horizon).min()
        shown = past[past["time"] >= context_start]
        ax.plot(shown["time"], shown["y"], color="black", lw=1.2, label="actual")
        folds = []
        for fold, window in windows[windows["series"] == key].groupby("fold"):
            window = window.sort_values("time")
            ax.plot(window["time"], window["forecast"], lw=1.4, label=f"fold {fold + 1}")
            folds.append(
                {
                    "fold": int(fold),
                    "cutoff": str(window["cutoff"].iloc[0]),
                    "time": [str(t) for t in window["time"]],
                    "forecast": json_numbers(window["forecast"]),
                }
            )
        title = "" if key == SINGLE_SERIES else str(key)
        label_axes(ax, title, "", data.label_column)
        series_data.append(
            {
                "series": None if key == SINGLE_SERIES else str(key),
                "time": [str(t) for t in shown["time"]],
                "actual": json_numbers(shown["y"]),
                "folds": folds,
            }
        )
    figure.suptitle("Forecast vs. actual over the validation windows")
    return render_chart("forecast_vs_actual", figure, {"series": series_data})


def _error_by_horizon(windows: pd.DataFrame) -> Chart:
    errors = windows.assign(
        abs_error=np.abs(windows["actual"] - windows["forecast"]),
        scaled=np.abs(windows["actual"] - windows["forecast"]) / windows["scale"],
    )
    errors.loc[~np.isfinite(errors["scaled"]), "scaled"] = np.nan
    by_step = errors.groupby("step").agg(mae=("abs_error", "mean"), mase=("scaled", "mean"))
    steps = by_step.index.to_numpy()
    data = {
        "step": json_numbers(steps),
        "mean_absolute_error": json_numbers(by_step["mae"]),
        "mean_absolute_scaled_error": json_numbers(by_step["mase"]),
        "n_per_step": json_number(int(len(errors) // max(1, len(steps)))),
    }
    figure = new_figure()
    ax = figure.subplots()
    ax.bar(steps, by_step["mae"], color="steelblue", alpha=0.8, label="mean absolute error")
    if by_step["mase"].notna().any():
        twin = ax.twinx()
        twin.plot(steps, by_step["mase"], color="darkorange", marker="o", lw=1.5, label="MASE")
        twin.set_ylabel("MASE")
        twin.legend(fontsize="small", loc="upper right")
    label_axes(ax, "Error by horizon step", "Steps ahead", "Mean absolute error", "upper left")
    return render_chart("error_by_horizon", figure, data)
