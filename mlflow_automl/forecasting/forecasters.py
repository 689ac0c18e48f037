"""The forecasters a trial fits: frames in (time + series ids + known features), forecasts out.

Both follow the estimator contract the search loop already uses: ``fit(X, y)`` on the history,
``predict(X_future)`` for rows whose times lie after the end of their series' history, in the
rows' order. So a trial, the final refit and the voting ensemble handle them like any pipeline.

* :class:`PerSeriesForecaster`: one univariate statistical model per series.
* :class:`GlobalRegressionForecaster`: one regression model across all series on engineered
  features (see :mod:`mlflow_automl.forecasting.features`), forecasting recursively one step at
  a time, each step's forecast feeding the next step's lags.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.pipeline import make_pipeline

from mlflow_automl.forecasting.features import (
    FeatureSpec,
    HolidayCalendar,
    series_scale,
    stl_decompose,
    stl_features,
    target_features,
    time_features,
)
from mlflow_automl.forecasting.statistical import SeasonalNaiveModel
from mlflow_automl.forecasting.timeseries import SINGLE_SERIES, TimeGrid, series_keys


@dataclass(frozen=True)
class SeriesLayout:
    """Where the time and the series ids are in a frame, and the time grid."""

    time_column: str
    id_columns: tuple[str, ...]
    grid: TimeGrid
    season: int
    horizon: int

    def index(self, X: pd.DataFrame, what: str = "time") -> tuple[np.ndarray, np.ndarray]:
        """Series key and grid position of every row."""
        missing = [c for c in (self.time_column, *self.id_columns) if c not in X.columns]
        if missing:
            raise ValueError(f"the frame lacks the column(s) {missing}")
        keys = series_keys(X, self.id_columns).to_numpy()
        return keys, self.grid.positions(X[self.time_column], what)

    def series_name(self, key: str) -> str:
        return "the series" if key == SINGLE_SERIES else f"series {key!r}"


def _groups(keys: np.ndarray) -> dict[Any, np.ndarray]:
    codes, uniques = pd.factorize(keys)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    return {uniques[codes[rows[0]]]: rows for rows in np.split(order, bounds) if len(rows)}


class _ForecasterBase(RegressorMixin, BaseEstimator):
    layout: SeriesLayout

    def _steps(self, keys: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """Steps ahead of each row's series end; clear errors for unknown series / the past."""
        steps = np.zeros(len(keys), dtype=np.int64)
        for key, rows in _groups(keys).items():
            if key not in self.last_position_:
                known = ", ".join(map(repr, list(self.last_position_)[:10]))
                raise ValueError(
                    f"series {key!r} was not in the training data (known: {known}); "
                    "a forecast needs the series' history."
                )
            steps[rows] = positions[rows] - self.last_position_[key]
            if steps[rows].min() < 1:
                first = rows[np.argmin(steps[rows])]
                end = self.layout.grid.times([self.last_position_[key]])[0]
                asked = self.layout.grid.times([positions[first]])[0]
                raise ValueError(
                    f"{self.layout.series_name(key)}: time {asked} is not after the end of its "
                    f"training data ({end}); forecasts start one period after it."
                )
        return steps

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "last_position_")


