"""Forecasting end to end on real SQLite MLflow stores: child runs, the logged model forecasting
from a future frame after loading (pyfunc), charts, registration, known features and holidays."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pytest

import mlflow_automl as automl
from mlflow_automl import tracking


def test_multi_series_end_to_end_with_pyfunc_forecast(arrivals, sqlite_store, tmp_path):
    config = automl.AutoMLConfig(
        task="forecasting",
        training_data=arrivals,
        label_column_name="Arrivals",
        time_column_name="Quarter",
        forecast_horizon=4,
        allowed_models=["SeasonalNaive", "Naive", "ExponentialSmoothing", "LightGBM"],
        primary_metric="mean_absolute_scaled_error",
        iterations=7,
        compute_target="inprocess",
        registered_model_name="arrivals",
    )
    run = automl.submit(config, experiment_name="arrivals")
    children = run.get_children()
    assert len(children) == 7  # six trials and the voting ensemble, each a child run
    learners = {c.data.tags[tracking.TAG_LEARNER] for c in children}
    assert {"SeasonalNaive", "LightGBM", "VotingEnsemble"} <= learners
    assert all("mean_absolute_scaled_error" in c.data.metrics for c in children)
    assert all("symmetric_mean_absolute_percentage_error" in c.data.metrics for c in children)
    board = run.get_leaderboard()
    assert "StackEnsemble" not in set(board["learner"])  # stacking is off for forecasting
    assert run.run.data.params["validation_strategy"] == "rolling_origin"

    best_run, model = run.get_output()
    future = model.future_frame()
    assert len(future) == 16 and set(future["Origin"]) == set(arrivals["Origin"])
    forecast = model.forecast(future)
    assert list(forecast.columns) == ["Quarter", "Origin", "forecast"]
    loaded = mlflow.pyfunc.load_model(run.model_uri)
    assert np.allclose(loaded.predict(future), forecast["forecast"].to_numpy())
    registered = mlflow.pyfunc.load_model("models:/arrivals@champion")
    assert np.allclose(registered.predict(future), forecast["forecast"].to_numpy())

    artifacts = {
        a.path for a in mlflow.MlflowClient().list_artifacts(best_run.info.run_id, "charts")
    }
    assert {"charts/forecast_vs_actual.png", "charts/error_by_horizon.json"} <= artifacts
    path = mlflow.artifacts.download_artifacts(
        run_id=best_run.info.run_id, artifact_path="charts/error_by_horizon.json", dst_path=tmp_path
    )
    chart = json.loads(Path(path).read_text())
    assert chart["step"] == [1, 2, 3, 4] and len(chart["mean_absolute_error"]) == 4


def test_single_series_with_holidays_and_known_features(elecdaily, sqlite_store):
    history, future = elecdaily.iloc[:-14], elecdaily.iloc[-14:]
    config = automl.AutoMLConfig(
        task="forecasting",
        training_data=history,
        label_column_name="Demand",
        time_column_name="date",
        forecast_horizon=14,
        country_or_region_for_holidays="AU",
        feature_lags="auto",
        allowed_models=["SeasonalNaive", "ElasticNet", "LightGBM"],
        iterations=5,
        compute_target="inprocess",
        enable_voting_ensemble=False,
    )
    run = automl.submit(config, experiment_name="elec")
    summary = run.get_featurization_summary()
    assert "Holidays" in summary.loc[summary["RawFeatureName"] == "date", "Transformations"].iloc[0]
    assert {"Temperature", "WorkDay"} <= set(summary["RawFeatureName"])
    _, model = run.get_output()
    X_future = future.drop(columns=["Demand"])
    predicted = mlflow.pyfunc.load_model(run.model_uri).predict(X_future)
    assert predicted.shape == (14,) and np.isfinite(predicted).all()
    scores = run.score(future)
    assert np.isfinite(scores["mean_absolute_scaled_error"])
    if model.learner_name != "SeasonalNaive":  # a global model needs the known features
        with pytest.raises(ValueError, match="missing the column.*Temperature"):
            model.predict(X_future.drop(columns=["Temperature"]))


def test_time_budget_is_honoured(a10, sqlite_store):
    import time

    started = time.time()
    config = automl.AutoMLConfig(
        task="forecasting",
        training_data=a10,
        label_column_name="sales",
        time_column_name="month",
        forecast_horizon=12,
        experiment_timeout_minutes=0.4,
        model_explainability=False,
    )
    run = automl.submit(config, experiment_name="budget")
    # Everything included (worker start-up, model logging): the promise, on a busy machine too.
    assert time.time() - started <= 0.4 * 60 * 1.05 + 5
    assert run.get_output()[1].forecast().shape == (12, 2)
