"""``ForecastingParameters``: the forecasting settings as one object (Azure's class of that name).

``AutoMLConfig(task="forecasting", forecasting_parameters=ForecastingParameters(...))`` and the
same settings passed as keywords (``time_column_name=..., forecast_horizon=...``) are
equivalent; :meth:`ForecastingParameters.from_config` gives the resolved settings (defaults
applied) to the forecasting code either way.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, fields
from typing import Any

# Setting names of AutoMLConfig; the object's fields are spelled the same way.
_SETTING_NAMES: tuple[str, ...] = (
    "time_column_name",
    "time_series_id_column_names",
    "forecast_horizon",
    "target_lags",
    "target_rolling_window_size",
    "feature_lags",
    "frequency",
    "seasonality",
    "drop_column_names",
    "short_series_handling_config",
    "country_or_region_for_holidays",
    "cv_step_size",
    "target_aggregate_function",
    "use_stl",
)


@dataclass
class ForecastingParameters:
    """Forecasting settings.

    Args:
        time_column_name: the column holding the timestamps (required).
        time_series_id_column_names: columns that identify each series in a long frame; detected
            when not given and the timestamps repeat.
        forecast_horizon: how many periods ahead to forecast (default 1).
        target_lags: ``'auto'`` (default: 1..season and the seasonal lags) or lags as integers.
        target_rolling_window_size: ``'auto'`` (default: the season length) or a window >= 2.
        feature_lags: ``'auto'`` (lag 1) or lags of the numeric features; ``None``: no lags.
        frequency: pandas frequency alias; inferred from the data when not given.
        seasonality: ``'auto'`` (from the frequency) or the season length in periods.
        drop_column_names: columns to ignore.
        short_series_handling_config: ``'auto'`` (pad short series when all are short, drop them
            otherwise), ``'pad'``, ``'drop'``, or ``None`` (a short series is an error).
        country_or_region_for_holidays: ISO code for holiday features (``holidays`` package).
        cv_step_size: ``'auto'`` (= the horizon) or periods between rolling-origin folds.
        target_aggregate_function: ``'sum' | 'mean' | 'min' | 'max'``: aggregate duplicate or
            off-grid timestamps to the frequency instead of rejecting them.
        use_stl: ``'season'`` or ``'season_trend'``: the STL decomposition of each series'
            target gives the global regression models its season (and trend) component as
            features, extended over the horizon; ``None`` (default): no STL features.
    """

    time_column_name: str | None = None
    time_series_id_column_names: list[str] | str | None = None
    forecast_horizon: int | None = None
    target_lags: str | int | list[int] | None = None
    target_rolling_window_size: str | int | None = None
    feature_lags: str | int | list[int] | None = None
    frequency: str | None = None
    seasonality: str | int | None = None
    drop_column_names: list[str] | str | None = None
    short_series_handling_config: str | None = "auto"
    country_or_region_for_holidays: str | None = None
    cv_step_size: str | int | None = None
    target_aggregate_function: str | None = None
    use_stl: str | None = None
    # Azure's names for the fields above (``config.ALIASES``), accepted as keywords as well;
    # the same setting under both names with different values is an error.
    freq: InitVar[str | None] = None
    max_horizon: InitVar[int | None] = None
    target_aggregation_function: InitVar[str | None] = None
    short_series_handling_configuration: InitVar[str | None] = "auto"
    grain_column_names: InitVar[list[str] | str | None] = None

    def __post_init__(
        self,
        freq: str | None,
        max_horizon: int | None,
        target_aggregation_function: str | None,
        short_series_handling_configuration: str | None,
        grain_column_names: list[str] | str | None,
    ) -> None:
        from mlflow_automl.setting_names import ALIASES, resolve_aliases

        given = {
            "freq": freq,
            "max_horizon": max_horizon,
            "target_aggregation_function": target_aggregation_function,
            "grain_column_names": grain_column_names,
        }
        given = {alias: value for alias, value in given.items() if value is not None}
        if short_series_handling_configuration != "auto":  # None is a choice: raise
            given["short_series_handling_configuration"] = short_series_handling_configuration
        ours = {ALIASES[alias]: getattr(self, ALIASES[alias]) for alias in given}
        if ours.get("short_series_handling_config") == "auto":  # the default, not a choice
            ours["short_series_handling_config"] = None
        for name, value in resolve_aliases({**ours, **given}).items():
            setattr(self, name, value)

    def as_settings(self) -> dict[str, Any]:
        """The settings this object sets: every field not left at ``None`` (and the short-series
        choice, where ``None`` means "raise")."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None or f.name == "short_series_handling_config":
                out[f.name] = value
        return out

    @classmethod
    def from_config(cls, config: Any) -> ForecastingParameters:
        """The resolved settings of an ``AutoMLConfig`` (defaults applied by the config)."""
        params = cls(**{name: config.get(name) for name in _SETTING_NAMES})
        params.time_series_id_column_names = _as_list(params.time_series_id_column_names)
        params.drop_column_names = _as_list(params.drop_column_names)
        if isinstance(params.target_lags, int):
            params.target_lags = [params.target_lags]
        if isinstance(params.feature_lags, int):
            params.feature_lags = [params.feature_lags]
        return params


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
