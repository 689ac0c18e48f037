"""Every forecasting learner, built from the plan like a trial builds it, fits real series and
forecasts every horizon step; statistical models, features and metrics in isolation."""

from __future__ import annotations

import pickle

import cloudpickle
import numpy as np
import pandas as pd
import pytest

import mlflow_automl as automl
from mlflow_automl.evaluation.metrics import compute_metrics
from mlflow_automl.forecasting.data import plan_forecasting
from mlflow_automl.forecasting.statistical import (
    AutoArimaModel,
    ExponentialSmoothingModel,
    SeasonalAverageModel,
    SeasonalNaiveModel,
)
from mlflow_automl.learners import get_learner, learner_names
from mlflow_automl.learners.registry import learners_for
from mlflow_automl.tasks import prepare_training_data

FORECASTING_NAMES = {
    "ElasticNet",
    "LightGBM",
    "GradientBoosting",
    "DecisionTree",
    "KNN",
    "LassoLars",
    "SGD",
    "RandomForest",
    "ExtremeRandomTrees",
    "XGBoostRegressor",
    "AutoArima",
    "Naive",
    "SeasonalNaive",
    "Average",
    "SeasonalAverage",
    "ExponentialSmoothing",
    "Prophet",
}


def test_names_follow_the_model_table():
    assert set(learner_names("forecasting")) == FORECASTING_NAMES


@pytest.fixture(scope="module")
def arrivals_data(arrivals):
    config = automl.AutoMLConfig(
        task="forecasting",
        training_data=arrivals,
        label_column_name="Arrivals",
        time_column_name="Quarter",
        forecast_horizon=6,
        n_cross_validations=2,
    )
    data = prepare_training_data(config)
    return data, plan_forecasting(data, "auto")


@pytest.mark.parametrize("name", sorted(FORECASTING_NAMES))
def test_every_learner_forecasts_each_series_and_step(name, arrivals_data):
    data, plan = arrivals_data
    learner = get_learner(name, "forecasting")
    params = learner.low_cost_params("forecasting", data.n_original, data.X.shape[1])
    train, valid = data.splits[-1]
    forecaster = plan.make_forecaster(learner, params)
    forecaster.fit(data.X.iloc[train], data.y[train])
    predicted = forecaster.predict(data.X.iloc[valid])
    assert predicted.shape == (len(valid),) and np.isfinite(predicted).all()
    metrics = compute_metrics(
        "forecasting", data.y[valid], predicted, scale=data.metric_scale[valid]
    )
    assert np.isfinite(metrics["mean_absolute_scaled_error"])
    if name in ("SeasonalNaive", "ExponentialSmoothing", "AutoArima", "LightGBM", "Prophet"):
        assert metrics["mean_absolute_scaled_error"] < 3.0  # sane on quarterly arrivals


def test_global_model_sees_no_future_rows(arrivals_data):
    """Changing every value after the cutoff must not change a fold's forecasts."""
    data, plan = arrivals_data
    learner = get_learner("LightGBM", "forecasting")
    params = learner.default_params("forecasting", data.n_original, data.X.shape[1])
    train, valid = data.splits[0]
    original = data.X.iloc[: data.n_original]
    future = np.setdiff1d(np.arange(data.n_original), train)
    poisoned = data.y[: data.n_original].copy()
    poisoned[future] = 1e9
    first = plan.make_forecaster(learner, params).fit(original, data.y[: data.n_original])
    del first  # fitting on everything works; the fold fit must only use `train` rows:
    a = plan.make_forecaster(learner, params).fit(original.iloc[train], data.y[train])
    b = plan.make_forecaster(learner, params).fit(original.iloc[train], poisoned[train])
    assert np.array_equal(a.predict(data.X.iloc[valid]), b.predict(data.X.iloc[valid]))
    assert original.iloc[train]["Quarter"].max() < data.X.iloc[valid]["Quarter"].min()


