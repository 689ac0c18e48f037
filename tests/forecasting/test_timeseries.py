"""Frequencies on pandas 2 and 3: the season, the second season and the calendar parts of every
alias either version produces, and a daily series that keeps its weekly season.

pandas 3 made ``Day`` a calendar offset (no longer a ``Tick``) and spells a one-day step "24h";
the season rules must not depend on either.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from pandas.tseries.frequencies import to_offset

import mlflow_automl as automl
from mlflow_automl.forecasting.data import plan_forecasting, prepare_forecasting_data
from mlflow_automl.forecasting.features import resolve_feature_spec
from mlflow_automl.forecasting.timeseries import (
    TimeGrid,
    calendar_parts,
    infer_frequency,
    normalize_frequency,
    season_length,
    second_season,
)
from mlflow_automl.learners.registry import LEARNERS

SUB_DAILY = ("hour", "dayofweek", "month")
DAILY = ("dayofweek", "month", "dayofyear")

# alias -> (season, second season, calendar parts)
FREQUENCIES = {
    "min": (1440, 7 * 1440, SUB_DAILY),
    "30min": (48, 336, SUB_DAILY),
    "h": (24, 168, SUB_DAILY),
    "2h": (12, 84, SUB_DAILY),
    "D": (7, 365, DAILY),
    "24h": (7, 365, DAILY),  # pandas 3's spelling of to_offset(Timedelta(days=1))
    "2D": (1, None, DAILY),
    "7D": (52, None, ("month",)),
    "B": (5, None, ("dayofweek", "month")),
    "W": (52, None, ("month",)),
    "W-SUN": (52, None, ("month",)),
    "W-MON": (52, None, ("month",)),
    "2W-SUN": (26, None, ("month",)),
    "SMS": (24, None, ("month",)),
    "MS": (12, None, ("month",)),
    "ME": (12, None, ("month",)),
    "BMS": (12, None, ("month",)),
    "QS": (4, None, ("quarter",)),
    "QS-OCT": (4, None, ("quarter",)),  # what pd.infer_freq says for quarters on pandas 2
    "QE": (4, None, ("quarter",)),
    "QE-DEC": (4, None, ("quarter",)),
    "YS": (1, None, ()),
    "YE": (1, None, ()),
}
# pandas-2 spellings that pandas 3 refuses; tested where the installed pandas accepts them.
LEGACY = {"T": "min", "H": "h", "M": "ME", "Q": "QE", "Q-DEC": "QE-DEC", "A": "YE", "AS": "YS"}


def _accepted(alias: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            to_offset(alias)
    except ValueError:
        return False
    return True


CASES = [pytest.param(alias, *expected, id=alias) for alias, expected in FREQUENCIES.items()] + [
    pytest.param(
        alias,
        *FREQUENCIES[modern],
        id=alias,
        marks=pytest.mark.skipif(not _accepted(alias), reason=f"pandas {pd.__version__}"),
    )
    for alias, modern in LEGACY.items()
]


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize(("alias", "season", "second", "calendar"), CASES)
def test_season_and_engineered_features_of_every_alias(alias, season, second, calendar):
    assert season_length(alias) == season
    assert second_season(alias) == second
    assert calendar_parts(alias) == calendar
    spec = resolve_feature_spec("auto", "auto", "auto", alias, season, None, 10**6)
    expected_fourier = tuple(p for p in (season, second) if p and p > 1)
    assert spec.fourier_periods == expected_fourier
    assert spec.calendar == calendar
    names = spec.names()
    for period in expected_fourier:
        assert f"sin_{period}_1" in names and f"cos_{period}_1" in names
    assert all(part in names for part in calendar)
    if season > 1:  # the seasonal lags
        assert {season - 1, season, season + 1} <= set(spec.lags)


@pytest.mark.parametrize("alias", ["D", "2D", "h", "30min", "W-SUN", "MS", "QS", "B"])
def test_time_grid_round_trips_positions(alias):
    times = pd.date_range("2021-01-04", periods=40, freq=alias)
    grid = TimeGrid(times[5], normalize_frequency(alias))
    positions = grid.positions(times)
    assert positions.tolist() == list(range(-5, 35))
    assert grid.times(positions).equals(pd.DatetimeIndex(times))
    # floor_positions serves aggregation, whose grid starts at the first period
    assert grid.floor_positions(times[5:] + pd.Timedelta(minutes=1)).tolist() == list(range(35))


def test_inferred_frequency_of_a_daily_series_with_gaps_is_daily():
    """A series where ``pd.infer_freq`` fails falls back to the commonest step; pandas 3
    spells a one-day step "24h", which used to lose the weekly season."""
    days = pd.date_range("2020-01-01", periods=90, freq="D")
    gappy = days.delete(np.arange(3, 90, 4))  # every fourth day missing: no run of 7 is regular
    freq = infer_frequency([gappy], "date")
    assert freq == "D" and season_length(freq) == 7
    weeks = pd.date_range("2020-01-05", periods=40, freq="7D").delete(np.arange(2, 40, 3))
    assert season_length(infer_frequency([weeks], "date")) == 52


# pandas 3 deprecates DatetimeIndex.dayofweek / dayofyear (the calendar features' source).
@pytest.mark.filterwarnings("error::DeprecationWarning")
def test_daily_series_keeps_its_weekly_season(elecdaily):
    """210 days of Victorian electricity demand (fpp2::elecdaily; working days draw more than
    weekends): seasonal naive must clearly beat naive on the validation windows, and the
    global models get the weekly Fourier terms and the day of week."""
    frame = elecdaily[["date", "Demand"]].head(210)
    config = automl.AutoMLConfig(
        task="forecasting",
        training_data=frame,
        label_column_name="Demand",
        time_column_name="date",
        forecast_horizon=7,
        n_cross_validations=4,
        model_explainability=False,
    )
    data = prepare_forecasting_data(config)
    assert data.layout.grid.freq == "D" and data.layout.season == 7
    assert 7 in data.spec.fourier_periods and "dayofweek" in data.spec.calendar
    assert {6, 7, 8} <= set(data.spec.lags)
    plan = plan_forecasting(data, "auto")

    def validation_mase(name: str) -> float:
        learner = LEARNERS[name]
        params = learner.low_cost_params("forecasting", data.n_rows, 1)
        errors = []
        for train, valid in data.splits:
            model = plan.make_forecaster(learner, params).fit(data.X.iloc[train], data.y[train])
            forecast = model.predict(data.X.iloc[valid])
            errors.append(np.abs(forecast - data.y[valid]) / data.metric_scale[valid])
        return float(np.mean(np.concatenate(errors)))

    naive, seasonal_naive = validation_mase("Naive"), validation_mase("SeasonalNaive")
    assert seasonal_naive < 0.7 * naive
    # SeasonalAverage is the latest week's mean: flat, but not the last value.
    train, valid = data.splits[-1]
    forecasts = {
        name: plan.make_forecaster(LEARNERS[name], {})
        .fit(data.X.iloc[train], data.y[train])
        .predict(data.X.iloc[valid])
        for name in ("Naive", "SeasonalNaive", "SeasonalAverage")
    }
    assert np.ptp(forecasts["SeasonalNaive"]) > 0
    assert not np.allclose(forecasts["SeasonalAverage"], forecasts["Naive"])
    # A global model builds the day-of-week features without pandas' deprecated attributes.
    learner = LEARNERS["ElasticNet"]
    params = learner.low_cost_params("forecasting", data.n_rows, 1)
    model = plan.make_forecaster(learner, params).fit(data.X.iloc[train], data.y[train])
    assert model.n_features_ == len(data.spec.names())
    assert np.isfinite(model.predict(data.X.iloc[valid])).all()
