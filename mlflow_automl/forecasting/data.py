"""Forecasting data: checked and repaired series, rolling-origin splits, and the plan that
builds a trial's forecaster.

Rolling-origin cross-validation (never a random split): with ``k`` folds, horizon ``h`` and
step ``s``, fold ``i`` (``i = 0`` the latest) trains on every row at or before the cutoff
``T - max(s, h) - i*s`` (``T`` the last period of the data, one cutoff for all series so no
series sees another's future) and validates on the ``h`` periods after it. Windows may overlap
(``s < h``), so each fold's validation rows are *copies* appended after the original rows:
a trial's pooled out-of-fold predictions then hold one forecast per (fold, row), and the
search loop, the leaderboard and the ensembles work on them unchanged. ``final_rows`` are the
original rows the best model is refit on.

Step: ``cv_step_size``, ``'auto'`` = the horizon. A step longer than the horizon spaces the
windows one step apart counting back from the forecast window itself, so they sit at its phase
of a cycle of that length (``cv_step_size=336`` on half-hourly data validates a one-day horizon
on the same weekday as the forecast). The automatic folds do not do that: on elecdemand three
same-weekday windows chose a blend scoring 0.44 on the test day, seven consecutive days (the
whole weekly pattern, more rows) one scoring 0.28.

Number of folds: ``n_cross_validations`` when set; otherwise 3, raised (up to 7) until the
windows together span one cycle -- the season, or the week for sub-daily data; fewer for short
series.

Minimum history: every series needs ``max(3, season)`` periods before the earliest cutoff.
Shorter series follow ``short_series_handling_config``: ``'pad'`` prepends copies of the first
value (padded rows are never validated), ``'drop'`` leaves the series out, ``'auto'`` pads when
every series is short and drops otherwise, ``None`` raises naming them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from mlflow_automl.config import AutoMLConfig, AutoMLConfigError
from mlflow_automl.data import TrainingData, ValidationStrategy
from mlflow_automl.evaluation.metrics import FORECASTING, REGRESSION
from mlflow_automl.featurize.guardrails import Guardrail
from mlflow_automl.forecasting.features import (
    FeatureSpec,
    choose_reference,
    resolve_feature_spec,
    stl_feature_names,
)
from mlflow_automl.forecasting.forecasters import (
    GlobalRegressionForecaster,
    PerSeriesForecaster,
    SeriesLayout,
)
from mlflow_automl.forecasting.metrics import mase_scale
from mlflow_automl.forecasting.parameters import ForecastingParameters
from mlflow_automl.forecasting.timeseries import (
    SINGLE_SERIES,
    TimeGrid,
    detect_series_ids,
    fixed_step,
    infer_frequency,
    normalize_frequency,
    parse_times,
    regularize,
    season_length,
    second_season,
    series_keys,
)
from mlflow_automl.frames import (
    check_finite,
    clean_column_names,
    label_column_of,
    load_frame,
    require_columns,
)

DEFAULT_FOLDS = 3
MAX_AUTO_FOLDS = 7  # automatic folds stretched to cover a weekly cycle (sub-daily data)
ROLLING_ORIGIN = "rolling_origin"
# Ensemble selection weighs a validation window by its recency: the weight halves every two
# folds back (see ForecastingData.recency_weights).
RECENCY_HALF_LIFE_FOLDS = 2.0


@dataclass
class ForecastingData(TrainingData):
    """``TrainingData`` for forecasting: rows ``[0, n_original)`` are the repaired series, the
    rest are the validation windows' copies (see the module docstring)."""

    layout: SeriesLayout = None
    spec: FeatureSpec = None
    parameters: ForecastingParameters = None
    n_original: int = 0
    covariates: tuple[str, ...] = ()
    metric_scale: np.ndarray = field(default=None, repr=False)
    windows: pd.DataFrame = field(default=None, repr=False)  # per copy row: series/time/fold/step
    guardrails: list[Guardrail] = field(default_factory=list)
    n_series: int = 0
    absolute_loss: bool = False  # the primary metric is an absolute error (MAE, MASE, ...)

    @property
    def n_rows(self) -> int:
        return self.n_original

    def recency_weights(self, half_life: float = RECENCY_HALF_LIFE_FOLDS) -> np.ndarray:
        """One weight per row: a validation copy's halves every ``half_life`` folds back from
        the latest fold (weight 1); original rows weigh 1.

        Discounting older forecast errors (Stock & Watson 2004) lets ensemble selection follow
        a change of regime. On half-hourly demand over Christmas, equal weights gave the
        models that fitted the holidays most of the weight, and they failed on the ordinary
        days after (see ``benchmarks/forecasting_results.md``).
        """
        weights = np.ones(len(self.y))
        folds = self.windows["fold"].to_numpy()
        age = folds.max() - folds
        weights[self.n_original :] = 0.5 ** (age / half_life)
        return weights

    @property
    def history(self) -> pd.DataFrame:
        """The repaired series: time, series key and target of the original rows."""
        keys = series_keys(self.X.iloc[: self.n_original], self.layout.id_columns)
        return pd.DataFrame(
            {
                "series": keys.to_numpy(),
                "time": self.X[self.layout.time_column].iloc[: self.n_original].to_numpy(),
                "y": self.y[: self.n_original],
            }
        )


