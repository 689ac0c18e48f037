"""Loading a table and the column checks every task's data preparation shares.

``data.py`` (classification, regression) and ``forecasting/data.py`` both build on these; they
run before any MLflow run exists and name the setting and column at fault.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlflow_automl.config import AutoMLConfig, AutoMLConfigError


def load_frame(data: Any, setting: str = "training_data") -> tuple[pd.DataFrame, str]:
    """Returns a DataFrame and a description of its source, from any accepted form of data."""
    if isinstance(data, pd.DataFrame):
        return _nonempty(data, setting), "pandas.DataFrame"
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.exists():
            raise AutoMLConfigError(f"{setting}: file {str(path)!r} does not exist.")
        suffix = path.suffix.lower()
        readers = {".csv": pd.read_csv, ".txt": pd.read_csv}
        readers |= {".parquet": pd.read_parquet, ".pq": pd.read_parquet}
        if suffix not in readers:
            raise AutoMLConfigError(
                f"{setting}: cannot read {str(path)!r}; use a .csv or .parquet file or a DataFrame."
            )
        try:
            frame = readers[suffix](path)
        except Exception as exc:  # pyarrow, the CSV parser and the OS each have their own
            raise AutoMLConfigError(
                f"{setting}: cannot read {str(path)!r} ({type(exc).__name__}: {exc})."
            ) from exc
        return _nonempty(frame, f"{setting} {str(path)!r}"), str(path.resolve())
    frame = getattr(data, "df", None)  # mlflow.data.pandas_dataset.PandasDataset and friends
    if isinstance(frame, pd.DataFrame):
        source = getattr(getattr(data, "source", None), "uri", None) or getattr(data, "name", "")
        return frame, f"mlflow dataset {source}".strip()
    if hasattr(data, "to_pandas"):
        return data.to_pandas(), type(data).__name__
    raise AutoMLConfigError(
        f"{setting} must be a pandas DataFrame, a CSV/Parquet path or an MLflow dataset, "
        f"not {type(data).__name__}."
    )


def _nonempty(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    if len(frame) == 0 or frame.shape[1] == 0:
        raise AutoMLConfigError(
            f"{what} is empty ({frame.shape[0]} rows x {frame.shape[1]} columns)."
        )
    return frame


def label_column_of(config: AutoMLConfig) -> str:
    return config.label_column_name or config.training_data.targets


def check_finite(X: pd.DataFrame) -> None:
    """inf is no value any learner can use: every trial would fail after the runs exist."""
    numeric = X.select_dtypes(include="number")
    infinite = [c for c in numeric.columns if np.isinf(numeric[c].to_numpy(dtype=float)).any()]
    if infinite:
        raise AutoMLConfigError(
            f"column(s) {infinite} hold infinite values (inf / -inf); replace them by a number or "
            "leave them missing (NaN)."
        )


def require_columns(frame: pd.DataFrame, columns: list[str], setting: str) -> None:
    for column in columns:
        if column not in frame.columns:
            shown = ", ".join(map(str, list(frame.columns)[:20]))
            raise AutoMLConfigError(
                f"{setting} has no column {column!r}. Its columns are: {shown}."
            )


def clean_column_names(frame: pd.DataFrame) -> pd.DataFrame:
    """Column names must be unique strings: sklearn and MLflow signatures rely on it."""
    names = [str(c) for c in frame.columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise AutoMLConfigError(f"training data has duplicated column names: {duplicated}.")
    if names != list(frame.columns):
        frame = frame.set_axis(names, axis=1)
    return frame
