"""Small sklearn transformers used by the featurizer.

Every transformer here takes a 2-D input whose columns are (safe) raw column names and names
its outputs ``"<column>"`` or ``"<column>__<part>"``, so output features can be traced back to
raw columns by splitting on the first ``"__"``.  Inputs arrive already coerced by
:class:`~mlflow_automl.featurize.featurizer.Featurizer`: numeric columns as float64 with NaN,
text-like columns as Python ``str`` objects with ``np.nan`` for missing.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import TargetEncoder
from sklearn.utils.validation import check_is_fitted

# Output part name -> pandas ``.dt`` attribute (the short aliases are deprecated in pandas 3).
DATETIME_PARTS = {
    "year": "year",
    "month": "month",
    "day": "day",
    "dayofweek": "day_of_week",
    "dayofyear": "day_of_year",
    "hour": "hour",
}


def join_feature_name(column: str, part: object) -> str:
    """Name of an engineered feature derived from ``column`` (module level so it pickles)."""
    return f"{column}__{part}"


def _columns_of(X) -> list[str]:
    if isinstance(X, pd.DataFrame):
        return [str(c) for c in X.columns]
    return [f"x{i}" for i in range(np.shape(X)[1])]


def _column_values(X, i: int) -> np.ndarray:
    return X.iloc[:, i].to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)[:, i]


class _NamedColumnsMixin:
    """Remembers input column names and exposes ``get_feature_names_out``."""

    def _remember_columns(self, X) -> None:
        self.columns_ = _columns_of(X)
        self.n_features_in_ = len(self.columns_)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "columns_")
        return np.asarray(self._feature_names(), dtype=object)


class NumericImputer(_NamedColumnsMixin, TransformerMixin, BaseEstimator):
    """SimpleImputer plus (optionally) one missing indicator per column, with raw-prefixed names.

    Indicators are emitted for every column when ``add_indicator`` is true, so the output width
    does not depend on which CV fold happened to contain missing values.
    """

    def __init__(self, strategy: str = "mean", fill_value=None, add_indicator: bool = False):
        self.strategy = strategy
        self.fill_value = fill_value
        self.add_indicator = add_indicator

    def fit(self, X, y=None):
        self._remember_columns(X)
        values = np.asarray(X, dtype=np.float64)
        # keep_empty_features: a column that is all-NaN inside one fold must not vanish.
        self.imputer_ = SimpleImputer(
            strategy=self.strategy, fill_value=self.fill_value, keep_empty_features=True
        ).fit(values)
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "imputer_")
        values = np.asarray(X, dtype=np.float64)
        out = self.imputer_.transform(values)
        if self.add_indicator:
            out = np.hstack([out, np.isnan(values).astype(np.float64)])
        return out

    def _feature_names(self) -> list[str]:
        names = list(self.columns_)
        if self.add_indicator:
            names += [join_feature_name(c, "missing") for c in self.columns_]
        return names


def parse_datetimes(values, dayfirst: bool = False) -> pd.Series:
    """Parse to naive UTC datetimes; unparseable values become NaT, never warn."""
    series = pd.Series(values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            parsed = pd.to_datetime(series, utc=True)
        else:
            # Fast path with one inferred format, per-element parsing only for the leftovers.
            parsed = pd.to_datetime(series, errors="coerce", utc=True, dayfirst=dayfirst)
            retry = parsed.isna() & series.notna()
            if retry.any():
                parsed[retry] = pd.to_datetime(
                    series[retry], errors="coerce", utc=True, format="mixed", dayfirst=dayfirst
                )
    return parsed.dt.tz_convert(None)


def prefers_dayfirst(values) -> bool:
    """True when the format inferred with ``dayfirst`` parses more values (31/01/2020 style)."""
    series = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counts = [
            pd.to_datetime(series, errors="coerce", utc=True, dayfirst=flag).notna().sum()
            for flag in (False, True)
        ]
    return bool(counts[1] > counts[0])


def _datetime_parts(parsed: pd.Series) -> dict[str, np.ndarray]:
    return {
        part: getattr(parsed.dt, attribute).to_numpy(dtype=np.float64, na_value=np.nan)
        for part, attribute in DATETIME_PARTS.items()
    }


class DateTimeFeaturizer(_NamedColumnsMixin, TransformerMixin, BaseEstimator):
    """Datetime columns -> year, month, day, dayofweek, dayofyear, hour.

    Parts constant in the training data (e.g. hour == 0 for dates) are dropped; missing parts
    are imputed with the training median.  Whether strings are day-first is decided once, in
    fit, so a single predicted row such as "02/01/2020" is read the same way as in training.
    """

    def fit(self, X, y=None):
        self._remember_columns(X)
        self.parts_: list[list[str]] = []
        self.fill_values_: list[dict[str, float]] = []
        self.dayfirst_: list[bool] = []
        for i in range(self.n_features_in_):
            values = _column_values(X, i)
            self.dayfirst_.append(prefers_dayfirst(values))
            parts = _datetime_parts(parse_datetimes(values, self.dayfirst_[-1]))
            kept, fills = [], {}
            for part, arr in parts.items():
                observed = arr[~np.isnan(arr)]
                if len(np.unique(observed)) > 1:
                    kept.append(part)
                    fills[part] = float(np.round(np.median(observed)))
            self.parts_.append(kept)
            self.fill_values_.append(fills)
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "parts_")
        blocks = []
        for i, (kept, fills) in enumerate(zip(self.parts_, self.fill_values_)):
            parts = _datetime_parts(parse_datetimes(_column_values(X, i), self.dayfirst_[i]))
            for part in kept:
                arr = parts[part]
                blocks.append(np.where(np.isnan(arr), fills[part], arr))
        if not blocks:
            return np.zeros((len(X), 0))
        return np.column_stack(blocks)

    def _feature_names(self) -> list[str]:
        return [
            join_feature_name(col, part)
            for col, kept in zip(self.columns_, self.parts_)
            for part in kept
        ]


def _as_documents(values: np.ndarray) -> list[str]:
    return ["" if pd.isna(v) else str(v) for v in values]


class TextTfidf(_NamedColumnsMixin, TransformerMixin, BaseEstimator):
    """One TfidfVectorizer per text column, missing -> "", dense output."""

    def __init__(self, max_features: int | None = 100, ngram_range: tuple[int, int] = (1, 2)):
        self.max_features = max_features
        self.ngram_range = ngram_range

    def fit(self, X, y=None):
        self._remember_columns(X)
        self.vectorizers_: list[TfidfVectorizer | None] = []
        for i in range(self.n_features_in_):
            vectorizer = TfidfVectorizer(
                max_features=self.max_features,
                ngram_range=tuple(self.ngram_range),
                dtype=np.float64,
            )
            try:
                vectorizer.fit(_as_documents(_column_values(X, i)))
            except ValueError:  # empty vocabulary (e.g. all missing in this fold)
                vectorizer = None
            self.vectorizers_.append(vectorizer)
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "vectorizers_")
        blocks = [
            vectorizer.transform(_as_documents(_column_values(X, i))).toarray()
            for i, vectorizer in enumerate(self.vectorizers_)
            if vectorizer is not None
        ]
        return np.hstack(blocks) if blocks else np.zeros((len(X), 0))

    def _feature_names(self) -> list[str]:
        return [
            join_feature_name(col, token)
            for col, vectorizer in zip(self.columns_, self.vectorizers_)
            if vectorizer is not None
            for token in vectorizer.get_feature_names_out()
        ]


class HashingEncoder(_NamedColumnsMixin, TransformerMixin, BaseEstimator):
    """Hash each value of each column into ``2**number_of_bits`` indicator-like features.

    Missing values hash to an all-zero row; unseen values simply land in some bucket.
    """

    def __init__(self, number_of_bits: int = 6):
        self.number_of_bits = number_of_bits

    def _hasher(self) -> FeatureHasher:
        return FeatureHasher(
            n_features=2**self.number_of_bits, input_type="string", alternate_sign=False
        )

    def fit(self, X, y=None):
        self._remember_columns(X)
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "columns_")
        hasher = self._hasher()
        blocks = [
            hasher.transform(
                [[] if pd.isna(v) else [str(v)] for v in _column_values(X, i)]
            ).toarray()
            for i in range(self.n_features_in_)
        ]
        return np.hstack(blocks)

    def _feature_names(self) -> list[str]:
        return [
            join_feature_name(col, f"hash{j}")
            for col in self.columns_
            for j in range(2**self.number_of_bits)
        ]


class NamedTargetEncoder(TargetEncoder):
    """sklearn TargetEncoder whose multiclass outputs are named ``<column>__<class>``."""

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        names = super().get_feature_names_out(input_features)
        if self.target_type_ != "multiclass":
            return names
        columns = getattr(self, "feature_names_in_", None)
        if columns is None:
            columns = [f"x{i}" for i in range(self.n_features_in_)]
        return np.asarray(
            [join_feature_name(col, cls) for col in columns for cls in self.classes_],
            dtype=object,
        )