@dataclass
class ForecastingPlan:
    """What every trial's forecaster is built from (the forecasting counterpart of
    ``FeaturizationPlan``): layout, engineered features, known-feature featurization."""

    layout: SeriesLayout
    spec: FeatureSpec
    covariates: tuple[str, ...]
    covariate_plan: Any  # FeaturizationPlan | None
    label: str
    mode: str = "auto"
    engineered_features: int = 0
    absolute_loss: bool = False

    def make_regressor(
        self, learner: Any, params: dict[str, Any], random_state: int = 0, n_jobs: int = 1
    ) -> Any:
        """The learner's regressor; gradient boosting fits the absolute error when the primary
        metric is one (MASE, MAE): the median forecast is what an absolute error rewards, and
        the scaled changes have heavy tails (level shifts, strikes, holidays) that a squared
        error chases."""
        regressor = learner.make_estimator(FORECASTING, params, random_state, n_jobs)
        if self.absolute_loss:
            for name, value in ABSOLUTE_LOSS.get(type(regressor).__name__, {}).items():
                if name in regressor.get_params():
                    regressor.set_params(**{name: value})
        return regressor

    def make_forecaster(
        self, learner: Any, params: dict[str, Any], random_state: int = 0, n_jobs: int = 1
    ) -> Any:
        if getattr(learner, "univariate", False):
            model = learner.make_estimator(FORECASTING, params)
            if "season_length" in model.get_params():
                model.set_params(season_length=self.layout.season)
            return PerSeriesForecaster(layout=self.layout, model=model, n_jobs=n_jobs)
        return GlobalRegressionForecaster(
            layout=self.layout,
            regressor=self.make_regressor(learner, params, random_state, n_jobs),
            scaler=learner.make_scaler(),
            spec=self.spec,
            covariates=self.covariates,
            covariate_plan=self.covariate_plan,
        )

    def summary_frame(self) -> pd.DataFrame:
        layout, spec = self.layout, self.spec
        rows = [
            {
                "RawFeatureName": layout.time_column,
                "TypeDetected": "DateTime",
                "Dropped": "No",
                "EngineeredFeatureCount": len(spec.names()) - _target_feature_count(spec),
                "Transformations": ", ".join(
                    ["Fourier"] * bool(spec.fourier_periods)
                    + list(spec.calendar)
                    + ["Holidays"] * bool(spec.holiday_country)
                ),
                "Reason": f"time column, frequency {layout.grid.freq}",
            },
            *[
                {
                    "RawFeatureName": column,
                    "TypeDetected": "TimeSeriesID",
                    "Dropped": "No",
                    "EngineeredFeatureCount": 0,
                    "Transformations": "series key",
                    "Reason": "identifies a series",
                }
                for column in layout.id_columns
            ],
            {
                "RawFeatureName": self.label,
                "TypeDetected": "Target",
                "Dropped": "No",
                "EngineeredFeatureCount": _target_feature_count(spec),
                "Transformations": f"lags {list(spec.lags)}"
                + (f", rolling window {spec.window}" if spec.window else "")
                + (f", STL {spec.stl.replace('_', ' and ')}" if spec.stl else ""),
                "Reason": "lags relative to the last value, scaled per series",
            },
        ]
        frame = pd.DataFrame(rows)
        if self.covariate_plan is not None:
            frame = pd.concat([frame, self.covariate_plan.summary_frame()], ignore_index=True)
        return frame

    def record_engineered_counts(self, fitted: Any) -> None:
        """Counts the covariates' engineered features from a fitted global forecaster."""
        forecaster = fitted
        if hasattr(fitted, "members"):  # a voting ensemble: its first global member, if any
            forecaster = next(
                (m for _, m in fitted.members if hasattr(m, "covariate_transformer_")), None
            )
        transformer = getattr(forecaster, "covariate_transformer_", None)
        if transformer is not None and self.covariate_plan is not None:
            self.covariate_plan.record_engineered_counts(transformer)