class PerSeriesForecaster(_ForecasterBase):
    """One clone of ``model`` (a univariate model) per series.

    A series on which the model fails to fit (too short, degenerate) gets the seasonal naive
    forecast instead; ``fallbacks_`` names those series. Models with a costly fit (an optimiser
    per series) are fitted in ``n_jobs`` processes when there are enough series to share out.
    """

    def __init__(self, layout: SeriesLayout | None = None, model: Any = None, n_jobs: int = 1):
        self.layout = layout
        self.model = model
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> PerSeriesForecaster:
        keys, positions = self.layout.index(X)
        y = np.asarray(y, dtype=float)
        series = []
        for key, rows in _groups(keys).items():
            rows = rows[np.argsort(positions[rows], kind="stable")]
            series.append((key, y[rows], positions[rows]))
        fits = [
            delayed(_fit_one)(self.model, values, self._times(self.model, where))
            for _, values, where in series
        ]
        n_jobs = self._processes(len(series))
        fitted = _on_ray(fits) if getattr(self.model, "costly_fit", False) else None
        if fitted is None and n_jobs > 1:
            # One BLAS thread per process: a trial worker's OMP_NUM_THREADS (its cores) would
            # otherwise be inherited, and spinning BLAS threads made the fits 2x slower.
            with parallel_config(backend="loky", inner_max_num_threads=1):
                fitted = Parallel(n_jobs=n_jobs)(fits)
        elif fitted is None:
            fitted = [function(*args) for function, args, _ in fits]
        self.models_, self.naive_, self.last_position_, self.fallbacks_ = {}, {}, {}, []
        for (key, values, where), model in zip(series, fitted):
            if model is None:
                model = SeasonalNaiveModel(self.layout.season).fit(values)
                self.fallbacks_.append(key)
            self.models_[key] = model
            self.naive_[key] = SeasonalNaiveModel(self.layout.season).fit(values)
            self.last_position_[key] = int(where[-1])
        return self

    def _processes(self, n_series: int) -> int:
        """Processes for the fits: one unless the fits are costly and there are at least
        :data:`_SERIES_PER_PROCESS` series per process (a process costs ~1 s to start)."""
        if not getattr(self.model, "costly_fit", False) or not self.n_jobs or self.n_jobs == 1:
            return 1
        cores = self.n_jobs if self.n_jobs > 0 else (os.cpu_count() or 1)
        return max(1, min(cores, n_series // _SERIES_PER_PROCESS))

    def _times(self, model: Any, positions: np.ndarray) -> dict[str, Any]:
        """The timestamps for a model that needs them (Prophet); nothing for the others."""
        if not getattr(model, "needs_time", False):
            return {}
        return {"times": self.layout.grid.times(positions)}

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        keys, positions = self.layout.index(X)
        steps = self._steps(keys, positions)
        out = np.empty(len(keys))
        for key, rows in _groups(keys).items():
            model = self.models_[key]
            values = model.predict(steps[rows], **self._times(model, positions[rows]))
            if not np.all(np.isfinite(values)):
                # A diverging fit gives way to the seasonal naive forecast rather than failing.
                values = self.naive_[key].predict(steps[rows])
            out[rows] = values
        return out


class GlobalRegressionForecaster(_ForecasterBase):
    """One regression model across series on lag / window / calendar / holiday features.

    Args:
        layout: time column, series ids, grid.
        regressor: an unfitted scikit-learn regressor.
        scaler: an optional unfitted scaler applied to the features first.
        spec: the features (:class:`FeatureSpec`).
        covariates: the known-feature columns (values needed in future frames too).
        covariate_plan: featurization plan of those columns (``None`` without covariates).
    """

    def __init__(
        self,
        layout: SeriesLayout | None = None,
        regressor: Any = None,
        scaler: Any = None,
        spec: FeatureSpec | None = None,
        covariates: tuple[str, ...] = (),
        covariate_plan: Any = None,
    ) -> None:
        self.layout = layout
        self.regressor = regressor
        self.scaler = scaler
        self.spec = spec
        self.covariates = covariates
        self.covariate_plan = covariate_plan

    # --- fitting ---------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: np.ndarray) -> GlobalRegressionForecaster:
        keys, positions = self.layout.index(X)
        y = np.asarray(y, dtype=float)
        spec = self.spec
        memory = spec.memory
        self.holidays_ = HolidayCalendar(spec.holiday_country) if spec.holiday_country else None
        order = np.lexsort((positions, pd.factorize(keys)[0]))
        keys, positions, y = keys[order], positions[order], y[order]
        X = X.iloc[order]
        groups = _groups(keys)
        self.last_position_, self.scale_, self.tail_, self.stl_tail_ = {}, {}, {}, {}
        starts = np.zeros(len(y), dtype=np.int64)
        local = np.zeros(len(y), dtype=np.int64)
        scales = np.zeros(len(y))
        stl = [np.zeros(len(y)) for _ in range(4)] if spec.stl else None  # now, at reference
        for key, rows in groups.items():
            starts[rows], local[rows] = rows[0], np.arange(len(rows))
            values = y[rows]
            scale = series_scale(values)
            scales[rows] = scale
            self.scale_[key] = scale
            self.last_position_[key] = int(positions[rows[-1]])
            self.tail_[key] = _padded_tail(values, memory)
            if stl is not None:
                # On this fit's history only: a validation fold's STL never sees its window.
                season, trend, self.stl_tail_[key] = stl_decompose(
                    values, self.layout.season, spec.reference
                )
                back = np.maximum(np.arange(len(rows)) - spec.reference, 0)
                stl[0][rows], stl[1][rows] = season, trend
                stl[2][rows], stl[3][rows] = season[back], trend[back]
        # history[i, j] = y[t-1-j], padded with the series' first value before its start
        history = np.column_stack([y[starts + np.maximum(local - 1 - j, 0)] for j in range(memory)])
        reference = spec.reference
        usable = local >= reference  # a row needs its reference value (y[t-1] or y[t-m])
        if not usable.any():
            reference, usable = 1, local >= 1
        self.reference_ = reference
        self.covariate_transformer_ = None
        covariate_block = self._fit_covariates(X, keys, positions, y, usable)
        features = self._design(
            history[usable],
            scales[usable],
            positions[usable],
            covariate_block,
            None if stl is None else [c[usable] for c in stl],
        )
        target = (y[usable] - history[usable, reference - 1]) / scales[usable]
        estimator = clone(self.regressor)
        self.model_ = make_pipeline(clone(self.scaler), estimator) if self.scaler else estimator
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model_.fit(features, target)
        self.n_features_ = features.shape[1]
        return self

    def _fit_covariates(
        self, X: pd.DataFrame, keys: np.ndarray, positions: np.ndarray, y: np.ndarray, usable
    ) -> np.ndarray | None:
        if not self.covariates:
            return None
        raw = X[list(self.covariates)].reset_index(drop=True)
        self.covariate_transformer_ = self.covariate_plan.make_transformer()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.covariate_transformer_.fit(raw.iloc[np.flatnonzero(usable)], y[usable])
        block = self._covariate_matrix(raw, keys)
        self.covariate_tail_ = {}
        numeric = self._lagged_columns(raw)
        memory = max(self.spec.feature_lags, default=0)
        if memory:
            for key, rows in _groups(keys).items():
                self.covariate_tail_[key] = raw.iloc[rows[-memory:]][numeric].to_numpy(float)
        return block[usable]

    def _lagged_columns(self, raw: pd.DataFrame) -> list[str]:
        if not self.spec.feature_lags:
            return []
        return [c for c in raw.columns if pd.api.types.is_numeric_dtype(raw[c])]

    def _covariate_matrix(self, raw: pd.DataFrame, keys: np.ndarray, tails=None) -> np.ndarray:
        """Transformed covariates plus lags of the numeric ones (rows sorted by series, time)."""
        block = np.asarray(self.covariate_transformer_.transform(raw), dtype=float)
        numeric = self._lagged_columns(raw)
        if not numeric:
            return block
        values = raw[numeric].to_numpy(float)
        lagged = []
        for key, rows in _groups(keys).items():
            series = values[rows]
            if tails is not None and key in tails:
                series = np.vstack([tails[key], series])
            offset = len(series) - len(rows)
            out = np.full((len(rows), len(numeric) * len(self.spec.feature_lags)), np.nan)
            for i, lag in enumerate(self.spec.feature_lags):
                idx = np.arange(len(rows)) + offset - lag
                out[:, i * len(numeric) : (i + 1) * len(numeric)] = series[np.maximum(idx, 0)]
            lagged.append((rows, out))
        full = np.zeros((len(raw), len(numeric) * len(self.spec.feature_lags)))
        for rows, out in lagged:
            full[rows] = out
        return np.column_stack([block, np.nan_to_num(full)])

    def _design(
        self,
        history: np.ndarray,
        scales: np.ndarray,
        positions: np.ndarray,
        covariates: np.ndarray | None,
        stl: list[np.ndarray] | None = None,
    ) -> np.ndarray:
        """The feature rows; ``stl``: season and trend at the rows' times and at their
        reference times."""
        times = self.layout.grid.times(positions)
        parts = [target_features(self.spec, history, scales)]
        if stl is not None:
            parts.append(stl_features(self.spec, stl[:2], stl[2:], scales))
        parts.append(time_features(self.spec, positions, times, self.layout.grid, self.holidays_))
        if covariates is not None:
            parts.append(covariates)
        return np.column_stack(parts)

    # --- forecasting ---------------------------------------------------------------------------
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        keys, positions = self.layout.index(X)
        steps = self._steps(keys, positions)
        groups = _groups(keys)
        series = list(groups)
        horizon = np.array([steps[groups[k]].max() for k in series])
        n_steps = int(horizon.max()) if len(series) else 0
        history = np.vstack([self.tail_[k] for k in series]) if series else np.zeros((0, 1))
        scales = np.array([self.scale_[k] for k in series])
        last = np.array([self.last_position_[k] for k in series])
        covariates = self._future_covariates(X, keys, positions, series, last, n_steps)
        stl = self._future_stl(series, n_steps)
        forecasts = np.full((len(series), n_steps), np.nan)
        for step in range(1, n_steps + 1):
            active = np.flatnonzero(horizon >= step)
            block = None if covariates is None else covariates[active, step - 1]
            components = None if stl is None else [c[active, step - 1] for c in stl]
            features = self._design(
                history[active], scales[active], last[active] + step, block, components
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                change = np.asarray(self.model_.predict(features), dtype=float)
            value = history[active, self.reference_ - 1] + change * scales[active]
            forecasts[active, step - 1] = value
            history[active] = np.column_stack([value, history[active, :-1]])
        out = np.empty(len(keys))
        for i, key in enumerate(series):
            rows = groups[key]
            out[rows] = forecasts[i, steps[rows] - 1]
        return out

    def _future_stl(self, series: list, n_steps: int) -> list[np.ndarray] | None:
        """(series, step) arrays of the STL season and trend at each forecast step and at its
        reference period (inside the history for the first ``reference`` steps)."""
        if not self.spec.stl:
            return None
        steps = np.arange(1, n_steps + 1)
        now = [self.stl_tail_[key].at(steps) for key in series]
        back = [self.stl_tail_[key].at(steps - self.reference_) for key in series]
        return [
            np.array([pair[i] for pair in pairs]).reshape(len(series), n_steps)
            for pairs in (now, back)
            for i in (0, 1)
        ]

    def _future_covariates(
        self, X, keys, positions, series: list, last: np.ndarray, n_steps: int
    ) -> np.ndarray | None:
        """(series, step, features): the future rows' covariates on every step up to the
        furthest one asked for; a step without a row takes the previous step's values."""
        if not self.covariates:
            return None
        missing = [c for c in self.covariates if c not in X.columns]
        if missing:
            raise ValueError(f"the future frame lacks the feature column(s) {missing}")
        pieces, piece_keys = [], []
        raw = X[list(self.covariates)].reset_index(drop=True)
        for i, key in enumerate(series):
            rows = np.flatnonzero(keys == key)
            frame = raw.iloc[rows].set_index(positions[rows] - last[i])
            frame = frame[~frame.index.duplicated(keep="last")].sort_index()
            frame = frame.reindex(np.arange(1, n_steps + 1)).ffill().bfill()
            pieces.append(frame)
            piece_keys += [key] * n_steps
        stacked = pd.concat(pieces, ignore_index=True)
        tails = getattr(self, "covariate_tail_", None)
        block = self._covariate_matrix(stacked, np.array(piece_keys, dtype=object), tails)
        return block.reshape(len(series), n_steps, -1)


_SERIES_PER_PROCESS = 8


def _on_ray(fits: list[Any]) -> list[Any] | None:
    """The fits as Ray tasks when this trial runs on Ray (``executors/ray.py``), else None."""
    from mlflow_automl.executors.ray import fan_out

    return fan_out(_fit_one, [arguments for _, arguments, _ in fits], _SERIES_PER_PROCESS)


def _fit_one(model: Any, values: np.ndarray, times: dict[str, Any]) -> Any:
    """A fitted clone of ``model`` on one series, or None when it cannot be fitted there."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return clone(model).fit(values, **times)
    except (ValueError, np.linalg.LinAlgError, ArithmeticError):
        return None


def _padded_tail(values: np.ndarray, memory: int) -> np.ndarray:
    """The last ``memory`` values, newest first, padded with the first value."""
    tail = values[::-1][:memory]
    if len(tail) < memory:
        tail = np.concatenate([tail, np.full(memory - len(tail), values[0])])
    return tail.astype(float)
