"""The fitted-model featurizer: a ColumnTransformer behind a column-checking front end.

:class:`Featurizer` is what ``FeaturizationPlan.make_transformer`` returns.  It

* selects the planned raw columns by name (extra columns and any order are fine, a missing
  column raises ``ValueError`` naming it),
* coerces them to what sklearn encoders like: numeric -> float64 with NaN; text-like
  (pandas ``str`` / object / category, incl. ``pd.NA``) -> Python ``str`` objects with
  ``np.nan``; datetime64 columns are left as they are,
* renames them to "safe" names (no ``"__"``, no trailing ``"_"``) so every output feature name
  is ``"<safe column>"`` or ``"<safe column>__<part>"`` and maps back to its raw column,
* delegates to an inner ``ColumnTransformer`` (``sparse_threshold=0``) and returns a dense
  float64 array.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder
from sklearn.utils.validation import check_is_fitted

from .transformers import (
    DateTimeFeaturizer,
    HashingEncoder,
    NamedTargetEncoder,
    NumericImputer,
    TextTfidf,
    join_feature_name,
)

# How a raw column is coerced before it reaches the ColumnTransformer.
_COERCION = {
    "numeric": "numeric",
    "passthrough": "numeric",
    "datetime": "datetime",
    "onehot": "string",
    "target": "string",
    "hash": "string",
    "text": "string",
    "ordinal": "string",
}
# Kinds that encode a categorical column; a learner that reads categories itself (CatBoost)
# gets such columns as integer codes instead (``build_featurizer(native_categoricals=True)``).
CATEGORICAL_KINDS = frozenset({"onehot", "target", "hash"})
# Codes for a category the training rows never had, and for a missing value.
UNSEEN_CODE, MISSING_CODE = -1, -2


@dataclass
class ColumnSpec:
    """How one kept raw column is featurized: a transformer ``kind`` and its parameters."""

    raw: Hashable
    safe: str
    kind: str  # a key of _COERCION
    params: dict = field(default_factory=dict)

    def group_key(self) -> tuple[str, str]:
        return self.kind, repr(sorted(self.params.items()))


def safe_names(columns: list[Hashable]) -> list[str]:
    """Unique string names without ``"__"`` or a trailing ``"_"`` (see module docstring)."""
    used: set[str] = set()
    names = []
    for column in columns:
        base = re.sub(r"_{2,}", "_", str(column)).rstrip("_") or "column"
        name, k = base, 1
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        names.append(name)
    return names


def _with_imputer(encoder, impute: tuple | None):
    if impute is None:
        return encoder
    strategy, fill_value = impute
    imputer = SimpleImputer(strategy=strategy, fill_value=fill_value, keep_empty_features=True)
    return Pipeline([("impute", imputer), ("encode", encoder)])


def _target_encoder_cv(target_type: str):
    # Seeded shuffled folds for the internal cross fitting: reproducible, not order-dependent.
    splitter = KFold if target_type == "continuous" else StratifiedKFold
    return splitter(n_splits=5, shuffle=True, random_state=0)


def _make_step(kind: str, params: dict):
    """A fresh unfitted sklearn transformer for one group of columns."""
    if kind == "passthrough":
        return "passthrough"
    if kind == "numeric":
        return NumericImputer(**params)
    if kind == "datetime":
        return DateTimeFeaturizer()
    if kind == "text":
        return TextTfidf(**params)
    if kind == "ordinal":  # missing is a category of its own, as a native learner treats it
        return OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=UNSEEN_CODE,
            encoded_missing_value=MISSING_CODE,
            dtype=np.float64,
        )
    if kind == "onehot":
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=params["min_frequency"],
            sparse_output=False,
            dtype=np.float64,
            feature_name_combiner=join_feature_name,
        )
    elif kind == "target":
        encoder = NamedTargetEncoder(
            target_type=params["target_type"], cv=_target_encoder_cv(params["target_type"])
        )
    elif kind == "hash":
        encoder = HashingEncoder(number_of_bits=params["number_of_bits"])
    else:
        raise ValueError(f"unknown featurization kind {kind!r}")
    return _with_imputer(encoder, params.get("impute"))


def native_categorical_specs(specs: list[ColumnSpec]) -> list[ColumnSpec]:
    """The categorical columns of ``specs`` as integer codes, for a learner that reads
    categories itself; they come first in the output, so the codes are columns 0..k-1."""
    return [ColumnSpec(s.raw, s.safe, "ordinal") for s in specs if s.kind in CATEGORICAL_KINDS]


def build_featurizer(specs: list[ColumnSpec], native_categoricals: bool = False) -> Featurizer:
    """Group columns featurized the same way into one ColumnTransformer entry each.

    ``native_categoricals``: the categorical columns become integer codes in the first output
    columns (:func:`native_categorical_specs`) instead of their planned encoding."""
    if not specs:
        raise ValueError("no usable feature columns: every column was dropped by featurization")
    if native_categoricals:
        others = [s for s in specs if s.kind not in CATEGORICAL_KINDS]
        specs = native_categorical_specs(specs) + others
    groups: dict[tuple[str, str], list[ColumnSpec]] = {}
    for spec in specs:
        groups.setdefault(spec.group_key(), []).append(spec)
    transformers = [
        (
            f"{members[0].kind}_{i}",
            _make_step(members[0].kind, members[0].params),
            [m.safe for m in members],
        )
        for i, members in enumerate(groups.values())
    ]
    column_transformer = ColumnTransformer(
        transformers, remainder="drop", sparse_threshold=0, verbose_feature_names_out=False
    )
    input_columns = [(s.raw, s.safe, _COERCION[s.kind]) for s in specs]
    return Featurizer(input_columns=input_columns, column_transformer=column_transformer)


def _to_float(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype("Float64")
    numeric = pd.to_numeric(series, errors="coerce")
    return numeric.to_numpy(dtype=np.float64, na_value=np.nan)


def _to_str_objects(series: pd.Series) -> np.ndarray:
    missing = series.isna().to_numpy()
    values = series.astype(object).to_numpy(dtype=object)
    out = np.array([str(v) for v in values], dtype=object)
    out[missing] = np.nan
    return out


def _coerce(series: pd.Series, coercion: str) -> pd.Series:
    if coercion == "numeric":
        values = _to_float(series)
    elif coercion == "datetime" and pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    else:
        values = _to_str_objects(series)
    # Explicit dtype: pandas 3 would otherwise re-infer "str" for object arrays of strings.
    return pd.Series(values, index=series.index, dtype=values.dtype)


class Featurizer(TransformerMixin, BaseEstimator):
    """Raw DataFrame -> dense float64 matrix (see module docstring).

    ``input_columns`` is a list of ``(raw_name, safe_name, coercion)``; ``column_transformer``
    an unfitted ColumnTransformer addressing columns by safe name.
    """

    def __init__(self, input_columns: list[tuple], column_transformer: ColumnTransformer):
        self.input_columns = input_columns
        self.column_transformer = column_transformer

    def _prepare(self, X) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"the featurizer expects a pandas DataFrame, got {type(X).__name__}")
        missing = [raw for raw, _, _ in self.input_columns if raw not in X.columns]
        if missing:
            raise ValueError(
                "input data is missing column(s) required by the model: "
                + ", ".join(repr(c) for c in missing)
            )
        data = {}
        for raw, safe, coercion in self.input_columns:
            column = X[raw]
            if isinstance(column, pd.DataFrame):
                raise ValueError(f"input data has duplicate column {raw!r}")
            data[safe] = _coerce(column, coercion)
        return pd.DataFrame(data, index=X.index)

    def _fresh_column_transformer(self) -> ColumnTransformer:
        # Default output: keeps a global set_config(transform_output="pandas") from leaking in.
        return clone(self.column_transformer).set_output(transform="default")

    def fit(self, X, y=None):
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None, **fit_params) -> np.ndarray:
        # fit_transform (not fit + transform) so TargetEncoder cross-fits on training rows.
        prepared = self._prepare(X)
        self.column_transformer_ = self._fresh_column_transformer()
        out = self.column_transformer_.fit_transform(prepared, y)
        self.n_features_in_ = len(self.input_columns)
        return np.asarray(out, dtype=np.float64)

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "column_transformer_")
        out = self.column_transformer_.transform(self._prepare(X))
        return np.asarray(out, dtype=np.float64)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "column_transformer_")
        return np.asarray(self.column_transformer_.get_feature_names_out(), dtype=object)

    def feature_sources(self) -> list[Hashable]:
        """Raw column each output feature comes from, aligned with get_feature_names_out()."""
        raw_by_safe = {safe: raw for raw, safe, _ in self.input_columns}
        return [raw_by_safe[name.split("__", 1)[0]] for name in self.get_feature_names_out()]
