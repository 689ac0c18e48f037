"""Univariate statistical models, fitted per series: Naive, SeasonalNaive, Average,
SeasonalAverage, ExponentialSmoothing (statsmodels Holt-Winters), AutoArima (a stepwise
order search over statsmodels' SARIMAX, after Hyndman & Khandakar 2008) and Prophet (optional
``prophet`` package).

Each model has the contract ``fit(y) -> self`` on one series' values in time order and
``predict(steps) -> ndarray`` for integer steps >= 1 after its last value. Hyperparameters are
constructor arguments (scikit-learn style), so a :class:`~mlflow_automl.learners.base.Learner`
declares and tunes them like any estimator's.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator


class UnivariateModel(BaseEstimator):
    """Base of the per-series models; ``season_length`` is set from the data's frequency.
    A model with ``needs_time`` also gets the values' timestamps: ``fit(y, times)`` and
    ``predict(steps, times)``."""

    needs_time = False
    # An optimiser per series (ETS, ARIMA, Prophet): worth spreading a many-series fit over
    # processes. The closed-form models fit faster than a process starts.
    costly_fit = False

    def fit(self, y: np.ndarray) -> UnivariateModel:
        raise NotImplementedError

    def predict(self, steps: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def _check_steps(steps: Any) -> np.ndarray:
    steps = np.asarray(steps, dtype=np.int64)
    if steps.size and steps.min() < 1:
        raise ValueError("forecast steps must be >= 1")
    return steps


class NaiveModel(UnivariateModel):
    """The last observed value, for every step."""

    def fit(self, y: np.ndarray) -> NaiveModel:
        self.last_ = float(np.asarray(y, dtype=float)[-1])
        return self

    def predict(self, steps: np.ndarray) -> np.ndarray:
        return np.full(len(_check_steps(steps)), self.last_)


class SeasonalNaiveModel(UnivariateModel):
    """The value one season earlier; the naive forecast while the history is under a season."""

    def __init__(self, season_length: int = 1) -> None:
        self.season_length = season_length

    def fit(self, y: np.ndarray) -> SeasonalNaiveModel:
        y = np.asarray(y, dtype=float)
        m = self.season_length if len(y) >= self.season_length else 1
        self.last_season_ = y[-max(1, m) :]
        return self

    def predict(self, steps: np.ndarray) -> np.ndarray:
        steps = _check_steps(steps)
        m = len(self.last_season_)
        return self.last_season_[(steps - 1) % m]


class AverageModel(UnivariateModel):
    """The mean of the whole history."""

    def fit(self, y: np.ndarray) -> AverageModel:
        self.mean_ = float(np.mean(np.asarray(y, dtype=float)))
        return self

    def predict(self, steps: np.ndarray) -> np.ndarray:
        return np.full(len(_check_steps(steps)), self.mean_)


class SeasonalAverageModel(UnivariateModel):
    """The mean of the latest season, carried forward (Azure's definition). Averaging one
    whole season takes the season out and keeps the current level; a per-position mean over
    the whole history would forecast a series that has grown at its old level."""

    def __init__(self, season_length: int = 1) -> None:
        self.season_length = season_length

    def fit(self, y: np.ndarray) -> SeasonalAverageModel:
        y = np.asarray(y, dtype=float)
        self.mean_ = float(np.mean(y[-max(1, self.season_length) :]))
        return self

    def predict(self, steps: np.ndarray) -> np.ndarray:
        return np.full(len(_check_steps(steps)), self.mean_)


class ExponentialSmoothingModel(UnivariateModel):
    """Holt-Winters exponential smoothing (statsmodels), parameters estimated by MLE.

    A seasonal component needs two full seasons and a multiplicative one positive values; when
    the series cannot support the requested form, the closest simpler form is fitted.
    """

    costly_fit = True

    def __init__(
        self,
        trend: str | None = None,
        damped_trend: bool = False,
        seasonal: str | None = None,
        season_length: int = 1,
    ) -> None:
        self.trend = trend
        self.damped_trend = damped_trend
        self.seasonal = seasonal
        self.season_length = season_length

    def fit(self, y: np.ndarray) -> ExponentialSmoothingModel:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        y = np.asarray(y, dtype=float)
        m = self.season_length
        seasonal = self.seasonal if m > 1 and len(y) >= 2 * m + 2 else None
        positive = bool(np.all(y > 0))
        if seasonal == "mul" and not positive:
            seasonal = "add"
        trend = self.trend if len(y) >= 4 else None
        # A seasonal model's initial states come from Hyndman & Athanasopoulos' heuristic
        # (fpp3 7.6) instead of being estimated with the smoothing parameters: 3 to 4
        # parameters to optimise instead of 15 to 17 for a monthly season. On US employment
        # (37 series, 3 folds) validation MASE 0.437 instead of 0.426 for a sixth of the CPU;
        # the estimated form made 148 series x 3 folds overrun the trial timeout. Without a
        # season, estimating the level (and trend) is cheap and better than y[0].
        heuristic = seasonal is not None and len(y) >= max(10 + 2 * (m // 2), 2 * m)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = ExponentialSmoothing(
                y,
                trend=trend,
                damped_trend=bool(self.damped_trend and trend),
                seasonal=seasonal,
                seasonal_periods=m if seasonal else None,
                initialization_method="heuristic" if heuristic else "estimated",
            )
            self.result_ = model.fit()
        self.form_ = (trend, bool(self.damped_trend and trend), seasonal)
        self.initialization_ = "heuristic" if heuristic else "estimated"
        return self

    def predict(self, steps: np.ndarray) -> np.ndarray:
        steps = _check_steps(steps)
        if not steps.size:
            return np.zeros(0)
        path = np.asarray(self.result_.forecast(int(steps.max())), dtype=float)
        return path[steps - 1]


class AutoArimaModel(UnivariateModel):
    """ARIMA with automatic order selection, after R's ``auto.arima`` / ``stlm``.

    A series is treated as seasonal when its STL seasonal strength exceeds 0.64 (Hyndman's
    threshold, the test of ``auto.arima``'s ``nsdiffs``). ``seasonal`` says how:

    * ``"difference"`` (``auto.arima``): one seasonal difference, ``D = 1``; the ARMA models the
      change from a season earlier, so the forecast is last season's value plus a correction
      that fades with the horizon. No seasonal ARMA terms: with a season of 48 statsmodels
      fits them in minutes.
    * ``"stl"`` (``stlm``): the series is seasonally adjusted with STL and the last season of
      the seasonal component is added back to the forecasts; a smooth, fixed profile.
    * ``None``: no seasonal treatment.

    Then differencing ``d`` by repeated KPSS tests (``d + D <= 2``) and a stepwise search over
    (p, q) minimising AICc, at most ``max_fits`` fits, with a constant while ``d + D <= 1``
    (the mean, or a drift), as in ``auto.arima``.
    """

    costly_fit = True

    def __init__(
        self,
        max_fits: int = 16,
        seasonal: str | None = "difference",
        max_d: int = 2,
        season_length: int = 1,
    ) -> None:
        self.max_fits = max_fits
        self.seasonal = seasonal
        self.max_d = max_d
        self.season_length = season_length

    def fit(self, y: np.ndarray) -> AutoArimaModel:
        if self.seasonal not in _SEASONAL_FORMS:
            raise ValueError(
                f"AutoArima seasonal={self.seasonal!r}: expected one of {list(_SEASONAL_FORMS)}"
            )
        y = np.asarray(y, dtype=float)
        m = self.season_length if self.seasonal and self.season_length > 1 else 1
        self.season_component_ = None  # stl: the seasonal profile added back
        self.last_season_ = None  # difference: the values one season before the forecasts
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seasonal = _strong_season(y, m) if m > 1 else None
            if seasonal is not None and self.seasonal == "stl":
                # The next season repeats the last observed one, right after the last value.
                y, self.season_component_ = y - seasonal, seasonal[-m:]
            elif seasonal is not None:
                self.last_season_, y = y[-m:].copy(), y[m:] - y[:-m]
            seasonal_d = int(self.last_season_ is not None)
            # Standardised values keep the optimiser well conditioned (seconds -> milliseconds).
            self.center_, self.spread_ = float(np.mean(y)), float(np.std(y)) or 1.0
            y = (y - self.center_) / self.spread_
            d = _ndiffs(y, min(self.max_d, 2 - seasonal_d))
            # Differencing by hand: an ARMA on the differenced series fits in milliseconds,
            # SARIMAX's in-model differencing in seconds. Forecasts are integrated back.
            self.last_levels_ = [np.diff(y, n=k)[-1] for k in range(d)]
            self.result_, self.order_ = self._search(np.diff(y, n=d), d, drift=d + seasonal_d <= 1)
        return self

    def _search(self, y: np.ndarray, d: int, drift: bool) -> tuple[Any, tuple]:
        starts = [(2, 2), (0, 0), (1, 0), (0, 1)]
        tried: dict[tuple, float] = {}
        results: dict[tuple, Any] = {}
        # Some orders take statsmodels seconds to fit; the search stops adding fits past this.
        give_up = time.perf_counter() + _SEARCH_SECONDS

        def attempt(order: tuple) -> None:
            if order in tried or len(tried) >= self.max_fits:
                return
            if results and time.perf_counter() > give_up:
                return
            p, q = order
            if min(order) < 0 or p > _MAX_ORDER or q > _MAX_ORDER:
                return
            tried[order] = np.inf
            result = _fit_arima(y, (p, 0, q), drift=drift)
            if result is not None:
                tried[order], results[order] = _aicc(result), result

        for order in starts:
            attempt(order)
        best = min(tried, key=tried.get)
        improved = True
        while improved and len(tried) < self.max_fits and time.perf_counter() < give_up:
            improved = False
            p, q = best
            for dp, dq in _STEPS:
                attempt((p + dp, q + dq))
            candidate = min(tried, key=tried.get)
            if tried[candidate] < tried[best]:
                best, improved = candidate, True
        if best not in results:
            raise ValueError("no ARIMA order could be fitted")
        return results[best], (best[0], d, best[1])

    def predict(self, steps: np.ndarray) -> np.ndarray:
        steps = _check_steps(steps)
        if not steps.size:
            return np.zeros(0)
        path = np.asarray(self.result_.forecast(int(steps.max())), dtype=float)
        for level in reversed(self.last_levels_):  # undo the differencing, innermost last
            path = level + np.cumsum(path)
        path = path * self.spread_ + self.center_
        if self.last_season_ is not None:
            path = _undo_seasonal_difference(path, self.last_season_)
        out = path[steps - 1]
        if self.season_component_ is not None:
            season = self.season_component_
            out = out + season[(steps - 1) % len(season)]
        return out


_SEASONAL_FORMS = ("difference", "stl", None)
_MAX_ORDER = 3
_SEARCH_SECONDS = 0.3  # per series: 20 series x 3 folds at 1 s ate most of a 60 s budget
_STEPS = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1)]


def _undo_seasonal_difference(changes: np.ndarray, last_season: np.ndarray) -> np.ndarray:
    """Forecasts from forecast seasonal differences: each step adds its change to the value
    one season earlier (observed for the first season, forecast after)."""
    m, n = len(last_season), len(changes)
    seasons = -(-n // m)
    padded = np.zeros(seasons * m)
    padded[:n] = changes
    padded[:m] += last_season
    return padded.reshape(seasons, m).cumsum(axis=0).ravel()[:n]


def _fit_arima(y: np.ndarray, order: tuple, drift: bool = True) -> Any:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    # On the differenced series: a constant is the mean (d + D = 0) or a drift (d + D = 1),
    # as in auto.arima; none after two differences.
    trend = "c" if drift else None
    try:
        model = SARIMAX(
            y,
            order=order,
            trend=trend,
            enforce_stationarity=True,
            enforce_invertibility=True,
            concentrate_scale=True,
        )
        result = model.fit(disp=False, maxiter=30)
    except (ValueError, np.linalg.LinAlgError, IndexError):
        return None
    return result if np.isfinite(result.aic) else None


def _aicc(result: Any) -> float:
    k = len(result.params)
    n = result.nobs
    return float(result.aic + (2 * k * (k + 1)) / max(1, n - k - 1))


def _ndiffs(y: np.ndarray, max_d: int) -> int:
    from statsmodels.tsa.stattools import kpss

    d = 0
    series = y
    while d < max_d and len(series) > 10 and np.ptp(series) > 0:
        try:
            p_value = kpss(series, regression="c", nlags="auto")[1]
        except (ValueError, OverflowError):
            break
        if p_value >= 0.05:
            break
        series = np.diff(series)
        d += 1
    return d


def _strong_season(y: np.ndarray, m: int) -> np.ndarray | None:
    """STL's seasonal component of ``y`` when its seasonal strength exceeds 0.64 (Hyndman's
    threshold), else None. One STL fit serves both the test and the ``stl`` adjustment."""
    from statsmodels.tsa.seasonal import STL

    if len(y) < 2 * m + 1 or np.ptp(y) == 0:
        return None
    fit = STL(y, period=m, robust=False).fit()
    remainder, seasonal = fit.resid, np.asarray(fit.seasonal, dtype=float)
    denominator = np.var(remainder + seasonal)
    strength = 0.0 if denominator == 0 else max(0.0, 1.0 - np.var(remainder) / denominator)
    return seasonal if strength > 0.64 else None


class ProphetModel(UnivariateModel):
    """Prophet (the optional ``prophet`` package): a piecewise-linear trend plus Fourier
    seasonalities on the calendar, so it needs each value's timestamp (``needs_time``).
    Prophet chooses the seasonalities the data's span and frequency support (yearly, weekly,
    daily)."""

    needs_time = True
    costly_fit = True

    def __init__(
        self,
        seasonality_mode: str = "additive",
        changepoint_prior_scale: float = 0.05,
        seasonality_prior_scale: float = 10.0,
    ) -> None:
        self.seasonality_mode = seasonality_mode
        self.changepoint_prior_scale = changepoint_prior_scale
        self.seasonality_prior_scale = seasonality_prior_scale

    def fit(self, y: np.ndarray, times: Any = None) -> ProphetModel:
        import logging

        import pandas as pd

        # Prophet logs an error when plotly is missing, and cmdstanpy a line per fit; cmdstanpy
        # sets its level when imported, so it is quietened after the import.
        logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)
        from prophet import Prophet

        for name in ("cmdstanpy", "prophet"):
            logging.getLogger(name).setLevel(logging.WARNING)

        if times is None:
            raise ValueError("Prophet needs the timestamps of the values it is fitted on")
        frame = pd.DataFrame({"ds": pd.DatetimeIndex(times), "y": np.asarray(y, dtype=float)})
        model = Prophet(
            seasonality_mode=self.seasonality_mode,
            changepoint_prior_scale=self.changepoint_prior_scale,
            seasonality_prior_scale=self.seasonality_prior_scale,
            uncertainty_samples=0,  # point forecasts only: sampling intervals costs seconds
        )
        model.fit(frame)
        model.stan_fit = None  # the optimiser's handle on temporary files; params are kept
        self.model_ = model
        return self

    def predict(self, steps: np.ndarray, times: Any = None) -> np.ndarray:
        import pandas as pd

        _check_steps(steps)
        if times is None:
            raise ValueError("Prophet forecasts for timestamps: pass the times to forecast")
        future = pd.DataFrame({"ds": pd.DatetimeIndex(times)})
        return np.asarray(self.model_.predict(future)["yhat"], dtype=float)
