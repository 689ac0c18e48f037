"""What the logged model accepts: the one check of prediction input, and the input example.

The Python model (``AutoMLClassifier`` / ``AutoMLRegressor`` / ``AutoMLForecaster``) runs
:func:`check_input` in ``predict`` and ``predict_proba``; the MLflow pyfunc calls those, and its
signature declares the column names with type Any (see ``tracking.ExperimentTracker.log_model``),
so the served model and the Python model accept and refuse exactly the same input.

Each training column has a *kind* (from its dtype; text columns that featurization parsed as
dates are ``datetime``). The rules per kind (README, "What the model accepts"):

* ``number``: numbers, bools and numeric strings ("1.5"); missing values are imputed as in
  training. Text that is not a number and +/-inf are refused.
* ``boolean``: True/False, 0/1, the strings "true"/"false"/"0"/"1" (any case); missing values.
  Anything else ("maybe") is refused.
* ``datetime``: datetimes (naive ones are taken as UTC, aware ones converted to UTC, as in
  training) and strings that parse as dates; missing values. Unparseable strings are refused.
* ``text``: anything (values are compared as strings; unseen categories are handled by the
  encoders).

Column names are matched as strings, so a frame with integer names (``pd.DataFrame(array)``)
is accepted by a model trained on one. Extra columns are ignored; a missing column is refused.
Every refusal is an :class:`InputError` (a ``ValueError``) naming the column and a bad value.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
import pandas as pd

NUMBER, BOOLEAN, DATETIME, TEXT = "number", "boolean", "datetime", "text"
_TRUE = {"true", "1", "1.0"}
_FALSE = {"false", "0", "0.0"}


class InputError(ValueError):
    """Prediction input the model refuses; the message names the column."""


def column_kinds(frame: pd.DataFrame, datetime_columns: Iterable[Hashable] = ()) -> dict[str, str]:
    """The kind of each training column (``datetime_columns``: text parsed as dates)."""
    parsed_dates = {str(c) for c in datetime_columns}
    kinds = {}
    for column in frame.columns:
        dtype = frame[column].dtype
        if pd.api.types.is_bool_dtype(dtype):
            kind = BOOLEAN
        elif pd.api.types.is_numeric_dtype(dtype):
            kind = NUMBER
        elif pd.api.types.is_datetime64_any_dtype(dtype) or str(column) in parsed_dates:
            kind = DATETIME
        else:
            kind = TEXT
        kinds[str(column)] = kind
    return kinds


def check_input(X: Any, columns: list[str], kinds: dict[str, str] | None) -> pd.DataFrame:
    """``X`` as a DataFrame of the training ``columns`` (string names, training order), each
    checked against its kind; raises :class:`InputError` naming the first bad column."""
    frame = _as_frame(X, columns)
    by_name: dict[str, Hashable] = {}
    for name in frame.columns:
        key = str(name)
        if key in by_name and key in columns:
            raise InputError(f"input has the column {key!r} twice.")
        by_name.setdefault(key, name)
    missing = [c for c in columns if c not in by_name]
    if missing:
        raise InputError(f"Input is missing the column(s) the model was trained on: {missing}")
    checked = {}
    for column in columns:
        values = frame[by_name[column]]
        kind = (kinds or {}).get(column, TEXT)
        checked[column] = _CHECKS[kind](column, values)
    # Arrays, not Series: no alignment, so a repeated index is fine.
    return pd.DataFrame({c: v.array for c, v in checked.items()}, index=frame.index)


def _as_frame(X: Any, columns: list[str]) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, pd.Series):  # one row as a Series (name -> value) or one column
        return X.to_frame().T if set(map(str, X.index)) >= set(columns) else X.to_frame()
    if isinstance(X, dict):
        scalar = not any(pd.api.types.is_list_like(v) for v in X.values())
        return pd.DataFrame([X]) if scalar else pd.DataFrame(X)
    array = np.asarray(X, dtype=object)
    if array.ndim != 2 or array.shape[1] != len(columns):
        raise InputError(
            f"input of shape {array.shape} does not have the model's {len(columns)} columns "
            f"{columns}; pass a DataFrame with those column names."
        )
    return pd.DataFrame(X, columns=columns)


def _bad(column: str, values: pd.Series, bad: np.ndarray, what: str) -> InputError:
    position = int(np.flatnonzero(bad)[0])
    first = values.iloc[position]
    first = first.item() if isinstance(first, np.generic) else first
    return InputError(
        f"column {column!r} {what}; got {first!r} in {int(bad.sum())} row(s) "
        f"(first at index {values.index[position]!r})."
    )


def _number(column: str, values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        numeric = pd.Series(
            values.to_numpy(dtype=np.float64, na_value=np.nan), index=values.index, name=column
        )
    else:
        as_objects = values.astype(object).map(
            lambda v: float(v) if isinstance(v, bool | np.bool_) else v
        )
        numeric = pd.to_numeric(as_objects, errors="coerce").astype(np.float64)
        bad = numeric.isna().to_numpy() & values.notna().to_numpy()
        if bad.any():
            raise _bad(column, values, bad, "is numeric and holds text that is not a number")
    infinite = np.isinf(numeric.to_numpy(dtype=np.float64))
    if infinite.any():
        raise _bad(column, values, infinite, "holds an infinite value (the model needs finite)")
    return values  # checked, not converted: the featurizer converts as in training


def _boolean(column: str, values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values
    refused = object()

    def parse(value: Any) -> Any:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return pd.NA
        if isinstance(value, bool | np.bool_):
            return bool(value)
        text = str(value).strip().lower()
        return True if text in _TRUE else False if text in _FALSE else refused

    parsed = values.astype(object).map(parse)
    bad = np.array([v is refused for v in parsed], dtype=bool)
    if bad.any():
        raise _bad(column, values, bad, "is boolean and takes True/False (or 1/0)")
    # As the training column: bools (with missing values), so the featurizer sees the same.
    return parsed.astype("boolean")


def _datetime(column: str, values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    present = values.notna().to_numpy()
    parsed = _parse_dates(values[present].astype(str))
    bad = np.zeros(len(values), dtype=bool)
    bad[present] = parsed.isna().to_numpy()
    if bad.any():
        raise _bad(column, values, bad, "holds dates and this value does not parse as one")
    return values  # the featurizer parses them as in training (day-first or not)


def _parse_dates(text: pd.Series) -> pd.Series:
    text = pd.Series(text.to_numpy(dtype=object))  # a fresh index: masks below align
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
        retry = parsed.isna()
        if retry.any():  # 31/01/2020
            parsed[retry] = pd.to_datetime(
                text[retry], errors="coerce", utc=True, format="mixed", dayfirst=True
            )
    return parsed


def _text(column: str, values: pd.Series) -> pd.Series:
    return values


_CHECKS = {NUMBER: _number, BOOLEAN: _boolean, DATETIME: _datetime, TEXT: _text}


# --- the input example ---------------------------------------------------------------------
def typical_example(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """One row of typical values per column: the median of numbers (rounded for integers), the
    middle date, the most frequent category or flag (a text value seen only once, e.g. a name,
    is left missing). Logged as ``input_example.json`` instead of a training row, which would be
    a real record copied into every model artifact."""
    row = {}
    for column in frame.columns:
        values = frame[column].dropna()
        kind = kinds.get(str(column), TEXT)
        row[column] = _typical(values, kind) if len(values) else None
    example = pd.DataFrame([row], columns=frame.columns)
    for column in frame.columns:  # keep the training dtypes where the value allows it
        if example[column].notna().all():
            with_dtype = _astype_or_none(example[column], frame[column].dtype)
            if with_dtype is not None:
                example[column] = with_dtype
    return example


def _typical(values: pd.Series, kind: str) -> Any:
    if kind == NUMBER:
        median = float(np.median(values.to_numpy(dtype=np.float64)))
        return round(median) if pd.api.types.is_integer_dtype(values.dtype) else median
    if kind == DATETIME:
        if not pd.api.types.is_datetime64_any_dtype(values.dtype):
            values = _parse_dates(values.astype(str)).dropna()
        return values.sort_values().iloc[len(values) // 2] if len(values) else None
    counts = values.astype(str).value_counts() if kind == TEXT else values.value_counts()
    if kind == TEXT and counts.iloc[0] < 2:
        return None
    return counts.index[0]


def _astype_or_none(column: pd.Series, dtype: Any) -> pd.Series | None:
    try:
        return column.astype(dtype)
    except (TypeError, ValueError):
        return None
