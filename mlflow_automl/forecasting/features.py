"""Engineered features of the global regression forecasters: target lags, a rolling window,
Fourier terms of the seasons, calendar parts, holidays and lagged numeric features.

Target features are *differenced and scaled*: every lag and window statistic is taken relative
to the last value ``y[t-1]`` and divided by the series' scale (its mean absolute one-step
change), and the model learns the scaled change ``(y[t] - y[t-r]) / scale`` from a reference
``r``: the last value, or one season back when the series are seasonal
(:func:`choose_reference`; on half-hourly demand the model then learns corrections to
yesterday's profile instead of drifting from the last half hour over 48 steps). One model then
serves series of any level, and each series weighs in by its own noise, as MASE does.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlflow_automl.forecasting.timeseries import (
    TimeGrid,
    calendar_parts,
    fixed_step,
    second_season,
)


@dataclass(frozen=True)
class FeatureSpec:
    """Which features the global model gets; resolved once from the settings and the data."""

    lags: tuple[int, ...]
    window: int | None
    feature_lags: tuple[int, ...]
    fourier_periods: tuple[int, ...]
    calendar: tuple[str, ...]
    holiday_country: str | None
    reference: int = 1  # the model learns y[t] - y[t - reference] (1, or the season)
    stl: str | None = None  # use_stl: "season" | "season_trend" | None

    @property
    def memory(self) -> int:
        """How many past values a forecast step needs."""
        return max([*self.lags, self.window or 1, self.reference, 1])

    def names(self) -> list[str]:
        out = [f"lag_{k}" for k in self.lags if k > 1]
        if self.window:
            out += [f"rolling_mean_{self.window}", f"rolling_std_{self.window}"]
        out += stl_feature_names(self.stl)
        for period in self.fourier_periods:
            for k in range(1, _harmonics(period) + 1):
                out += [f"sin_{period}_{k}", f"cos_{period}_{k}"]
        out += list(self.calendar)
        if self.holiday_country:
            out.append(f"holidays_{self.holiday_country}")
        return out


def resolve_feature_spec(
    target_lags: Any,
    window: Any,
    feature_lags: Any,
    freq: str,
    season: int,
    holiday_country: str | None,
    longest_series: int,
    reference: int = 1,
    stl: str | None = None,
) -> FeatureSpec:
    """``'auto'`` lags: 1..max(3, min(season, 12)) and each season's lag +-1 (a season that
    fits three times in the longest series); ``'auto'`` window: the season (>= 3).
    ``reference``: see :func:`choose_reference`."""
    seasons = [p for p in (season, second_season(freq)) if p and p > 1]
    seasons = [p for p in seasons if 3 * p <= longest_series]
    if target_lags == "auto" or target_lags is None:
        lags = set(range(1, max(3, min(season, 12)) + 1))
        for period in seasons:
            lags |= {period - 1, period, period + 1}
    else:
        lags = {1, *target_lags}  # lag 1 is the reference every feature is relative to
    if window == "auto":
        window = max(3, season) if max(3, season) * 2 <= longest_series else None
    if feature_lags == "auto":
        feature_lags = [1]
    return FeatureSpec(
        lags=tuple(sorted(lags)),
        window=window,
        feature_lags=tuple(sorted(set(feature_lags or []))),
        fourier_periods=tuple(seasons),
        calendar=calendar_parts(freq),
        holiday_country=holiday_country,
        reference=reference if reference in seasons else 1,
        stl=stl,
    )


def choose_reference(values_by_series: list[np.ndarray], season: int, horizon: int) -> int:
    """What the global model's target is relative to: one season back, or the last value.

    The model learns a correction to a naive forecast; the closer that naive forecast, the less
    it has to learn and the less a recursive forecast drifts over the horizon. The season's lag
    is the reference when the series are seasonal: the median over series of the lag-``season``
    autocorrelation of the first differences is at least :data:`SEASONAL_ACF` (half-hourly
    electricity demand 0.88, monthly US employment 0.77, quarterly tourism 0.64; a daily stock
    price 0.13). One-step horizons always use the last value.
    """
    if season <= 1 or horizon <= 1:
        return 1
    correlations = []
    for values in values_by_series:
        change = np.diff(np.asarray(values, dtype=float))
        if len(change) <= 2 * season:
            continue
        change = change - change.mean()
        denominator = float(np.dot(change, change))
        if denominator > 0:
            correlations.append(float(np.dot(change[season:], change[:-season])) / denominator)
    if not correlations:
        return 1
    return season if float(np.median(correlations)) >= SEASONAL_ACF else 1


SEASONAL_ACF = 0.3  # far above the noise level 2 / sqrt(n) of a series without a season


def _harmonics(period: int) -> int:
    return max(1, min(3, period // 2))


class HolidayCalendar:
    """Holiday counts per period from the offline ``holidays`` package (no network)."""

    def __init__(self, country: str) -> None:
        self.country = country.upper()
        self._days: dict[int, np.ndarray] = {}

    def _dates(self, first_year: int, last_year: int) -> np.ndarray:
        import holidays

        key = first_year * 10000 + last_year
        if key not in self._days:
            calendar = holidays.country_holidays(
                self.country, years=range(first_year, last_year + 1)
            )
            self._days[key] = np.array(sorted(calendar), dtype="datetime64[D]")
        return self._days[key]

    def counts(self, times: pd.DatetimeIndex, grid: TimeGrid) -> np.ndarray:
        """Daily or finer: 1 on a holiday; coarser: the number of holidays in the period."""
        if len(times) == 0:
            return np.zeros(0)
        days = self._dates(int(times.min().year) - 1, int(times.max().year) + 1)
        start = times.values.astype("datetime64[D]")
        step = fixed_step(grid.freq)
        if step is not None and step <= pd.Timedelta(days=1):
            return np.isin(start, days).astype(float)
        end = (times + grid.offset).values.astype("datetime64[D]")
        return (np.searchsorted(days, end) - np.searchsorted(days, start)).astype(float)


# Feature names -> DatetimeIndex attributes: pandas 3 deprecates ``dayofweek``/``dayofyear``.
_CALENDAR_ATTRIBUTES = {"dayofweek": "day_of_week", "dayofyear": "day_of_year"}


def time_features(
    spec: FeatureSpec,
    positions: np.ndarray,
    times: pd.DatetimeIndex,
    grid: TimeGrid,
    holidays: HolidayCalendar | None,
) -> np.ndarray:
    """Fourier terms (by grid position), calendar parts and holidays of the target times."""
    columns = []
    for period in spec.fourier_periods:
        angle = 2 * np.pi * (positions % period) / period
        for k in range(1, _harmonics(period) + 1):
            columns += [np.sin(k * angle), np.cos(k * angle)]
    for part in spec.calendar:
        attribute = _CALENDAR_ATTRIBUTES.get(part, part)
        columns.append(np.asarray(getattr(times, attribute), dtype=float))
    if holidays is not None:
        columns.append(holidays.counts(times, grid))
    if not columns:
        return np.zeros((len(positions), 0))
    return np.column_stack(columns)


def target_features(spec: FeatureSpec, history: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Lag and window features from ``history`` (n, memory): column j holds ``y[t-1-j]``."""
    level = history[:, 0]
    columns = [(history[:, k - 1] - level) / scale for k in spec.lags if k > 1]
    if spec.window:
        recent = history[:, : spec.window]
        columns.append((recent.mean(axis=1) - level) / scale)
        columns.append(recent.std(axis=1) / scale)
    if not columns:
        return np.zeros((len(level), 0))
    return np.column_stack(columns)