# Absolute-error objectives of the boosting regressors (the forests' absolute-error criterion
# is orders of magnitude slower, the linear learners search their loss themselves).
ABSOLUTE_LOSS: dict[str, dict[str, Any]] = {
    "LGBMRegressor": {"objective": "l1"},
    "XGBRegressor": {"objective": "reg:absoluteerror"},
    "GradientBoostingRegressor": {"loss": "absolute_error"},
    "HistGradientBoostingRegressor": {"loss": "absolute_error"},
}
ABSOLUTE_METRICS = frozenset(
    {
        "mean_absolute_scaled_error",
        "mean_absolute_error",
        "normalized_mean_absolute_error",
        "median_absolute_error",
        "normalized_median_absolute_error",
    }
)


def _target_feature_count(spec: FeatureSpec) -> int:
    stl = len(stl_feature_names(spec.stl))
    return len([k for k in spec.lags if k > 1]) + (2 if spec.window else 0) + stl


# --------------------------------------------------------------------------------------------
# Preparation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoldPlan:
    """The rolling-origin folds: ``n_folds`` forecast origins ``step`` periods apart, each
    validating ``horizon`` periods; every series needs ``min_history`` periods before the
    earliest window."""

    horizon: int
    step: int
    n_folds: int
    min_history: int

    @property
    def span(self) -> int:
        """Periods from the earliest forecast origin to the end (see :func:`validated_span`)."""
        return validated_span(self.horizon, self.step, self.n_folds)


def prepare_forecasting_data(config: AutoMLConfig) -> ForecastingData:
    """Loads, checks and repairs the series of ``config`` and fixes the rolling-origin folds."""
    params = ForecastingParameters.from_config(config)
    frame, raw_frame, source = _load_series(config, params)
    label, time_column = label_column_of(config), params.time_column_name
    ids, detected = _series_ids(frame, params, label)
    guardrails = [detected] if detected else []
    keys = series_keys(frame, ids)
    freq, grid, season = _time_grid(frame, keys, params)
    clean, repairs = regularize(
        frame, keys, time_column, label, grid, params.target_aggregate_function, ids
    )
    guardrails += _repair_guardrails(repairs, freq, params, label)
    covariates = tuple(
        c for c in clean.columns if c not in {label, time_column, *ids, "_series", "_position"}
    )
    folds = _fold_plan(config, clean, params, freq, season)
    clean, short = _handle_short_series(
        clean, folds, params.short_series_handling_config, time_column, grid
    )
    guardrails.append(short)
    spec = _feature_spec(clean, params, folds, freq, season, label)
    X_clean = clean[[time_column, *ids, *covariates]].reset_index(drop=True)
    y_clean = clean[label].to_numpy(dtype=np.float64)
    padded = clean["_padded"].to_numpy() if "_padded" in clean else np.zeros(len(clean), bool)
    splits, copies, windows, scales = _rolling_origin(
        clean["_series"].to_numpy(),
        clean["_position"].to_numpy(),
        y_clean,
        padded,
        folds.horizon,
        folds.step,
        folds.n_folds,
        season,
        grid,
    )
    n = len(X_clean)
    n_series = int(clean["_series"].nunique())
    guardrails.insert(0, _frequency_guardrail(params, freq, season, n_series))
    return ForecastingData(
        X=pd.concat([X_clean, X_clean.iloc[copies]], ignore_index=True),
        y=np.concatenate([y_clean, y_clean[copies]]),
        sample_weight=None,
        classes=None,
        strategy=ValidationStrategy(
            ROLLING_ORIGIN,
            n_folds=folds.n_folds,
            reason=f"horizon {folds.horizon}, step {folds.step} periods of {freq}",
        ),
        splits=splits,
        final_rows=np.arange(n),
        label_column=label,
        weight_column=None,
        n_dropped_label_rows=0,
        source=source,
        raw_training_frame=raw_frame,
        layout=SeriesLayout(time_column, tuple(ids), grid, season, folds.horizon),
        spec=spec,
        parameters=params,
        n_original=n,
        covariates=covariates,
        metric_scale=np.concatenate([np.full(n, np.nan), scales]),
        windows=windows,
        guardrails=guardrails,
        n_series=n_series,
        absolute_loss=config.metric in ABSOLUTE_METRICS,
    )


