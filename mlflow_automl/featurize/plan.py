"""Featurization planning: raw DataFrame + mode/config -> :class:`FeaturizationPlan`.

The plan records, per raw column, the detected type and the transformations (Azure's
"featurization summary") and knows how to build a NEW unfitted transformer for every CV fold.

Encoder choice for categorical columns (first one that is not blocked wins):

* Categorical: OneHotEncoder -> TargetEncoder -> HashOneHotEncoder
* CategoricalHash: TargetEncoder -> HashOneHotEncoder -> OneHotEncoder

TargetEncoder needs a supervised target: it is used for ``task`` "classification" (target type
inferred: binary / multiclass on integer-coded labels) and "regression" / "forecasting"
(continuous); for any other task it is skipped.  Giving ``HashOneHotEncoder`` parameters for a
column moves hashing to the front.  A column whose transformers are all blocked is dropped.
``Imputer`` parameters apply to numeric and categorical columns; parameters for a transformer
a column does not use are ignored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field

import pandas as pd

from .config import FeaturizationConfig
from .featurizer import (
    ColumnSpec,
    Featurizer,
    build_featurizer,
    native_categorical_specs,
    safe_names,
)
from .inference import InferredType, infer_column_type, is_numeric_like

_MODES = ("auto", "off")
_IMPUTER_NAMES = {
    "mean": "MeanImputer",
    "median": "MedianImputer",
    "most_frequent": "ModeImputer",
    "constant": "ConstantImputer",
}
_ENCODER_ORDER = {
    "Categorical": ("OneHotEncoder", "TargetEncoder", "HashOneHotEncoder"),
    "CategoricalHash": ("TargetEncoder", "HashOneHotEncoder", "OneHotEncoder"),
}
_ENCODER_KINDS = {"OneHotEncoder": "onehot", "TargetEncoder": "target", "HashOneHotEncoder": "hash"}
_TARGET_TYPES = {"classification": "auto", "regression": "continuous", "forecasting": "continuous"}
DEFAULT_HASH_BITS = 6
DEFAULT_TFIDF = {"max_features": 100, "ngram_range": (1, 2)}
ONEHOT_MIN_FREQUENCY = 2  # levels seen once in a training fold are pooled as "infrequent"


@dataclass
class ColumnSummary:
    """One row of the featurization summary (Azure's ``get_featurization_summary``)."""

    raw_feature_name: str
    type_detected: str
    dropped: bool
    transformations: list[str]
    engineered_feature_count: int
    reason: str = ""


@dataclass
class FeaturizationPlan:
    """Per-column featurization decisions plus a factory for the fitted-model transformer."""

    mode: str
    summary: list[ColumnSummary]
    feature_columns: list[Hashable]
    has_missing_values: bool
    task: str = "classification"
    imputed_columns: list[Hashable] = field(default_factory=list)
    specs: list[ColumnSpec] = field(default_factory=list, repr=False)
    # Learners that read categories themselves (CatBoost) get categorical columns as codes;
    # off when every model must convert to ONNX (CatBoost exports no categorical features).
    native_categoricals: bool = True

    def make_transformer(self, native_categoricals: bool = False) -> Featurizer:
        """A NEW unfitted transformer: DataFrame in, dense float64 ndarray out.

        ``native_categoricals``: the categorical columns as integer codes in the first
        :meth:`categorical_code_count` output columns, for a learner that reads categories
        itself (``Learner.native_categoricals``)."""
        return build_featurizer(
            self.specs, native_categoricals and self.categorical_code_count() > 0
        )

    def categorical_code_count(self) -> int:
        """How many leading output columns are category codes for a native learner: the
        planned categorical columns, or 0 when the plan keeps their encodings for every learner."""
        return len(native_categorical_specs(self.specs)) if self.native_categoricals else 0

    def summary_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "RawFeatureName": [s.raw_feature_name for s in self.summary],
                "TypeDetected": [s.type_detected for s in self.summary],
                "Dropped": ["Yes" if s.dropped else "No" for s in self.summary],
                "EngineeredFeatureCount": [s.engineered_feature_count for s in self.summary],
                "Transformations": [", ".join(s.transformations) for s in self.summary],
                "Reason": [s.reason for s in self.summary],
            }
        )

    def record_engineered_counts(self, fitted_transformer) -> None:
        """Fill ``engineered_feature_count`` from a fitted Featurizer (or a Pipeline led by one)."""
        featurizer = fitted_transformer
        if not hasattr(featurizer, "feature_sources") and hasattr(featurizer, "steps"):
            featurizer = featurizer.steps[0][1]
        if not hasattr(featurizer, "feature_sources"):
            raise TypeError("record_engineered_counts expects a fitted transformer from this plan")
        counts = Counter(featurizer.feature_sources())
        for item in self.summary:
            item.engineered_feature_count = counts.get(item.raw_feature_name, 0)

    def columns_of_type(self, *types: str, dropped: bool | None = None) -> list[Hashable]:
        return [
            s.raw_feature_name
            for s in self.summary
            if s.type_detected in types and (dropped is None or s.dropped == dropped)
        ]

    def columns_with_transformation(self, name: str) -> list[Hashable]:
        return [s.raw_feature_name for s in self.summary if name in s.transformations]


