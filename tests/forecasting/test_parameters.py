"""``ForecastingParameters`` takes Azure's names as AutoMLConfig does."""

from __future__ import annotations

import pytest

from mlflow_automl.config import AutoMLConfigError
from mlflow_automl.forecasting.parameters import ForecastingParameters


def test_azure_names_set_our_fields():
    params = ForecastingParameters(
        time_column_name="date",
        freq="D",
        max_horizon=14,
        target_aggregation_function="sum",
        short_series_handling_configuration="pad",
        grain_column_names=["store"],
    )
    assert params.frequency == "D"
    assert params.forecast_horizon == 14
    assert params.target_aggregate_function == "sum"
    assert params.short_series_handling_config == "pad"
    assert params.time_series_id_column_names == ["store"]
    assert params.as_settings()["forecast_horizon"] == 14


def test_short_series_none_under_azures_name_means_raise():
    params = ForecastingParameters(short_series_handling_configuration=None)
    assert params.short_series_handling_config is None
    assert ForecastingParameters().short_series_handling_config == "auto"


def test_the_same_setting_under_both_names_must_agree():
    assert ForecastingParameters(freq="D", frequency="D").frequency == "D"
    with pytest.raises(AutoMLConfigError, match="max_horizon=7 and forecast_horizon=14"):
        ForecastingParameters(forecast_horizon=14, max_horizon=7)
