"""Time-series checks and repairs, series detection, short series and rolling-origin folds:
every bad input fails before any MLflow run exists, with the series / column / value named."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest

import mlflow_automl as automl
from mlflow_automl.config import AutoMLConfigError
from mlflow_automl.tasks import prepare_training_data


def _config(frame: pd.DataFrame, **settings) -> automl.AutoMLConfig:
    base = {"time_column_name": "month", "label_column_name": "sales", "forecast_horizon": 12}
    return automl.AutoMLConfig(task="forecasting", training_data=frame, **(base | settings))


def test_single_series_folds_are_rolling_origin_without_leakage(a10):
    data = prepare_training_data(_config(a10, n_cross_validations=3, cv_step_size=6))
    assert data.strategy.kind == "rolling_origin" and len(data.splits) == 3
    times = data.X["month"]
    previous_cutoff = None
    for train, valid in data.splits:
        # no validation row is at or before any training row's time: no future in training
        assert times.iloc[train].max() < times.iloc[valid].min()
        assert len(valid) == 12 and valid.min() >= data.n_original  # copies, not originals
        assert (
            data.windows.loc[valid - data.n_original, "step"].to_numpy() == np.arange(1, 13)
        ).all()
        if previous_cutoff is not None:  # origins roll forward by cv_step_size
            assert times.iloc[train].max() - previous_cutoff == pd.DateOffset(months=6) or (
                times.iloc[train].max() == previous_cutoff + pd.DateOffset(months=6)
            )
        previous_cutoff = times.iloc[train].max()
    # overlapping windows (step 6 < horizon 12) are scored once per fold
    assert len(data.validation_rows) == 36
    assert data.strategy.describe().startswith("rolling-origin cross-validation, 3 folds")


def test_multi_series_detected_and_cut_at_one_time(arrivals):
    config = automl.AutoMLConfig(
        task="forecasting",
        training_data=arrivals,
        label_column_name="Arrivals",
        time_column_name="Quarter",
        forecast_horizon=4,
    )
    data = prepare_training_data(config)
    assert data.layout.id_columns == ("Origin",) and data.n_series == 4
    assert data.layout.grid.freq.startswith("QS") and data.layout.season == 4
    assert any(g.name == "Time series ID detection" for g in data.guardrails)
    for train, valid in data.splits:
        # one cutoff for all series: no series' training rows reach into any validation window
        assert data.X["Quarter"].iloc[train].max() < data.X["Quarter"].iloc[valid].min()
        assert data.X["Origin"].iloc[valid].nunique() == 4


def test_gaps_and_missing_targets_are_forward_filled(a10):
    frame = a10.drop(index=[50, 51]).copy()
    frame.loc[100, "sales"] = np.nan
    data = prepare_training_data(_config(frame))
    assert data.n_original == len(a10)
    assert data.y[50] == data.y[49] == data.y[51]
    assert data.y[100] == data.y[99]
    rails = {g.name: g for g in data.guardrails}
    assert rails["Missing time steps"].status == "done"
    assert rails["Missing target values"].status == "done"


def test_duplicate_timestamps_error_or_aggregate(a10):
    frame = pd.concat([a10, a10.iloc[[10]]], ignore_index=True)
    with pytest.raises(AutoMLConfigError, match=r"duplicate timestamps \(1992-05-01"):
        prepare_training_data(_config(frame))
    data = prepare_training_data(_config(frame, target_aggregate_function="sum"))
    assert data.y[10] == pytest.approx(2 * a10["sales"].iloc[10])


def test_irregular_timestamps_error_names_value_and_can_be_aggregated(a10):
    frame = a10.copy()
    frame.loc[20, "month"] = frame.loc[20, "month"] + pd.Timedelta(days=9)
    with pytest.raises(AutoMLConfigError, match="irregular.*not on the 'MS' grid"):
        prepare_training_data(_config(frame, frequency="MS"))
    daily = pd.DataFrame(
        {"month": pd.date_range("2000-01-01", periods=400, freq="D"), "sales": np.arange(400.0)}
    )
    data = prepare_training_data(
        _config(daily, frequency="MS", target_aggregate_function="mean", forecast_horizon=2)
    )
    assert data.n_original == 14 and data.y[0] == pytest.approx(15.0)  # mean of Jan 0..30


def test_unparseable_time_column_names_the_value(a10):
    frame = a10.astype({"month": str})
    frame.loc[7, "month"] = "not a date"
    with pytest.raises(
        AutoMLConfigError, match=r"time column 'month': cannot parse 'not a date' \(row 7\)"
    ):
        prepare_training_data(_config(frame))


def test_horizon_too_long_and_short_series(arrivals):
    with pytest.raises(AutoMLConfigError, match="forecast_horizon=300 is too long"):
        prepare_training_data(
            automl.AutoMLConfig(
                task="forecasting",
                training_data=arrivals,
                label_column_name="Arrivals",
                time_column_name="Quarter",
                forecast_horizon=300,
            )
        )
    short = arrivals[~((arrivals["Origin"] == "UK") & (arrivals.index % 127 < 110))]
    settings = dict(
        task="forecasting",
        training_data=short,
        label_column_name="Arrivals",
        time_column_name="Quarter",
        time_series_id_column_names="Origin",
        forecast_horizon=8,
    )
    with pytest.raises(AutoMLConfigError, match=r"too short.*'UK' \("):
        prepare_training_data(automl.AutoMLConfig(short_series_handling_config=None, **settings))
    dropped = prepare_training_data(automl.AutoMLConfig(**settings))  # auto: some long -> drop
    assert dropped.n_series == 3 and "UK" not in set(dropped.X["Origin"])
    padded = prepare_training_data(
        automl.AutoMLConfig(short_series_handling_config="pad", **settings)
    )
    assert padded.n_series == 4
    uk_valid = padded.windows[padded.windows["series"] == "UK"]
    assert len(uk_valid) > 0  # scored on its real periods only
    first_uk = short[short["Origin"] == "UK"]["Arrivals"].iloc[0]
    uk = padded.X.iloc[: padded.n_original]["Origin"] == "UK"
    assert padded.y[: padded.n_original][uk.to_numpy()][0] == first_uk


def test_bad_input_creates_no_mlflow_run(a10, sqlite_store):
    frame = a10.astype({"sales": object})
    frame.loc[3, "sales"] = "lots"
    with pytest.raises(AutoMLConfigError, match=r"target column 'sales' must be numeric.*'lots'"):
        automl.submit(_config(frame, experiment_timeout_minutes=1), experiment_name="bad")
    assert (
        mlflow.get_experiment_by_name("bad") is None
        or not mlflow.search_runs(experiment_names=["bad"]).shape[0]
    )


def test_settings_rules_and_parameters_object(a10):
    from mlflow_automl.forecasting import ForecastingParameters

    params = ForecastingParameters(
        time_column_name="month", forecast_horizon=6, target_lags=[1, 12]
    )
    config = automl.AutoMLConfig(
        task="forecasting",
        training_data=a10,
        label_column_name="sales",
        forecasting_parameters=params,
    )
    assert config.forecast_horizon == 6 and config.target_lags == [1, 12]
    assert config.enable_stack_ensemble is False and config.enable_voting_ensemble is True
    with pytest.raises(AutoMLConfigError, match="given both as a setting"):
        automl.AutoMLConfig(
            task="forecasting",
            training_data=a10,
            label_column_name="sales",
            forecasting_parameters=params,
            forecast_horizon=3,
        )
    with pytest.raises(AutoMLConfigError, match="needs time_column_name"):
        automl.AutoMLConfig(task="forecasting", training_data=a10, label_column_name="sales")
    with pytest.raises(AutoMLConfigError, match="only apply to task='forecasting'"):
        automl.AutoMLConfig(
            task="regression", training_data=a10, label_column_name="sales", forecast_horizon=3
        )
    with pytest.raises(AutoMLConfigError, match="country_or_region_for_holidays='Atlantis'"):
        _config(a10, country_or_region_for_holidays="Atlantis")
    with pytest.raises(AutoMLConfigError, match="validation_size is not supported"):
        _config(a10, validation_size=0.2)
    with pytest.raises(AutoMLConfigError, match="Unknown model 'ForecastTCN'"):
        _config(a10, allowed_models=["ForecastTCN"])


def test_recency_weights_halve_every_two_folds_back(visnights_data):
    data, _ = visnights_data
    weights = data.recency_weights()
    folds = data.windows["fold"].to_numpy()
    copies = weights[data.n_original :]
    assert (weights[: data.n_original] == 1).all()
    assert (copies[folds == folds.max()] == 1).all()  # the latest fold
    assert copies[folds == folds.max() - 2] == pytest.approx(0.5)
    assert copies[folds == folds.max() - 1] == pytest.approx(0.5**0.5)
