"""``AutoMLConfig``: the experiment's settings, validated once, with clear errors.

Every setting is declared in ``SETTINGS`` (name, default, rule, help). The constructor applies the
rules in that table and then the cross-setting rules in ``_check_conflicts``; nothing else in the
package re-validates settings. Data-dependent checks (the label column exists, types fit the task)
live in :mod:`mlflow_automl.data` and also run before any MLflow run is created.
"""

from __future__ import annotations

import difflib
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlflow_automl.evaluation.metrics import (
    DEFAULT_PRIMARY_METRIC,
    FORECASTING,
    PRIMARY_METRICS,
    greater_is_better,
)
from mlflow_automl.setting_names import AutoMLConfigError, resolve_aliases
from mlflow_automl.tasks import TASKS, get_task

COMPUTE_TARGETS = ("local", "inprocess", "ray", "ray:auto", "ray://host:port")


# ---------------------------------------------------------------------------------------------
# Declared rules. Each returns an error message, or None when the value is acceptable.


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive_number(value: Any) -> str | None:
    if not _is_number(value) or not math.isfinite(value) or not value > 0:
        return "must be a finite number > 0"
    return None


# Time limits: below a second nothing can run; above a year is a typo for "no limit" (leave the
# setting unset), and would overflow the timestamps MLflow and the budget compute from it.
_MIN_SECONDS = 1.0
_MAX_SECONDS = 366 * 24 * 3600.0


def _duration(unit_seconds: float, unit: str) -> Callable[[Any], str | None]:
    def rule(value: Any) -> str | None:
        if not _is_number(value) or not math.isfinite(value) or not value > 0:
            return f"must be a finite number of {unit} > 0"
        seconds = float(value) * unit_seconds
        if seconds < _MIN_SECONDS:
            return f"is {seconds:.3g} s: a time limit must be at least {_MIN_SECONDS:.0f} second"
        if seconds > _MAX_SECONDS:
            return "is more than a year; leave it unset for no time limit"
        return None

    return rule


