"""STL features (Azure's ``use_stl``): the setting, the decomposition and its extension over the
horizon, and the global models that use them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlflow_automl as automl
from mlflow_automl.config import AutoMLConfigError
from mlflow_automl.forecasting.data import plan_forecasting, prepare_forecasting_data
from mlflow_automl.forecasting.features import stl_decompose
from mlflow_automl.forecasting.parameters import ForecastingParameters
from mlflow_automl.learners.registry import LEARNERS


def _config(frame: pd.DataFrame, **settings) -> automl.AutoMLConfig:
    base = {"time_column_name": "month", "label_column_name": "sales", "forecast_horizon": 12}
    return automl.AutoMLConfig(task="forecasting", training_data=frame, **(base | settings))


def test_use_stl_is_a_setting_and_a_parameter(a10):
    assert ForecastingParameters.from_config(_config(a10, use_stl="season")).use_stl == "season"
    params = ForecastingParameters(
        time_column_name="month", forecast_horizon=12, use_stl="season_trend"
    )
    config = automl.AutoMLConfig(
        task="forecasting",
        training_data=a10,
        label_column_name="sales",
        forecasting_parameters=params,
    )
    assert ForecastingParameters.from_config(config).use_stl == "season_trend"
    assert ForecastingParameters.from_config(_config(a10)).use_stl is None  # Azure's default
    with pytest.raises(AutoMLConfigError, match="use_stl"):
        _config(a10, use_stl="trend")


def test_use_stl_without_a_season_is_refused_before_any_run(a10):
    years = a10.groupby(a10["month"].dt.year, as_index=False)["sales"].sum()
    years["month"] = pd.to_datetime(years["month"].astype(str), format="%Y")
    with pytest.raises(AutoMLConfigError, match="use_stl='season' needs a season"):
        prepare_forecasting_data(_config(years, use_stl="season", forecast_horizon=2))


def test_stl_components_continue_over_the_horizon(a10):
    y = a10["sales"].to_numpy()
    season, trend, tail = stl_decompose(y, 12, keep=12)
    assert np.allclose(season[-24:-12], season[-12:], atol=0.15 * np.ptp(season[-12:]))
    steps = np.arange(1, 25)
    future_season, future_trend = tail.at(steps)
    assert np.array_equal(future_season[:12], season[-12:])  # the last cycle repeats
    assert np.array_equal(future_season[12:], season[-12:])
    slope = (trend[-1] - trend[-13]) / 12
    assert np.allclose(future_trend, trend[-1] + slope * steps)
    # Steps at or before the end of the history are the fitted components.
    past_season, past_trend = tail.at(np.array([0, -5, -11]))
    assert np.array_equal(past_season, season[[-1, -6, -12]])
    assert np.array_equal(past_trend, trend[[-1, -6, -12]])
    # A series too short for a season: no season, a straight-line trend.
    short_season, short_trend, _ = stl_decompose(y[:20], 12, keep=12)
    assert not short_season.any() and np.allclose(np.diff(short_trend, 2), 0)


@pytest.mark.parametrize("use_stl", ["season", "season_trend"])
def test_global_models_get_the_stl_features(a10, use_stl):
    data = prepare_forecasting_data(_config(a10, use_stl=use_stl, n_cross_validations=2))
    expected = ["stl_season"] + ["stl_trend"] * (use_stl == "season_trend")
    names = data.spec.names()
    assert [n for n in names if n.startswith("stl_")] == expected
    plan = plan_forecasting(data, "auto")
    assert "STL" in plan.summary_frame().set_index("RawFeatureName").loc["sales", "Transformations"]
    learner = LEARNERS["LightGBM"]
    params = learner.default_params("forecasting", data.n_rows, 1)
    train, valid = data.splits[-1]
    forecaster = plan.make_forecaster(learner, params).fit(data.X.iloc[train], data.y[train])
    assert forecaster.n_features_ == len(names)
    forecast = forecaster.predict(data.X.iloc[valid])
    assert forecast.shape == (12,) and np.isfinite(forecast).all()
    # Without the setting, the same model has len(expected) features fewer.
    plain = prepare_forecasting_data(_config(a10, n_cross_validations=2))
    assert len(plain.spec.names()) == len(names) - len(expected)