def test_forecast_before_the_end_of_history_is_refused(arrivals_data):
    data, plan = arrivals_data
    train, _ = data.splits[0]
    forecaster = plan.make_forecaster(get_learner("Naive", "forecasting"), {})
    forecaster.fit(data.X.iloc[train], data.y[train])
    with pytest.raises(ValueError, match="is not after the end of its training data"):
        forecaster.predict(data.X.iloc[train[:3]])
    unknown = data.X.iloc[[data.n_original]].assign(Origin="Mars")
    with pytest.raises(ValueError, match="series 'Mars' was not in the training data"):
        forecaster.predict(unknown)


def test_statistical_models_on_a_monthly_series(a10):
    y = a10["sales"].to_numpy()
    history, actual = y[:-12], y[-12:]
    steps = np.arange(1, 13)
    snaive = SeasonalNaiveModel(12).fit(history).predict(steps)
    assert np.array_equal(snaive, history[-12:])
    # Azure's SeasonalAverage: the latest season's mean, flat (the level of the last year).
    seasonal_average = SeasonalAverageModel(12).fit(history).predict(steps)
    assert np.allclose(seasonal_average, history[-12:].mean())
    assert np.allclose(SeasonalAverageModel(12).fit(history[:5]).predict(steps), history[:5].mean())
    arima = AutoArimaModel(max_fits=6, season_length=12).fit(history)
    assert np.mean(np.abs(arima.predict(steps) - actual)) < np.mean(np.abs(snaive - actual))


def test_lightgbm_is_queued_before_exponential_smoothing():
    """ExponentialSmoothing fits one optimiser per series and fold: on 148 monthly series its
    seasonal trials took 15-25 s of a 60 s search, and LightGBM's default (the best model
    there) never ran. Portfolio learners are queued cheapest first."""
    names = [learner.name for learner in learners_for("forecasting")]
    assert names.index("LightGBM") < names.index("ExponentialSmoothing")


def test_exponential_smoothing_seasonal_states_start_from_the_heuristic(a10):
    """A seasonal fit optimises the smoothing parameters only (fpp3 7.6's initial states):
    the estimated initial season made 148 monthly series x 3 folds overrun a trial."""
    y = a10["sales"].to_numpy()
    seasonal = ExponentialSmoothingModel("add", True, "add", season_length=12).fit(y[:-12])
    assert seasonal.initialization_ == "heuristic"
    optimised = seasonal.result_.params_formatted.query("optimized").index.tolist()
    assert optimised == [
        "smoothing_level",
        "smoothing_trend",
        "smoothing_seasonal",
        "damping_trend",
    ]
    assert np.mean(np.abs(seasonal.predict(np.arange(1, 13)) - y[-12:])) < np.mean(
        np.abs(y[-24:-12] - y[-12:])
    )  # better than seasonal naive on the held-out year
    # Too short for the heuristic (and for a season): estimated, and still a forecast.
    short = ExponentialSmoothingModel("add", True, "add", season_length=12).fit(y[:20])
    assert short.initialization_ == "estimated" and short.form_[2] is None
    assert np.isfinite(short.predict(np.arange(1, 13))).all()


def test_auto_arima_seasonal_difference_corrects_yesterdays_profile(elecdemand):
    """auto.arima's seasonal difference on half-hourly demand: the forecast is yesterday's
    profile plus a correction that fades over the day, closer to the last day of 2014 than
    both yesterday's profile alone (seasonal naive) and stlm's smooth STL profile."""
    y = elecdemand["demand"].to_numpy()
    history, actual = y[:-48], y[-48:]
    steps = np.arange(1, 49)
    differenced = AutoArimaModel(max_fits=10, seasonal="difference", season_length=48)
    forecast = differenced.fit(history).predict(steps)
    assert np.array_equal(differenced.last_season_, history[-48:])
    correction = np.abs(forecast - history[-48:])
    assert correction[:6].mean() > correction[-6:].mean()  # fades with the horizon
    stl = AutoArimaModel(max_fits=10, seasonal="stl", season_length=48).fit(history)
    mae = {
        "difference": np.mean(np.abs(forecast - actual)),
        "stl": np.mean(np.abs(stl.predict(steps) - actual)),
        "seasonal naive": np.mean(np.abs(history[-48:] - actual)),
    }
    assert min(mae, key=mae.get) == "difference", mae


