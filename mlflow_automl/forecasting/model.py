"""``AutoMLForecaster``: the fitted forecasting model users get and MLflow logs.

It forecasts from a *future frame*: the time column, the series id columns and the known
features (covariates) of the periods to forecast, each after the end of its series' training
data. ``predict`` returns the forecasts in the frame's row order (this is what the MLflow pyfunc
flavor calls); ``forecast`` returns them as a frame next to the times and series ids.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import RegressorMixin

from mlflow_automl.evaluation.metrics import FORECASTING
from mlflow_automl.forecasting.forecasters import SeriesLayout
from mlflow_automl.forecasting.timeseries import SINGLE_SERIES, series_keys
from mlflow_automl.model_base import AutoMLModelBase

FORECAST_COLUMN = "forecast"


class AutoMLForecaster(RegressorMixin, AutoMLModelBase):
    """The best forecasting pipeline (or voting ensemble of forecasters), refit on all rows.

    Example:
        >>> future = model.future_frame()          # the next forecast_horizon periods
        >>> model.forecast(future)                 # time, series ids, "forecast"
        >>> mlflow.pyfunc.load_model(uri).predict(future)  # the same numbers
    """

    task = FORECASTING

    # --- what the model knows -------------------------------------------------------------------
    @property
    def _forecasters(self) -> list[Any]:
        members = getattr(self.pipeline_, "estimators_", None)
        return [m for _, m in members] if members else [self.pipeline_]

    @property
    def layout(self) -> SeriesLayout:
        return self._forecasters[0].layout

    @property
    def horizon(self) -> int:
        return self.layout.horizon

    @property
    def series_ends(self) -> pd.DataFrame:
        """Each series' last training time (its forecasts start one period later)."""
        forecaster = self._forecasters[0]
        keys = list(forecaster.last_position_)
        times = self.layout.grid.times([forecaster.last_position_[k] for k in keys])
        frame = self._id_frame(keys)
        frame[self.layout.time_column] = times
        return frame

    def _id_frame(self, keys: list[str]) -> pd.DataFrame:
        ids = self.layout.id_columns
        if not ids:
            return pd.DataFrame(index=range(len(keys)))
        parts = [k.split("|") if len(ids) > 1 else [k] for k in keys]
        return pd.DataFrame(parts, columns=list(ids))

    # --- forecasting ----------------------------------------------------------------------------
    def future_frame(self, horizon: int | None = None) -> pd.DataFrame:
        """The next ``horizon`` (default: the forecast horizon) periods of every series: time
        and series id columns. Add the known feature columns before forecasting with it.

        Series ids come back as strings.
        """
        horizon = self.horizon if horizon is None else int(horizon)
        forecaster = self._forecasters[0]
        keys = list(forecaster.last_position_)
        grid = self.layout.grid
        rows = []
        for key in keys:
            last = forecaster.last_position_[key]
            rows.append((key, grid.times(np.arange(last + 1, last + horizon + 1))))
        frame = pd.concat(
            [
                self._id_frame([key] * horizon).assign(**{self.layout.time_column: times})
                for key, times in rows
            ],
            ignore_index=True,
        )
        return frame[[self.layout.time_column, *self.layout.id_columns]]

    def predict(self, X: Any) -> np.ndarray:
        """Forecasts for the rows of the future frame ``X``, in its row order."""
        frame = self._frame(X)
        if frame.empty:  # an empty batch
            return np.empty(0, dtype=np.float64)
        return np.asarray(self.pipeline_.predict(frame), dtype=np.float64)

    def forecast(self, X_future: pd.DataFrame | None = None) -> pd.DataFrame:
        """The future frame's time and series id columns with a ``forecast`` column (same
        index as ``X_future``). Without ``X_future``: the next forecast horizon of every series
        (only for models without known feature columns)."""
        if X_future is None:
            covariates = [c for c in self.feature_columns_ if c not in self._index_columns]
            if covariates:
                raise ValueError(
                    f"this model uses the known feature column(s) {covariates}; pass a future "
                    "frame with them (start from model.future_frame())."
                )
            X_future = self.future_frame()
        frame = self._frame(X_future)
        out = frame[self._index_columns].copy()
        out[FORECAST_COLUMN] = np.empty(0) if frame.empty else self.pipeline_.predict(frame)
        return out

    def example_input(self, n_rows: int = 5) -> pd.DataFrame:
        """A valid future frame for the model's signature: the next periods of the first
        series, known features set to their last training values."""
        future = self.future_frame(min(n_rows, self.horizon)).head(n_rows)
        for column, value in (getattr(self, "last_features_", None) or {}).items():
            future[column] = value
        return future[[c for c in self.feature_columns_ if c in future.columns]]

    def mase_scale(self, X: pd.DataFrame) -> np.ndarray:
        """Per row of ``X``: the MASE denominator of its series, from its training history."""
        scales = getattr(self, "series_scale_", {}) or {}
        keys = series_keys(self._frame(X), self.layout.id_columns).to_numpy()
        return np.array([scales.get(k, np.nan) for k in keys], dtype=float)

    @property
    def _index_columns(self) -> list[str]:
        return [self.layout.time_column, *self.layout.id_columns]

    def _frame(self, X: Any) -> pd.DataFrame:
        frame = super()._frame(X)
        time_column = self.layout.time_column
        if not pd.api.types.is_datetime64_any_dtype(frame[time_column]):
            frame = frame.assign(**{time_column: pd.to_datetime(frame[time_column])})
        return frame


def series_label(key: str) -> str:
    return "series" if key == SINGLE_SERIES else str(key)


def prepare_for_logging(model: AutoMLForecaster, data: Any) -> pd.DataFrame:
    """Gives the refit model what it keeps from the training data (each series' MASE
    denominator, the last known features for the input example); returns the input example."""
    from mlflow_automl.forecasting.metrics import mase_scale

    history = data.history
    model.series_scale_ = {
        key: mase_scale(group["y"].to_numpy(), data.layout.season)
        for key, group in history.groupby("series", sort=False)
    }
    original = data.X.iloc[: data.n_original]
    model.last_features_ = {c: original[c].iloc[-1] for c in data.covariates}
    return model.example_input()