def _dropped(column: Hashable, type_detected: str, reason: str) -> tuple[ColumnSummary, None]:
    return ColumnSummary(column, type_detected, True, [], 0, reason), None


def _imputer_params(config: FeaturizationConfig, column: Hashable, default: str) -> tuple:
    params = config.params_for("Imputer", column)
    return params.get("strategy", default), params.get("fill_value")


class _ColumnPlanner:
    """Turns one column's detected type into a summary row and a ColumnSpec."""

    def __init__(self, X: pd.DataFrame, config: FeaturizationConfig, task: str):
        self.X = X
        self.config = config
        self.blocked = set(config.blocked_transformers)
        self.target_type = _TARGET_TYPES.get(task)

    def plan(self, column: Hashable, inferred: InferredType):
        if inferred.dropped:
            return _dropped(column, inferred.type_detected, inferred.reason)
        has_missing = bool(self.X[column].isna().any())
        type_detected = inferred.type_detected
        if type_detected == "Numeric":
            outcome = self._numeric(column, has_missing)
        elif type_detected in _ENCODER_ORDER:
            outcome = self._categorical(column, type_detected, has_missing)
        elif type_detected == "DateTime":
            outcome = self._single("DateTimeFeaturizer", "datetime", {})
        else:
            outcome = self._single("TfIdf", "text", self._tfidf_params(column))
        if outcome is None:
            reason = f"{inferred.reason}; all applicable transformers blocked"
            return _dropped(column, inferred.type_detected, reason)
        kind, params, transformations, note = outcome
        summary = ColumnSummary(
            column, inferred.type_detected, False, transformations, 0, inferred.reason + note
        )
        return summary, ColumnSpec(raw=column, safe="", kind=kind, params=params)

    def _numeric(self, column, has_missing: bool):
        strategy, fill_value = _imputer_params(self.config, column, "mean")
        indicator = has_missing and "MissingIndicator" not in self.blocked
        params = {"strategy": strategy, "fill_value": fill_value, "add_indicator": indicator}
        transformations = [_IMPUTER_NAMES[strategy]] + (["MissingIndicator"] if indicator else [])
        return "numeric", params, transformations, ""

    def _single(self, transformer: str, kind: str, params: dict):
        if transformer in self.blocked:
            return None
        return kind, params, [transformer], ""

    def _tfidf_params(self, column) -> dict:
        params = {**DEFAULT_TFIDF, **self.config.params_for("TfIdf", column)}
        params["ngram_range"] = tuple(params["ngram_range"])
        return params

    def _categorical(self, column, type_detected: str, has_missing: bool):
        hash_params = self.config.params_for("HashOneHotEncoder", column)
        order = list(_ENCODER_ORDER[type_detected])
        if hash_params:  # explicit hashing parameters = the user wants hashing
            order.remove("HashOneHotEncoder")
            order.insert(0, "HashOneHotEncoder")
        usable = [
            name
            for name in order
            if name not in self.blocked and (name != "TargetEncoder" or self.target_type)
        ]
        if not usable:
            return None
        encoder = usable[0]
        skipped = [name for name in order[: order.index(encoder)] if name in self.blocked]
        note = f"; {', '.join(skipped)} blocked" if skipped else ""
        params: dict = {"impute": None}
        user_imputer = bool(self.config.params_for("Imputer", column))
        if encoder == "OneHotEncoder" or user_imputer:
            strategy, fill_value = _imputer_params(self.config, column, "most_frequent")
            if strategy in ("mean", "median"):
                raise ValueError(
                    f"Imputer strategy {strategy!r} needs numbers; column {column!r} is "
                    f"{type_detected} (use 'most_frequent' or 'constant')"
                )
            params["impute"] = (strategy, fill_value)
        if encoder == "OneHotEncoder":
            params["min_frequency"] = ONEHOT_MIN_FREQUENCY
        elif encoder == "TargetEncoder":
            params["target_type"] = self.target_type
        else:
            params["number_of_bits"] = hash_params.get("number_of_bits", DEFAULT_HASH_BITS)
        imputer = [_IMPUTER_NAMES[params["impute"][0]]] if has_missing and params["impute"] else []
        return _ENCODER_KINDS[encoder], params, imputer + [encoder], note


