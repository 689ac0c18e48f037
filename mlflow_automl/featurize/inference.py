"""Column type inference for ``featurization="auto"``.

Rules, applied per raw column in this order (``n`` = non-missing values, ``u`` = distinct
non-missing values, ``ratio`` = u / n):

1. ``n == 0`` -> **AllNan**, dropped.  ``u == 1`` -> **Constant**, dropped.
2. bool or numeric dtype -> **Numeric** (imputed, default mean; a MissingIndicator is added
   when the column has missing values), EXCEPT a row-index-like column: no missing values,
   all values integral and distinct, forming a consecutive range, at least
   ``MIN_ROWS_FOR_ID`` rows -> **Hashes** (ID-like), dropped.
3. datetime64 dtype -> **DateTime**.
4. text-like columns (object / pandas "str" / category), values compared as strings:

   a. (not for category dtype) every value parses as a number -> treated as rule 2.
   b. (not for category dtype) >= ``DATETIME_PARSE_RATIO`` of up to ``SAMPLE_SIZE`` sampled
      values look like dates (``2020-01-31``, ``31/01/2020``, ``10:30``, ``Jan 5``; pure
      numbers never count) and parse with ``pd.to_datetime`` -> **DateTime**.
   c. ``u <= categorical_max_unique(n_rows)`` (50, growing to 5% of rows, capped at 100) and
      not ID-like -> **Categorical** (mode imputation + one-hot).
   d. free text: among up to ``SAMPLE_SIZE`` distinct values the mean number of whitespace
      tokens >= ``TEXT_MIN_TOKENS`` or mean length > ``TEXT_MIN_LENGTH`` -> **Text** (TF-IDF).
   e. ``ratio > ID_DISTINCT_RATIO`` and ``u >= MIN_ROWS_FOR_ID`` -> **Hashes** (ID-like),
      dropped.
   f. otherwise -> **CategoricalHash** (target encoding, or feature hashing).

A column is "ID-like" for rule 4c when ``ratio > ID_DISTINCT_RATIO`` and
``u >= MIN_ROWS_FOR_ID``.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

SAMPLE_SIZE = 1000
DATETIME_PARSE_RATIO = 0.95
CATEGORICAL_MIN_UNIQUE_CAP = 50
CATEGORICAL_MAX_UNIQUE_CAP = 100
CATEGORICAL_ROW_FRACTION = 0.05
TEXT_MIN_TOKENS = 3.0
TEXT_MIN_LENGTH = 30.0
ID_DISTINCT_RATIO = 0.95
MIN_ROWS_FOR_ID = 10

_NUMBER_RE = re.compile(r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$")
# A date needs digit-separator-digit (2020-01-31, 31/01/2020, 31.1.20), a time (10:30) or a
# month name next to digits; this keeps codes like "T123" or "A/5 2117" out of dateutil.
_DATE_HINT_RE = re.compile(
    r"\d{1,4}[-/.]\d{1,2}|\d{1,2}:\d{2}"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s*\d"
    r"|\d\s*(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class InferredType:
    """Result of inferring one column: the detected type and a short reason."""

    type_detected: str
    reason: str

    @property
    def dropped(self) -> bool:
        return self.type_detected in ("AllNan", "Constant", "Hashes", "Ignore")


def categorical_max_unique(n_rows: int) -> int:
    """Largest number of distinct values one-hot encoded for a table of ``n_rows`` rows."""
    by_fraction = int(CATEGORICAL_ROW_FRACTION * n_rows)
    return min(CATEGORICAL_MAX_UNIQUE_CAP, max(CATEGORICAL_MIN_UNIQUE_CAP, by_fraction))


def is_numeric_like(series: pd.Series) -> bool:
    """True for bool and (real) numeric dtypes, including pandas nullable ones."""
    if ptypes.is_bool_dtype(series.dtype):
        return True
    return (
        ptypes.is_numeric_dtype(series.dtype)
        and not ptypes.is_complex_dtype(series.dtype)
        and not isinstance(series.dtype, pd.CategoricalDtype)
    )


def _sample(values: pd.Series, seed: int = 0) -> pd.Series:
    # Deterministic sample keeps plans reproducible.
    if len(values) <= SAMPLE_SIZE:
        return values
    return values.sample(SAMPLE_SIZE, random_state=seed)


def _is_row_index(values: pd.Series, n_rows: int) -> bool:
    """All values integral, distinct and consecutive, no missing: a row number."""
    if len(values) != n_rows or n_rows < MIN_ROWS_FOR_ID:
        return False
    arr = values.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
        return False
    return len(np.unique(arr)) == n_rows and arr.max() - arr.min() + 1 == n_rows


def _infer_numeric(values: pd.Series, n_rows: int, source: str) -> InferredType:
    if not ptypes.is_bool_dtype(values.dtype) and _is_row_index(values, n_rows):
        return InferredType("Hashes", "integer row index (distinct, consecutive)")
    return InferredType("Numeric", source)


def _all_numbers(strings: pd.Series) -> bool:
    return bool(strings.str.match(_NUMBER_RE).all())


def _parses_as_datetime(strings: pd.Series) -> bool:
    sample = _sample(strings)
    candidates = sample[sample.str.contains(_DATE_HINT_RE) & ~sample.str.match(_NUMBER_RE)]
    # Most values must look like dates before we try parsing at all.
    if len(candidates) < DATETIME_PARSE_RATIO * len(sample):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(candidates, errors="coerce", format="mixed", utc=True)
        except (ValueError, TypeError, OverflowError):
            return False
    return parsed.notna().sum() >= DATETIME_PARSE_RATIO * len(sample)


def _is_free_text(distinct: pd.Series) -> tuple[bool, str]:
    sample = _sample(distinct)
    tokens = float(sample.str.split().str.len().mean())
    length = float(sample.str.len().mean())
    is_text = tokens >= TEXT_MIN_TOKENS or length > TEXT_MIN_LENGTH
    return is_text, f"free text (mean {tokens:.1f} tokens, {length:.0f} chars)"


def infer_column_type(series: pd.Series) -> InferredType:
    """Infer the featurization type of one raw column (see module docstring)."""
    n_rows = len(series)
    values = series.dropna()
    if len(values) == 0:
        return InferredType("AllNan", "all values missing")
    if is_numeric_like(series):
        if values.nunique() == 1:
            return InferredType("Constant", "single distinct value")
        return _infer_numeric(values, n_rows, "numeric dtype")
    if ptypes.is_datetime64_any_dtype(series.dtype):
        if values.nunique() == 1:
            return InferredType("Constant", "single distinct value")
        return InferredType("DateTime", "datetime dtype")

    strings = values.astype(str)
    n_unique = strings.nunique()
    if n_unique == 1:
        return InferredType("Constant", "single distinct value")
    if not isinstance(series.dtype, pd.CategoricalDtype):
        if _all_numbers(strings):
            return _infer_numeric(pd.to_numeric(strings), n_rows, "numeric strings")
        if _parses_as_datetime(strings):
            return InferredType("DateTime", "strings parse as dates")

    ratio = n_unique / len(strings)
    id_like = ratio > ID_DISTINCT_RATIO and n_unique >= MIN_ROWS_FOR_ID
    if n_unique <= categorical_max_unique(n_rows) and not id_like:
        return InferredType("Categorical", f"{n_unique} distinct values")
    is_text, text_reason = _is_free_text(pd.Series(strings.unique()))
    if is_text:
        return InferredType("Text", text_reason)
    if id_like:
        return InferredType("Hashes", f"ID-like: {ratio:.0%} of values distinct")
    return InferredType("CategoricalHash", f"high cardinality: {n_unique} distinct values")