STL_COMPONENTS = {"season": ("season",), "season_trend": ("season", "trend")}


def stl_feature_names(stl: str | None) -> list[str]:
    return [f"stl_{part}" for part in STL_COMPONENTS.get(stl, ())]


@dataclass(frozen=True)
class STLTail:
    """What a forecast needs of one series' STL decomposition: the components' latest values
    (for the reference periods still inside the history), the last seasonal cycle, which
    repeats over the horizon, and the trend's slope (its mean change over the last cycle),
    along which it continues."""

    season: np.ndarray  # the latest values, oldest first
    trend: np.ndarray
    period: int
    slope: float

    def at(self, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Season and trend at ``steps`` periods after the end of the history (0 = its last
        period, negative = earlier ones still held)."""
        steps = np.asarray(steps, dtype=np.int64)
        n = len(self.season)
        inside = np.clip(n - 1 + steps, 0, n - 1)
        cycle = self.season[n - self.period :]
        season = np.where(
            steps >= 1, cycle[(np.maximum(steps, 1) - 1) % self.period], self.season[inside]
        )
        trend = np.where(
            steps >= 1, self.trend[-1] + self.slope * np.maximum(steps, 0), self.trend[inside]
        )
        return season, trend


def stl_decompose(
    values: np.ndarray, period: int, keep: int
) -> tuple[np.ndarray, np.ndarray, STLTail]:
    """Seasonal and trend components of one series (statsmodels' STL, as Azure's use_stl) and
    the :class:`STLTail` holding the last ``keep`` periods. A series shorter than two cycles
    (or flat) has no season and a straight-line trend."""
    from statsmodels.tsa.seasonal import STL

    values = np.asarray(values, dtype=float)
    n = len(values)
    period = max(int(period), 1)
    if period >= 2 and n >= 2 * period + 1 and np.ptp(values) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = STL(values, period=period, robust=True).fit()
        seasonal, trend = np.asarray(fit.seasonal, float), np.asarray(fit.trend, float)
    else:
        seasonal, period = np.zeros(n), 1
        trend = np.polyval(np.polyfit(np.arange(n), values, 1), np.arange(n)) if n > 1 else values
    span = min(period, n - 1)
    slope = float(trend[-1] - trend[-1 - span]) / span if span > 0 else 0.0
    keep = max(keep, period)
    tail = STLTail(seasonal[-keep:].copy(), trend[-keep:].copy(), min(period, n), slope)
    return seasonal, trend, tail


def stl_features(spec: FeatureSpec, now: tuple, reference: tuple, scale) -> np.ndarray:
    """The STL features of rows: the change of each component (season, trend) from the
    reference period to the row's, in units of the series' scale, like the target the model
    learns, ``(y[t] - y[t - reference]) / scale``. ``now`` and ``reference`` are (season,
    trend) pairs of arrays."""
    parts = STL_COMPONENTS.get(spec.stl, ())
    columns = [(now[i] - reference[i]) / scale for i, part in enumerate(("season", "trend"))]
    return np.column_stack([c for c, part in zip(columns, ("season", "trend")) if part in parts])


def series_scale(values: np.ndarray) -> float:
    """Mean absolute one-step change; the mean absolute value for a flat series; else 1."""
    values = np.asarray(values, dtype=float)
    if len(values) > 1:
        change = float(np.mean(np.abs(np.diff(values))))
        if change > 0:
            return change
    level = float(np.mean(np.abs(values))) if len(values) else 0.0
    return level if level > 0 else 1.0