def _load_series(
    config: AutoMLConfig, params: ForecastingParameters
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The training frame with parsed times and a numeric target, the frame as given (less the
    dropped columns) for the logged dataset, and its source."""
    frame, source = load_frame(config.training_data)
    frame = clean_column_names(frame)
    label, time_column = label_column_of(config), params.time_column_name
    ids = list(params.time_series_id_column_names)
    require_columns(frame, [label, time_column, *ids, *params.drop_column_names], "training_data")
    check_finite(frame)  # the target and the features: inf fails every trial
    raw_frame = frame.drop(columns=[c for c in params.drop_column_names if c not in (label,)])
    frame = raw_frame.copy()
    frame[time_column] = parse_times(frame[time_column], time_column)
    frame[label] = _numeric_target(frame[label], label)
    if len(frame) < 10:
        raise AutoMLConfigError(f"training_data has {len(frame)} rows; at least 10 are needed.")
    return frame, raw_frame, source


def _series_ids(
    frame: pd.DataFrame, params: ForecastingParameters, label: str
) -> tuple[list[str], Guardrail | None]:
    """The series id columns: given, or detected when timestamps repeat (with the guardrail
    that says so); none may have a missing value."""
    time_column = params.time_column_name
    ids, detected = list(params.time_series_id_column_names), None
    if not ids and frame[time_column].duplicated().any():
        candidates = [c for c in frame.columns if c not in (label, time_column)]
        found = detect_series_ids(frame, time_column, candidates)
        if found is not None:
            ids = found
            detected = Guardrail(
                "Time series ID detection",
                "done",
                f"Timestamps repeat; the series are identified by {found}.",
                {"time_series_id_column_names": found},
            )
    for column in ids:
        if frame[column].isna().any():
            row = frame.index[frame[column].isna()][0]
            raise AutoMLConfigError(
                f"time series id column {column!r} has a missing value (row {row})."
            )
    return ids, detected


def _time_grid(
    frame: pd.DataFrame, keys: pd.Series, params: ForecastingParameters
) -> tuple[str, TimeGrid, int]:
    """The frequency (given or inferred from every series), the time grid and the season."""
    time_column = params.time_column_name
    freq = params.frequency or infer_frequency(
        [pd.DatetimeIndex(t.sort_values().unique()) for _, t in frame[time_column].groupby(keys)],
        time_column,
    )
    freq = normalize_frequency(freq)
    grid = TimeGrid(_origin(frame[time_column].min(), freq, params.target_aggregate_function), freq)
    season = params.seasonality if isinstance(params.seasonality, int) else season_length(freq)
    if params.use_stl and season < 2:
        raise AutoMLConfigError(
            f"use_stl={params.use_stl!r} needs a season of at least 2 periods; frequency "
            f"{freq!r} has none. Set seasonality to the season length, or leave use_stl unset."
        )
    return freq, grid, season


def _fold_plan(
    config: AutoMLConfig, clean: pd.DataFrame, params: ForecastingParameters, freq: str, season: int
) -> FoldPlan:
    horizon = params.forecast_horizon
    lengths = clean.groupby("_series", sort=False).size()
    min_history = max(3, season)
    step = horizon if params.cv_step_size == "auto" else int(params.cv_step_size)
    cycle = validation_cycle(freq, season)
    n_folds = _fold_count(config, lengths, horizon, step, min_history, params, cycle)
    return FoldPlan(horizon, step, n_folds, min_history)


def _feature_spec(
    clean: pd.DataFrame,
    params: ForecastingParameters,
    folds: FoldPlan,
    freq: str,
    season: int,
    label: str,
) -> FeatureSpec:
    """The lag / window / calendar features; the reference series shape is chosen on the
    history before the earliest validation window only."""
    earliest_cutoff = int(clean["_position"].max()) - folds.span
    before = clean[clean["_position"] <= earliest_cutoff]
    reference = choose_reference(
        [g.to_numpy() for _, g in before.groupby("_series", sort=False)[label]],
        season,
        folds.horizon,
    )
    return resolve_feature_spec(
        params.target_lags,
        params.target_rolling_window_size,
        params.feature_lags,
        freq,
        season,
        params.country_or_region_for_holidays,
        int(clean.groupby("_series", sort=False).size().max()),
        reference,
        params.use_stl,
    )


def _frequency_guardrail(
    params: ForecastingParameters, freq: str, season: int, n_series: int
) -> Guardrail:
    return Guardrail(
        "Frequency detection",
        "passed" if params.frequency else "done",
        f"Frequency {freq!r} ({'given' if params.frequency else 'inferred'}), season length "
        f"{season}, {n_series} series.",
        {"frequency": freq, "seasonality": season, "n_series": n_series},
    )


def plan_forecasting(data: ForecastingData, featurization: Any) -> ForecastingPlan:
    """The forecasting plan: the layout and features of ``data``; the known features
    featurized as for regression (imputation, encoding) by the tabular featurizer."""
    from mlflow_automl.featurize import plan_featurization

    covariate_plan = None
    mode = featurization if isinstance(featurization, str) else "custom"
    if data.covariates:
        covariate_plan = plan_featurization(
            data.X.iloc[: data.n_original][list(data.covariates)], featurization, REGRESSION
        )
        mode = covariate_plan.mode
    return ForecastingPlan(
        layout=data.layout,
        spec=data.spec,
        covariates=data.covariates,
        covariate_plan=covariate_plan,
        label=data.label_column,
        mode=mode,
        absolute_loss=data.absolute_loss,
    )


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _numeric_target(values: pd.Series, label: str) -> pd.Series:
    numeric = pd.to_numeric(values, errors="coerce")
    bad = values[numeric.isna() & values.notna()]
    if len(bad):
        raise AutoMLConfigError(
            f"target column {label!r} must be numeric for forecasting; found {bad.iloc[0]!r} "
            f"(row {bad.index[0]})."
        )
    return numeric.astype(float)


def _origin(first: pd.Timestamp, freq: str, aggregate: str | None) -> pd.Timestamp:
    """The grid's first point: the first timestamp, or the start of its period when
    timestamps are aggregated onto the grid."""
    if aggregate is None:
        return pd.Timestamp(first)
    step = fixed_step(freq)
    if step is not None:
        return pd.Timestamp(first).floor(step)
    return to_offset(freq).rollback(pd.Timestamp(first).normalize())


def _repair_guardrails(repairs: Any, freq: str, params: ForecastingParameters, label: str):
    rows = []
    if repairs.aggregated_rows:
        rows.append(
            Guardrail(
                "Timestamp aggregation",
                "done",
                f"{repairs.aggregated_rows} rows were aggregated onto the {freq!r} grid with "
                f"target_aggregate_function={params.target_aggregate_function!r}.",
                {"aggregated_rows": repairs.aggregated_rows},
            )
        )
    filled = sum(repairs.filled_periods.values())
    rows.append(
        Guardrail(
            "Missing time steps",
            "done" if filled else "passed",
            f"{filled} missing periods in {len(repairs.filled_periods)} series were inserted and "
            "forward-filled."
            if filled
            else "Every series is complete on its grid.",
            {"filled_periods": dict(list(repairs.filled_periods.items())[:20])},
        )
    )
    targets = sum(repairs.filled_targets.values())
    rows.append(
        Guardrail(
            "Missing target values",
            "done" if targets or repairs.dropped_leading_rows else "passed",
            f"{targets} missing values of {label!r} were forward-filled; "
            f"{repairs.dropped_leading_rows} leading rows without a target were dropped."
            if targets or repairs.dropped_leading_rows
            else f"No value of {label!r} is missing.",
            {"filled": targets, "dropped_leading_rows": repairs.dropped_leading_rows},
        )
    )
    return rows


def validated_span(horizon: int, step: int, n_folds: int) -> int:
    """Periods from the earliest fold cutoff to the end of the data. The latest window ends the
    data when ``step <= horizon``; with a longer step the windows are ``step`` apart counting
    back from the forecast window itself, so each is at the forecast's phase of the cycle."""
    return max(step, horizon) + (n_folds - 1) * step


def _fold_count(
    config: AutoMLConfig,
    lengths: pd.Series,
    horizon: int,
    step: int,
    min_history: int,
    params: ForecastingParameters,
    cycle: int = 1,
) -> int:
    """The number of rolling-origin folds: ``n_cross_validations`` when set; otherwise enough
    folds (3 to 7) for the windows to cover one :func:`validation_cycle`, fewer when the
    series are too short."""
    longest = int(lengths.max())
    minimum = horizon + 2
    if longest < minimum:
        raise AutoMLConfigError(
            f"forecast_horizon={horizon} is too long for the data: the longest series has "
            f"{longest} periods; validating a {horizon}-period forecast needs at least "
            f"{minimum}. Use a shorter horizon or more history."
        )
    if config.n_cross_validations is not None:
        folds = int(config.n_cross_validations)
        needed = validated_span(horizon, step, folds) + 2
        if longest < needed:
            raise AutoMLConfigError(
                f"n_cross_validations={folds} with forecast_horizon={horizon} and "
                f"cv_step_size={step} needs series of at least {needed} periods; the longest has "
                f"{longest}. Use fewer folds, a smaller cv_step_size or a shorter horizon."
            )
        return folds
    folds = max(DEFAULT_FOLDS, min(MAX_AUTO_FOLDS, -(-cycle // step)))
    while folds > 1 and longest < validated_span(horizon, step, folds) + min_history:
        folds -= 1
    return folds


def validation_cycle(freq: str, season: int) -> int:
    """Periods the validation windows should span together: the week for sub-daily data (its
    second season: a few days of half-hourly windows say nothing about weekends), otherwise
    the season."""
    step = fixed_step(freq)
    if step is not None and step < pd.Timedelta(days=1):
        return second_season(freq) or season
    return season


def _handle_short_series(
    clean: pd.DataFrame, folds: FoldPlan, how: str | None, time_column: str, grid: TimeGrid
) -> tuple[pd.DataFrame, Guardrail]:
    """Series with less than ``folds.min_history`` periods before the earliest validation
    window: an error (``how`` None), dropped, or padded at the start ("auto": pad when every
    series is short, else drop). Returns the data and the guardrail that says what was done."""
    starts = clean.groupby("_series", sort=False)["_position"].min()
    earliest_cutoff = int(clean["_position"].max()) - folds.span
    history = earliest_cutoff - starts + 1  # periods of each series at or before the cutoff
    short = history[history < folds.min_history]
    name = "Short series handling"
    if short.empty:
        return clean, Guardrail(
            name, "passed", "Every series has enough history.", {"short_series": 0}
        )
    listed = ", ".join(
        f"{_key_text(k)} ({int(max(h, 0))} periods)" for k, h in list(short.items())[:5]
    )
    if how is None:
        raise AutoMLConfigError(
            f"{len(short)} series are too short for {folds.n_folds} rolling-origin fold(s) of "
            f"{folds.horizon} periods: {listed}. Each needs {folds.min_history} periods before "
            f"the first validation window ({folds.min_history + folds.span} in all). Set "
            "short_series_handling_config to 'pad' or 'drop', use fewer n_cross_validations, "
            "or a shorter horizon."
        )
    if how == "auto":
        how = "pad" if len(short) == len(starts) else "drop"
    if how == "drop":
        if len(short) == len(starts):
            raise AutoMLConfigError(
                f"every series is too short ({listed}); short_series_handling_config='drop' "
                "would leave no data. Use 'pad'."
            )
        clean = clean[~clean["_series"].isin(short.index)].reset_index(drop=True)
        return clean, Guardrail(
            name,
            "done",
            f"{len(short)} short series were dropped: {listed}.",
            {"dropped": [str(k) for k in short.index]},
        )
    return _pad_short_series(clean, short, folds.min_history, time_column, grid), Guardrail(
        name,
        "done",
        f"{len(short)} short series were padded at the start with their first value "
        f"(padded periods are never scored): {listed}.",
        {"padded": [str(k) for k in short.index]},
    )


def _pad_short_series(
    clean: pd.DataFrame, short: pd.Series, min_history: int, time_column: str, grid: TimeGrid
) -> pd.DataFrame:
    """Each short series (``short``: its periods of history) repeats its first row back to
    ``min_history`` periods, marked ``_padded`` (never scored)."""
    pieces = [clean.assign(_padded=False)]
    for key, periods in short.items():
        series = clean[clean["_series"] == key]
        first = series.iloc[0]
        n_pad = int(min_history - periods)
        positions = np.arange(int(first["_position"]) - n_pad, int(first["_position"]))
        pad = pd.DataFrame([first] * n_pad).reset_index(drop=True)
        pad["_position"] = positions
        pad[time_column] = grid.times(positions)
        pad["_padded"] = True
        pieces.append(pad)
    clean = pd.concat(pieces, ignore_index=True).sort_values(["_series", "_position"])
    return clean.reset_index(drop=True)


def _key_text(key: str) -> str:
    return "the series" if key == SINGLE_SERIES else repr(key)


def _rolling_origin(
    series: np.ndarray,
    positions: np.ndarray,
    y: np.ndarray,
    padded: np.ndarray,
    horizon: int,
    step: int,
    n_folds: int,
    season: int,
    grid: TimeGrid,
) -> tuple[list, np.ndarray, pd.DataFrame, np.ndarray]:
    """Splits over the original rows plus their validation copies (oldest fold first)."""
    n = len(positions)
    last = int(positions.max())
    splits, copies, windows, scales = [], [], [], []
    for fold, back in enumerate(reversed(range(n_folds))):
        cutoff = last - validated_span(horizon, step, back + 1)
        train = np.flatnonzero(positions <= cutoff)
        valid = np.flatnonzero((positions > cutoff) & (positions <= cutoff + horizon) & ~padded)
        if not len(train) or not len(valid):
            continue
        scale_of = {}
        real_train = train[~padded[train]]
        for key in np.unique(series[valid]):
            rows = real_train[series[real_train] == key]
            scale_of[key] = mase_scale(y[rows], season)
        start = n + sum(len(c) for c in copies)
        splits.append((train, np.arange(start, start + len(valid))))
        copies.append(valid)
        scales.append(np.array([scale_of[k] for k in series[valid]]))
        windows.append(
            pd.DataFrame(
                {
                    "series": series[valid],
                    "time": grid.times(positions[valid]),
                    "fold": fold,
                    "step": positions[valid] - cutoff,
                    "cutoff": grid.times([cutoff])[0],
                    "row": valid,
                }
            )
        )
    if not splits:
        raise AutoMLConfigError("no rolling-origin fold has both training and validation rows.")
    return (
        splits,
        np.concatenate(copies),
        pd.concat(windows, ignore_index=True),
        np.concatenate(scales),
    )