def _plan_off(X: pd.DataFrame, task: str) -> FeaturizationPlan:
    non_numeric = [c for c in X.columns if not is_numeric_like(X[c])]
    if non_numeric:
        raise ValueError(
            "featurization='off' needs numeric or bool columns only; non-numeric column(s): "
            + ", ".join(f"{c!r} ({X[c].dtype})" for c in non_numeric)
        )
    summary = [ColumnSummary(c, "Numeric", False, ["PassThrough"], 0) for c in X.columns]
    specs = [ColumnSpec(raw=c, safe="", kind="passthrough") for c in X.columns]
    return _finish("off", X, task, summary, specs)


def _plan_auto(X: pd.DataFrame, mode: str, config: FeaturizationConfig, task: str):
    config.validate(list(X.columns))
    planner = _ColumnPlanner(X, config, task)
    summary, specs = [], []
    for column in X.columns:
        if column in config.drop_columns:
            inferred = InferredType("Ignore", "listed in drop_columns")
        elif column in config.column_purposes:
            purpose = config.column_purposes[column]
            inferred = InferredType(purpose, "column purpose set by user")
        else:
            inferred = infer_column_type(X[column])
        item, spec = planner.plan(column, inferred)
        summary.append(item)
        if spec is not None:
            specs.append(spec)
    if not specs:
        reasons = "; ".join(f"{s.raw_feature_name!r}: {s.type_detected}" for s in summary)
        raise ValueError(f"no usable feature columns after featurization ({reasons})")
    return _finish(mode, X, task, summary, specs)


def _finish(mode, X, task, summary, specs) -> FeaturizationPlan:
    for spec, safe in zip(specs, safe_names([s.raw for s in specs])):
        spec.safe = safe
    kept = [s.raw for s in specs]
    with_missing = [c for c in kept if X[c].isna().any()]
    return FeaturizationPlan(
        mode=mode,
        summary=summary,
        feature_columns=kept,
        has_missing_values=bool(with_missing),
        task=task,
        imputed_columns=with_missing if mode != "off" else [],
        specs=specs,
    )


def plan_featurization(
    X: pd.DataFrame,
    featurization: str | FeaturizationConfig = "auto",
    task: str = "classification",
) -> FeaturizationPlan:
    """Decide how every raw column of ``X`` is featurized (see module docstrings)."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}")
    duplicated = X.columns[X.columns.duplicated()].unique().tolist()
    if duplicated:
        raise ValueError(f"duplicate column names: {', '.join(map(repr, duplicated))}")
    if isinstance(featurization, FeaturizationConfig):
        return _plan_auto(X, "custom", featurization, task)
    if isinstance(featurization, str) and featurization.lower() in _MODES:
        if featurization.lower() == "off":
            return _plan_off(X, task)
        return _plan_auto(X, "auto", FeaturizationConfig(), task)
    raise ValueError(
        f"featurization must be 'auto', 'off' or a FeaturizationConfig, got {featurization!r}"
    )