def _cores(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or (value < 1 and value != -1):
        return "must be -1 (the cores free when submit starts) or an integer >= 1"
    return None


# More workers than this is a typo: each one is a Python process with its own copy of the data.
_MAX_CONCURRENCY = max(16, 4 * (os.cpu_count() or 1))
# On a Ray cluster the trials in flight are bounded by the cluster, not this machine's cores.
_MAX_RAY_CONCURRENCY = 10_000


def _concurrency(value: Any) -> str | None:
    problem = _positive_int(value)
    if problem is None and value > _MAX_RAY_CONCURRENCY:
        return f"must be at most {_MAX_RAY_CONCURRENCY}"
    return problem


def _positive_int(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return "must be an integer >= 1"
    return None


def _fraction(value: Any) -> str | None:
    if not _is_number(value) or not 0 < value < 1:
        return "must be a fraction strictly between 0 and 1"
    return None


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be True or False"


def _string(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "must be a non-empty string"


def _number(value: Any) -> str | None:
    if not _is_number(value) or not math.isfinite(value):
        return "must be a finite number"
    return None


def _string_list(value: Any) -> str | None:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        return "must be a list of model names"
    return None


def _cv_folds(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        return "must be an integer >= 2"
    return None


def _one_of(*choices: Any) -> Callable[[Any], str | None]:
    def rule(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(map(repr, choices))}"

    return rule


def _compute_target(value: Any) -> str | None:
    """A known target; a Ray one only when Ray is installed (the error says how to get it)."""
    import importlib.util

    from mlflow_automl.executors import is_ray_target

    if not isinstance(value, str) or not (value in COMPUTE_TARGETS or is_ray_target(value)):
        return f"must be one of {', '.join(map(repr, COMPUTE_TARGETS))}"
    if value.startswith("ray://") and not value[len("ray://") :].rpartition(":")[2].isdigit():
        return "must name the Ray client's port: 'ray://host:port'"
    if is_ray_target(value) and importlib.util.find_spec("ray") is None:
        return "needs Ray, which is not installed: pip install 'mlflow-automl[ray]'"
    return None


def _featurization(value: Any) -> str | None:
    from mlflow_automl.featurize import FeaturizationConfig

    if value in ("auto", "off") or isinstance(value, FeaturizationConfig):
        return None
    return "must be 'auto', 'off' or a FeaturizationConfig"


def _verbosity(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    if isinstance(value, str) and value.upper() in ("DEBUG", "INFO", "WARNING", "ERROR"):
        return None
    return "must be a logging level (e.g. logging.INFO or 'INFO')"


def _seed(value: Any) -> str | None:
    # numpy's and scikit-learn's seeds are 32-bit.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        return "must be an integer from 0 to 2**32 - 1"
    return None


def _kwargs(value: Any) -> str | None:
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return None
    return "must be a dict of keyword arguments"


def _anything(value: Any) -> str | None:
    return None


def _label_value(value: Any) -> str | None:
    if isinstance(value, str | int | bool) or (_is_number(value) and math.isfinite(value)):
        return None
    return "must be one of the label's values (a string or a number)"


def _column_names(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return None
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) and v for v in value):
        return None
    return "must be a column name or a list of column names"


def _auto_or(rule: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    def auto_or(value: Any) -> str | None:
        problem = None if value == "auto" else rule(value)
        return problem and f"must be 'auto' or {problem.removeprefix('must be ')}"

    return auto_or


def _lags(value: Any) -> str | None:
    values = value if isinstance(value, list | tuple) else [value]
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        return "must be an integer >= 1 or a list of them"
    return None


def _window(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        return "must be an integer >= 2"
    return None


def _frequency(value: Any) -> str | None:
    import pandas as pd

    try:
        pd.tseries.frequencies.to_offset(value)
    except (TypeError, ValueError):
        return "must be a pandas frequency alias such as 'D', 'h', '30min', 'W-SUN', 'MS', 'QS'"
    return None


def _holiday_country(value: Any) -> str | None:
    import holidays

    if isinstance(value, str) and value.upper() in holidays.list_supported_countries():
        return None
    return "must be an ISO country code known to the `holidays` package (e.g. 'US', 'DE', 'AU')"


def _forecasting_parameters(value: Any) -> str | None:
    from mlflow_automl.forecasting.parameters import ForecastingParameters

    return None if isinstance(value, ForecastingParameters) else "must be a ForecastingParameters"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    rule: Callable[[Any], str | None]
    help: str
    logged: bool = True  # whether it is logged as a param of the AutoML run


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting("task", None, _one_of(*TASKS), "classification | regression | forecasting"),
        Setting("primary_metric", None, _string, "metric the search optimizes"),
        Setting(
            "training_data", None, _anything, "DataFrame, CSV/Parquet path or MLflow dataset", False
        ),
        Setting("label_column_name", None, _string, "name of the label column"),
        Setting("validation_data", None, _anything, "separate validation data", False),
        Setting("validation_size", None, _fraction, "fraction of training rows held out"),
        Setting("n_cross_validations", None, _cv_folds, "number of cross-validation folds"),
        Setting("weight_column_name", None, _string, "name of the sample-weight column"),
        Setting(
            "cv_split_column_names",
            None,
            _column_names,
            "user-given folds: one 0/1 column per fold (1 train, 0 validation)",
        ),
        Setting("positive_label", None, _label_value, "binary classification: positive class"),
        Setting("X", None, _anything, "deprecated: features (use training_data)", False),
        Setting("y", None, _anything, "deprecated: labels (use label_column_name)", False),
        Setting(
            "experiment_timeout_minutes", None, _duration(60, "minutes"), "wall budget, minutes"
        ),
        Setting("experiment_timeout_hours", None, _duration(3600, "hours"), "wall budget, hours"),
        Setting(
            "iteration_timeout_minutes", None, _duration(60, "minutes"), "limit per trial, minutes"
        ),
        Setting("iteration_timeout_hours", None, _duration(3600, "hours"), "trial limit, hours"),
        Setting("iterations", None, _positive_int, "maximum number of trials"),
        Setting("experiment_exit_score", None, _number, "stop once the primary metric reaches it"),
        Setting("enable_early_stopping", True, _boolean, "stop when the score stops improving"),
        Setting("early_stopping_n_iters", 20, _positive_int, "trials without improvement to stop"),
        Setting("max_concurrent_iterations", 1, _concurrency, "trials run at the same time"),
        Setting("max_cores_per_iteration", -1, _cores, "threads per trial (-1: the free cores)"),
        Setting("allowed_models", None, _string_list, "only these learners"),
        Setting("blocked_models", None, _string_list, "never these learners"),
        Setting("featurization", "auto", _featurization, "'auto' | 'off' | FeaturizationConfig"),
        Setting(
            "target_transform",
            "auto",
            _one_of("auto", "off"),
            "regression: 'auto' also tries log1p of a skewed non-negative target",
        ),
        Setting(
            "final_model",
            "refit",
            _one_of("refit", "fold_models", "auto"),
            "'refit' on all rows | 'fold_models': the validation folds' models averaged | "
            "'auto': fold models under cross-validation",
        ),
        Setting(
            "learned_portfolio",
            False,
            _boolean,
            "True: after the defaults, the configurations learned offline (search/portfolio.json)",
        ),
        Setting("enable_voting_ensemble", True, _boolean, "voting ensemble iteration"),
        Setting("enable_stack_ensemble", True, _boolean, "stack ensemble iteration"),
        Setting("ensemble_iterations", 15, _positive_int, "ensemble selection rounds"),
        Setting("ensemble_download_models_timeout_sec", 300, _positive_number, "ensemble gather"),
        Setting("stack_meta_learner_type", None, _string, "stack meta-learner"),
        Setting("stack_meta_learner_train_percentage", 0.2, _fraction, "meta-learner rows"),
        Setting("stack_meta_learner_kwargs", None, _kwargs, "meta-learner arguments"),
        Setting(
            "stack_passthrough",
            False,
            _boolean,
            "the meta-learner also sees the featurized features (default LightGBM) and is "
            "blended with the members by greedy selection",
        ),
        Setting("enable_onnx_compatible_models", False, _boolean, "only ONNX-convertible models"),
        Setting("registered_model_name", None, _string, "register the best model under it"),
        Setting("registered_model_alias", "champion", _string, "alias of the new version"),
        Setting("input_example", None, _anything, "rows logged as the model's example", False),
        Setting("model_explainability", True, _boolean, "explain the best model"),
        Setting("enable_code_generation", True, _boolean, "code/ of the best and charted runs"),
        Setting("debug_log", None, _string, "file that receives the debug log"),
        Setting("path", None, _string, "project folder for local outputs"),
        Setting("verbosity", 20, _verbosity, "logging level of the mlflow_automl logger"),
        Setting("compute_target", "local", _compute_target, "where trials run"),
        Setting("run_configuration", None, _anything, "executor options", False),
        Setting("random_seed", 0, _seed, "seed of the search, the splits and the learners"),
        # Forecasting (task="forecasting" only); defaults in FORECASTING_DEFAULTS.
        Setting("time_column_name", None, _string, "forecasting: the time column"),
        Setting(
            "time_series_id_column_names", None, _column_names, "forecasting: series id columns"
        ),
        Setting("forecast_horizon", None, _positive_int, "forecasting: periods to forecast"),
        Setting("target_lags", None, _auto_or(_lags), "forecasting: lags of the target"),
        Setting(
            "target_rolling_window_size", None, _auto_or(_window), "forecasting: rolling window"
        ),
        Setting("feature_lags", None, _auto_or(_lags), "forecasting: lags of numeric features"),
        Setting("frequency", None, _frequency, "forecasting: pandas frequency (inferred)"),
        Setting("seasonality", None, _auto_or(_positive_int), "forecasting: season length"),
        Setting("drop_column_names", None, _column_names, "forecasting: columns to drop"),
        Setting(
            "short_series_handling_config",
            None,
            _one_of("auto", "pad", "drop"),
            "forecasting: auto | pad | drop | None (error)",
        ),
        Setting("country_or_region_for_holidays", None, _holiday_country, "forecasting: holidays"),
        Setting(
            "cv_step_size", None, _auto_or(_positive_int), "forecasting: periods between folds"
        ),
        Setting(
            "target_aggregate_function",
            None,
            _one_of("sum", "mean", "min", "max"),
            "forecasting: aggregate duplicate / off-grid timestamps",
        ),
        Setting(
            "use_stl",
            None,
            _one_of("season", "season_trend"),
            "forecasting: STL components as features (season | season_trend)",
        ),
        Setting(
            "forecasting_parameters",
            None,
            _forecasting_parameters,
            "forecasting: settings as one object",
            False,
        ),
    ]
}


# Keywords of a meta-learner that the installed library no longer has, with the values that
# asked for what is now its only behaviour: they have no effect to lose, so they are dropped with
# a warning (scikit-learn 1.8 removed LogisticRegression's multi_class; 'auto' chose
# multinomial, which is what it always does now).
REMOVED_WITHOUT_EFFECT: dict[str, tuple[Any, ...]] = {"multi_class": ("auto",)}

# Settings that only mean something for forecasting, and their defaults there. Applied when the
# user did not pass them, so other tasks never log them.
FORECASTING_DEFAULTS: dict[str, Any] = {
    "forecast_horizon": 1,
    "target_lags": "auto",
    "target_rolling_window_size": "auto",
    "seasonality": "auto",
    "short_series_handling_config": "auto",
    "cv_step_size": "auto",
}
FORECASTING_ONLY: tuple[str, ...] = tuple(
    name for name, s in SETTINGS.items() if s.help.startswith("forecasting:")
)
# Defaults that differ by task (as in Azure: no stacking for forecasting).
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    FORECASTING: {"enable_stack_ensemble": False, **FORECASTING_DEFAULTS},
}


class AutoMLConfig:
    """Settings of one AutoML experiment, as in Azure ML's ``AutoMLConfig``.

    Settings are keyword arguments; a dict of settings passed as ``**settings`` is the usual idiom.
    Validation happens here, before any work starts: a wrong value raises ``AutoMLConfigError``
    naming the setting.

    Example:
        >>> config = AutoMLConfig(task="classification", primary_metric="AUC_weighted",
        ...                       training_data=df, label_column_name="species",
        ...                       experiment_timeout_minutes=2)
    """

    def __init__(self, task: str | None = None, **settings: Any) -> None:
        settings["task"] = task
        settings = resolve_aliases(settings)
        unknown = sorted(set(settings) - set(SETTINGS))
        if unknown:
            raise AutoMLConfigError("; ".join(_unknown_setting_message(name) for name in unknown))
        settings = _merge_forecasting_parameters(settings)
        values = {name: s.default for name, s in SETTINGS.items()}
        values.update(TASK_DEFAULTS.get(task, {}))
        values.update(settings)
        for name, value in values.items():
            if value is None:
                continue
            problem = SETTINGS[name].rule(value)
            if problem:
                raise AutoMLConfigError(f"{name}={value!r} {problem}.")
        self._values = values
        # Settings the caller gave (a Ray cluster's default concurrency differs from 1).
        self.given_settings = frozenset(k for k, v in settings.items() if v is not None)
        # Settings given but not used, each with the reason: logged as a tag of the run.
        self.dropped_settings: dict[str, str] = {}
        # The cores other processes leave free, measured when ``submit`` starts (machine.py);
        # None: every core.
        self.available_cores: int | None = None
        self._check_conflicts()

    # --- access -------------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(f"AutoMLConfig has no setting {name!r}")

    def get(self, name: str) -> Any:
        return self._values[name]

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def loggable_settings(self) -> dict[str, Any]:
        """Settings worth logging as run params: every set, non-data setting."""
        return {
            name: value
            for name, value in self._values.items()
            if SETTINGS[name].logged and value is not None
        } | {"experiment_timeout_seconds": self.timeout_seconds}

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k}={v!r}" for k, v in self._values.items() if SETTINGS[k].logged and v is not None
        )
        return f"AutoMLConfig({shown})"

    # --- derived values -------------------------------------------------------------------------
    @property
    def metric(self) -> str:
        return self.primary_metric or DEFAULT_PRIMARY_METRIC[self.task]

    @property
    def timeout_seconds(self) -> float | None:
        return _seconds(self.experiment_timeout_minutes, self.experiment_timeout_hours)

    @property
    def iteration_timeout_seconds(self) -> float | None:
        return _seconds(self.iteration_timeout_minutes, self.iteration_timeout_hours)

    @property
    def cores_per_iteration(self) -> int:
        """Threads per trial: ``max_cores_per_iteration``, or the free cores shared among the
        concurrent trials (a thread on a busy core stalls its fit's other threads)."""
        if self.max_cores_per_iteration and self.max_cores_per_iteration > 0:
            return int(self.max_cores_per_iteration)
        return max(1, self.free_cores // self.max_concurrent_iterations)

    @property
    def free_cores(self) -> int:
        """The cores measured free when ``submit`` started; every core before that."""
        return self.available_cores or os.cpu_count() or 1

    # --- cross-setting rules -------------------------------------------------------------------
    def _check_local_concurrency(self) -> None:
        from mlflow_automl.executors import is_ray_target

        value = self._values["max_concurrent_iterations"]
        if value > _MAX_CONCURRENCY and not is_ray_target(self._values["compute_target"]):
            raise AutoMLConfigError(
                f"max_concurrent_iterations={value!r} must be at most {_MAX_CONCURRENCY} "
                f"(4 worker processes per core) with compute_target="
                f"{self._values['compute_target']!r}."
            )

    def _check_conflicts(self) -> None:
        v = self._values
        if v["task"] is None:
            raise AutoMLConfigError(f"task is required: one of {', '.join(TASKS)}.")
        metric = v["primary_metric"]
        if metric is not None and metric not in PRIMARY_METRICS[v["task"]]:
            raise AutoMLConfigError(
                f"primary_metric={metric!r} does not fit task {v['task']!r}; "
                f"choose one of: {', '.join(PRIMARY_METRICS[v['task']])}."
            )
        self._check_exit_score()
        if v["enable_onnx_compatible_models"] and not get_task(v["task"]).onnx_export:
            raise AutoMLConfigError(
                "enable_onnx_compatible_models=True is not available for task='forecasting': "
                "ONNX models are made for classification and regression only."
            )
        if v["positive_label"] is not None and not get_task(v["task"]).predicts_classes:
            raise AutoMLConfigError(
                f"positive_label only applies to task='classification' (task={v['task']!r})."
            )
        for other in ("n_cross_validations", "validation_data", "validation_size"):
            _exclusive(v, "cv_split_column_names", other)
        if isinstance(v["cv_split_column_names"], str):
            v["cv_split_column_names"] = [v["cv_split_column_names"]]
        _exclusive(v, "validation_data", "n_cross_validations")
        _exclusive(v, "validation_size", "n_cross_validations")
        _exclusive(v, "validation_data", "validation_size")
        _exclusive(v, "allowed_models", "blocked_models")
        _exclusive(v, "experiment_timeout_minutes", "experiment_timeout_hours")
        _exclusive(v, "iteration_timeout_minutes", "iteration_timeout_hours")
        self._check_forecasting()
        self._check_final_model()
        self._check_local_concurrency()
        self._check_special_columns()
        self._check_meta_learner()
        self._check_stack_passthrough()
        if v["run_configuration"] is not None:
            self._drop(
                "run_configuration", "not used: trials run where compute_target says (local)"
            )
        self._adopt_x_y()
        if v["training_data"] is None:
            raise AutoMLConfigError("training_data is required (a DataFrame, a path or a dataset).")
        if v["label_column_name"] is None and not _dataset_has_targets(v["training_data"]):
            raise AutoMLConfigError("label_column_name is required.")
        # Learner names are checked here, against the task's registry, so that a typo fails
        # before any data is read.
        from mlflow_automl.learners import learners_for

        try:
            learners_for(
                v["task"],
                allowed=v["allowed_models"],
                blocked=v["blocked_models"],
                onnx_only=v["enable_onnx_compatible_models"],
            )
        except ValueError as exc:
            raise AutoMLConfigError(str(exc)) from None

    def _check_forecasting(self) -> None:
        v = self._values
        if not get_task(v["task"]).takes_forecasting_settings:
            given = [name for name in FORECASTING_ONLY if v[name] is not None]
            if given:
                raise AutoMLConfigError(
                    f"{', '.join(given)} only apply to task='forecasting' (task={v['task']!r})."
                )
            return
        if v["time_column_name"] is None:
            raise AutoMLConfigError("task='forecasting' needs time_column_name.")
        for name in ("validation_data", "validation_size"):
            if v[name] is not None:
                raise AutoMLConfigError(
                    f"{name} is not supported for forecasting: trials are scored by rolling-origin "
                    "cross-validation (n_cross_validations, cv_step_size) on the last periods."
                )
        for name in ("weight_column_name", "cv_split_column_names"):
            if v[name] is not None:
                raise AutoMLConfigError(
                    f"{name} is not supported for forecasting: folds are rolling origins."
                )
        if isinstance(v["time_series_id_column_names"], str):
            v["time_series_id_column_names"] = [v["time_series_id_column_names"]]
        if isinstance(v["drop_column_names"], str):
            v["drop_column_names"] = [v["drop_column_names"]]

    def _check_final_model(self) -> None:
        v = self._values
        if v["final_model"] != "fold_models":
            return
        if not get_task(v["task"]).split_fallback:
            raise AutoMLConfigError(
                f"final_model='fold_models' is not available for task={v['task']!r}: a model "
                "fitted on an earlier window forecasts from the wrong origin. Use 'refit'."
            )
        for name in ("validation_data", "validation_size"):
            if v[name] is not None:
                raise AutoMLConfigError(
                    f"final_model='fold_models' needs cross-validation folds, but {name} was "
                    "given: use n_cross_validations, or final_model='refit'."
                )

    def _check_exit_score(self) -> None:
        """An exit score the metric can never reach would silently never stop the search."""
        score = self._values["experiment_exit_score"]
        if score is None:
            return
        metric = self.metric
        if greater_is_better(metric) and score > 1:
            raise AutoMLConfigError(
                f"experiment_exit_score={score!r} can never be reached: {metric} is at most 1."
            )
        if not greater_is_better(metric) and score < 0:
            raise AutoMLConfigError(
                f"experiment_exit_score={score!r} can never be reached: {metric} is never below 0."
            )

    def _check_special_columns(self) -> None:
        """The label, weight, time, series-id and fold columns must be different columns: a
        weight column equal to the label trains on the answer (accuracy 1.0 reported)."""
        v = self._values
        roles: list[tuple[str, str]] = []
        for name in (
            "label_column_name",
            "weight_column_name",
            "time_column_name",
            "time_series_id_column_names",
            "cv_split_column_names",
        ):
            value = v[name]
            for column in [value] if isinstance(value, str) else list(value or []):
                for other_name, other_column in roles:
                    if column == other_column:
                        raise AutoMLConfigError(
                            f"{name} and {other_name} both name the column {column!r}; "
                            "each role needs its own column."
                        )
                roles.append((name, column))
        dropped = v["drop_column_names"] or []
        for name, column in roles:
            if column in dropped:
                raise AutoMLConfigError(
                    f"drop_column_names holds {column!r}, the {name}; it cannot be dropped."
                )

    def _check_meta_learner(self) -> None:
        """The stack meta-learner's type and keywords, against the installed library, here
        rather than after every trial has run."""
        v = self._values
        kwargs = v["stack_meta_learner_kwargs"]
        if v["stack_meta_learner_type"] is None and not kwargs:
            return
        from mlflow_automl.ensemble import make_meta_learner
        from mlflow_automl.ensemble.stacking import default_meta_learner

        type_name = v["stack_meta_learner_type"] or default_meta_learner(
            v["task"], bool(v["stack_passthrough"])
        )
        kept = dict(kwargs or {})
        try:
            accepted = make_meta_learner(v["task"], type_name).get_params()
        except ValueError as exc:
            raise AutoMLConfigError(str(exc)) from None
        for key, value in list(kept.items()):
            if key not in accepted and value in REMOVED_WITHOUT_EFFECT.get(key, ()):
                del kept[key]
                self._drop(
                    f"stack_meta_learner_kwargs.{key}",
                    f"{value!r} is {type_name}'s only behaviour in the installed library, "
                    "which no longer has this keyword",
                )
        try:
            learner = make_meta_learner(v["task"], type_name, kept)
            # What fit() would check first (types and ranges of every keyword), checked now.
            # LightGBM inherits _validate_params but declares no constraints to check.
            if hasattr(learner, "_parameter_constraints"):
                learner._validate_params()
        except (ValueError, TypeError) as exc:
            message = str(exc)
            if not message.startswith("stack_meta_learner_kwargs"):
                message = f"stack_meta_learner_kwargs for {type_name}: {message}"
            raise AutoMLConfigError(message) from None
        if kwargs is not None:
            v["stack_meta_learner_kwargs"] = kept

    def _check_stack_passthrough(self) -> None:
        v = self._values
        if not v["stack_passthrough"]:
            return
        if get_task(v["task"]).takes_forecasting_settings:
            raise AutoMLConfigError(
                f"stack_passthrough is not available for task={v['task']!r}: the stack's "
                "features are the forecaster's own, built per series. Set it to False."
            )
        if v["enable_onnx_compatible_models"]:
            raise AutoMLConfigError(
                "stack_passthrough and enable_onnx_compatible_models=True exclude each other: a "
                "stack on the features has no ONNX export. Set one of them to False."
            )

    def _drop(self, name: str, reason: str) -> None:
        warnings.warn(f"{name} is ignored: {reason}.", UserWarning, stacklevel=4)
        self.dropped_settings[name] = reason

    def _adopt_x_y(self) -> None:
        """Accept the deprecated X/y style by turning it into training_data + label column."""
        v = self._values
        if v["X"] is None and v["y"] is None:
            return
        if v["training_data"] is not None:
            raise AutoMLConfigError("Pass either training_data or the deprecated X/y, not both.")
        if v["X"] is None or v["y"] is None:
            raise AutoMLConfigError("The deprecated X/y style needs both X and y.")
        warnings.warn(
            "X/y are deprecated; pass training_data and label_column_name instead.",
            DeprecationWarning,
            stacklevel=4,
        )
        import pandas as pd

        frame = pd.DataFrame(v["X"]).copy()
        frame.columns = [str(c) for c in frame.columns]
        label = v["label_column_name"] or "label"
        if label in frame.columns:
            raise AutoMLConfigError(f"X already has a column named {label!r}; rename it.")
        frame[label] = pd.Series(v["y"]).to_numpy()
        v["training_data"], v["label_column_name"], v["X"], v["y"] = frame, label, None, None


def _merge_forecasting_parameters(settings: dict[str, Any]) -> dict[str, Any]:
    """Spreads a ``forecasting_parameters`` object into the flat settings (both styles work);
    the same setting given both ways with different values is an error."""
    parameters = settings.get("forecasting_parameters")
    problem = None if parameters is None else _forecasting_parameters(parameters)
    if parameters is None or problem:
        return settings
    merged = dict(settings)
    for name, value in parameters.as_settings().items():
        if name in settings and settings[name] != value:
            raise AutoMLConfigError(
                f"{name} is given both as a setting ({settings[name]!r}) and in "
                f"forecasting_parameters ({value!r}); set it once."
            )
        merged[name] = value
    return merged


def _seconds(minutes: float | None, hours: float | None) -> float | None:
    if minutes is not None:
        return float(minutes) * 60.0
    if hours is not None:
        return float(hours) * 3600.0
    return None


def _exclusive(values: dict[str, Any], a: str, b: str) -> None:
    if values[a] is not None and values[b] is not None:
        raise AutoMLConfigError(f"{a} and {b} cannot be used together; set only one of them.")


def _unknown_setting_message(name: str) -> str:
    close = difflib.get_close_matches(name, SETTINGS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"Unknown setting {name!r}.{hint}"


def _dataset_has_targets(data: Any) -> bool:
    return bool(getattr(data, "targets", None))