def test_auto_arima_refuses_an_unknown_seasonal_form(a10):
    with pytest.raises(ValueError, match="seasonal='weekly'"):
        AutoArimaModel(seasonal="weekly", season_length=12).fit(a10["sales"].to_numpy())


def test_forecasting_metrics():
    y, yp = np.array([10.0, 20.0, 0.0]), np.array([12.0, 18.0, 0.0])
    metrics = compute_metrics("forecasting", y, yp, scale=np.array([2.0, 2.0, np.nan]))
    assert metrics["mean_absolute_scaled_error"] == pytest.approx(1.0)
    assert metrics["mean_absolute_percentage_error"] == pytest.approx(15.0)
    assert metrics["symmetric_mean_absolute_percentage_error"] == pytest.approx(
        100 * np.mean([2 / 11, 2 / 19])
    )
    assert np.isnan(compute_metrics("forecasting", y, yp)["mean_absolute_scaled_error"])


def test_holiday_and_calendar_features(elecdaily):
    from mlflow_automl.forecasting.features import HolidayCalendar
    from mlflow_automl.forecasting.timeseries import TimeGrid

    days = pd.date_range("2014-12-20", "2015-01-02", freq="D")
    flags = HolidayCalendar("AU").counts(days, TimeGrid(days[0], "D"))
    assert flags[days.get_loc("2014-12-25")] == 1 and flags[days.get_loc("2014-12-24")] == 0
    months = pd.date_range("2014-01-01", periods=12, freq="MS")
    counts = HolidayCalendar("AU").counts(months, TimeGrid(months[0], "MS"))
    assert counts[0] >= 2 and counts[11] >= 2  # New Year, Australia Day; Christmas, Boxing Day


def test_prophet_forecasts_on_the_calendar_and_survives_pickling(arrivals_data):
    data, plan = arrivals_data
    learner = get_learner("Prophet", "forecasting")
    train, valid = data.splits[-1]
    params = learner.default_params("forecasting", data.n_original, data.X.shape[1])
    forecaster = plan.make_forecaster(learner, params).fit(data.X.iloc[train], data.y[train])
    assert not forecaster.fallbacks_
    # The model is fitted on real quarters, so its yearly seasonality is on the calendar.
    fitted = next(iter(forecaster.models_.values())).model_
    assert fitted.history["ds"].dt.month.isin([1, 4, 7, 10]).all()
    restored = pickle.loads(cloudpickle.dumps(forecaster))
    X_valid = data.X.iloc[valid]
    assert np.array_equal(restored.predict(X_valid), forecaster.predict(X_valid))


def test_a_learner_whose_optional_package_is_missing(monkeypatch):
    from mlflow_automl.forecasting.learners import ProphetLearner

    monkeypatch.setattr(ProphetLearner, "requires", "no_such_package_for_prophet")
    names = [learner.name for learner in learners_for("forecasting")]
    assert "Prophet" not in names and "SeasonalNaive" in names
    with pytest.raises(ValueError, match="Prophet.*pip install 'mlflow-automl\\[no_such"):
        learners_for("forecasting", allowed=["SeasonalNaive", "Prophet"])
    assert [
        x.name for x in learners_for("forecasting", allowed=["Prophet"], blocked=["Prophet"])
    ] == []


def test_costly_per_series_fits_share_out_over_processes_with_the_same_forecasts(visnights_data):
    data, plan = visnights_data
    learner = get_learner("ExponentialSmoothing", "forecasting")
    train, valid = data.splits[-1]
    forecasts = {}
    for n_jobs in (1, 2):
        forecaster = plan.make_forecaster(learner, learner.defaults, n_jobs=n_jobs)
        assert forecaster._processes(data.n_series) == n_jobs  # 20 series: 2 processes
        forecaster.fit(data.X.iloc[train], data.y[train])
        forecasts[n_jobs] = forecaster.predict(data.X.iloc[valid])
    assert np.allclose(forecasts[1], forecasts[2])
    assert len(forecaster.models_) == data.n_series == 20
    # Closed-form models fit faster than a process starts: they stay in the caller.
    naive = plan.make_forecaster(get_learner("SeasonalNaive", "forecasting"), {}, n_jobs=2)
    assert naive._processes(data.n_series) == 1
