"""Training data: loading, label and weight checks, and the validation strategy.

Everything here runs before any MLflow run is created, so bad input fails fast with an error
that names the column or value at fault.

Default validation (Azure's rule, when neither ``validation_data`` nor ``n_cross_validations``
nor ``validation_size`` is given), by the number of training rows ``n``:

* ``n > 20,000``: one train/validation split with 10 % validation;
* ``1,000 <= n <= 20,000``: 3-fold cross-validation;
* ``n < 1,000``: 10-fold cross-validation.

Splits are stratified for classification and shuffled with the experiment's seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlflow_automl.config import AutoMLConfig, AutoMLConfigError
from mlflow_automl.frames import (
    check_finite,
    clean_column_names,
    label_column_of,
    load_frame,
    require_columns,
)
from mlflow_automl.tasks import get_task

HOLDOUT_ABOVE_ROWS = 20_000
TEN_FOLDS_BELOW_ROWS = 1_000
DEFAULT_HOLDOUT_FRACTION = 0.1


@dataclass(frozen=True)
class ValidationStrategy:
    """How trials are scored: k-fold cross-validation or one train/validation split."""

    # "cross_validation" | "train_validation_split" | "user_validation_data" | "rolling_origin"
    kind: str
    n_folds: int | None = None
    validation_fraction: float | None = None
    reason: str = ""

    def describe(self) -> str:
        if self.kind == "cross_validation":
            return f"{self.n_folds}-fold cross-validation ({self.reason})"
        if self.kind == "rolling_origin":
            return f"rolling-origin cross-validation, {self.n_folds} folds ({self.reason})"
        if self.kind == "train_validation_split":
            return (
                f"train/validation split, {self.validation_fraction:.0%} validation ({self.reason})"
            )
        return f"user-supplied validation data ({self.reason})"

    def as_params(self) -> dict[str, Any]:
        return {
            "validation_strategy": self.kind,
            "validation_n_folds": self.n_folds,
            "validation_fraction": self.validation_fraction,
        }


@dataclass
class TrainingData:
    """Features, encoded labels, weights and the row splits every trial is scored on.

    For user validation data, ``X`` holds the training rows followed by the validation rows and
    ``splits`` holds the single (train, validation) index pair.
    """

    X: pd.DataFrame
    y: np.ndarray  # classification: integer codes 0..K-1; regression: float
    sample_weight: np.ndarray | None
    classes: np.ndarray | None  # original label values, in code order
    strategy: ValidationStrategy
    splits: list[tuple[np.ndarray, np.ndarray]]
    final_rows: np.ndarray  # rows the best model is refit on
    label_column: str
    weight_column: str | None
    n_dropped_label_rows: int
    source: str  # where the data came from, for the logged dataset
    raw_training_frame: pd.DataFrame = field(repr=False, default=None)
    string_column_names: bool = True  # False: the user's names were e.g. ints (made strings)

    @property
    def n_rows(self) -> int:
        return len(self.X)

    @property
    def n_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)

    @property
    def validation_rows(self) -> np.ndarray:
        """Rows that trials are scored on (every row under cross-validation)."""
        return np.unique(np.concatenate([valid for _, valid in self.splits]))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return codes if self.classes is None else self.classes[codes]


def prepare_tabular_data(config: AutoMLConfig) -> TrainingData:
    """Loads and checks the table of ``config`` (classification, regression) and fixes the
    validation splits; ``mlflow_automl.tasks.prepare_training_data`` picks the task's way."""
    frame, source = load_frame(config.training_data)
    label = label_column_of(config)
    weight = config.weight_column_name
    folds = list(config.cv_split_column_names or [])
    special = [label] + ([weight] if weight else []) + folds
    require_columns(frame, special, "training_data")
    string_column_names = all(isinstance(c, str) for c in frame.columns)
    frame = clean_column_names(frame)
    valid_frame = None
    if config.validation_data is not None:
        valid_frame, _ = load_frame(config.validation_data, "validation_data")
        valid_frame = clean_column_names(valid_frame)
        require_columns(valid_frame, [label] + ([weight] if weight else []), "validation_data")
        valid_frame = _align_validation(frame, valid_frame, label)

    combined = frame if valid_frame is None else pd.concat([frame, valid_frame], ignore_index=True)
    n_train_rows = len(frame)
    keep = combined[label].notna().to_numpy()
    n_dropped = int((~keep).sum())
    is_train = np.arange(len(combined)) < n_train_rows
    combined, is_train = combined.loc[keep].reset_index(drop=True), is_train[keep]
    n_train = int(is_train.sum())
    if n_train == 0:
        raise AutoMLConfigError(
            f"label column {label!r} has no values: all {n_train_rows} rows of training_data "
            "are missing it."
        )
    if n_train < 10:
        raise AutoMLConfigError(
            f"training_data has {n_train} rows with a label; at least 10 are needed."
        )
    if valid_frame is not None and int((~is_train).sum()) == 0:
        raise AutoMLConfigError("validation_data has no rows with a label.")

    y, classes = _encode_label(combined[label], config.task, label, config.positive_label)
    if valid_frame is not None and classes is not None:
        _check_validation_classes(y, is_train, classes, label)
    sample_weight = _weights(combined, weight) if weight else None
    X = combined.drop(columns=special)
    if X.shape[1] == 0:
        raise AutoMLConfigError("training_data has no feature columns besides the label.")
    check_finite(X)

    if folds:
        strategy = ValidationStrategy(
            "cross_validation", n_folds=len(folds), reason="cv_split_column_names"
        )
        splits = _user_folds(combined, folds, y, classes)
    else:
        strategy = choose_strategy(config, n_train)
        _check_split_sizes(strategy, n_train, y, config.task)
        splits = make_splits(strategy, y, is_train, config.task, config.random_seed, label, classes)
    if config.final_model == "fold_models" and strategy.kind != "cross_validation":
        raise AutoMLConfigError(
            f"final_model='fold_models' needs cross-validation folds, but trials are scored "
            f"by {strategy.describe()}: set n_cross_validations, or final_model='refit'."
        )
    final_rows = np.arange(len(X)) if strategy.kind == "cross_validation" else splits[0][0]
    return TrainingData(
        X=X,
        y=y,
        sample_weight=sample_weight,
        classes=classes,
        strategy=strategy,
        splits=splits,
        final_rows=final_rows,
        label_column=label,
        weight_column=weight,
        n_dropped_label_rows=n_dropped,
        source=source,
        raw_training_frame=frame.drop(columns=folds),
        string_column_names=string_column_names,
    )


def choose_strategy(config: AutoMLConfig, n_rows: int) -> ValidationStrategy:
    """Azure's default validation rule, unless the user chose a strategy."""
    if config.validation_data is not None:
        return ValidationStrategy("user_validation_data", reason="validation_data was given")
    if config.n_cross_validations is not None:
        return ValidationStrategy(
            "cross_validation", n_folds=config.n_cross_validations, reason="n_cross_validations"
        )
    if config.validation_size is not None:
        return ValidationStrategy(
            "train_validation_split",
            validation_fraction=config.validation_size,
            reason="validation_size",
        )
    if n_rows > HOLDOUT_ABOVE_ROWS:
        return ValidationStrategy(
            "train_validation_split",
            validation_fraction=DEFAULT_HOLDOUT_FRACTION,
            reason=f"default for {n_rows} rows (> {HOLDOUT_ABOVE_ROWS:,})",
        )
    folds = 10 if n_rows < TEN_FOLDS_BELOW_ROWS else 3
    return ValidationStrategy(
        "cross_validation",
        n_folds=folds,
        reason=f"default for {n_rows} rows ({'< 1,000' if folds == 10 else '1,000 to 20,000'})",
    )


def make_splits(
    strategy: ValidationStrategy,
    y: np.ndarray,
    is_train: np.ndarray,
    task: str,
    seed: int,
    label: str,
    classes: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    rows = np.arange(len(y))
    if strategy.kind == "user_validation_data":
        return [(rows[is_train], rows[~is_train])]
    classification = get_task(task).predicts_classes
    if classification:
        _check_class_counts(y, strategy, label, classes)
    if strategy.kind == "train_validation_split":
        train, valid = train_test_split(
            rows,
            test_size=strategy.validation_fraction,
            random_state=seed,
            stratify=y if classification else None,
        )
        return [(np.sort(train), np.sort(valid))]
    splitter_class = StratifiedKFold if classification else KFold
    splitter = splitter_class(n_splits=strategy.n_folds, shuffle=True, random_state=seed)
    return [(train, valid) for train, valid in splitter.split(rows, y)]


def _check_class_counts(
    y: np.ndarray, strategy: ValidationStrategy, label: str, classes: np.ndarray | None = None
) -> None:
    counts = np.bincount(y)
    needed = strategy.n_folds or 2
    names = classes if classes is not None else np.arange(len(counts))
    rare = np.flatnonzero(counts < 2)
    if rare.size:
        raise AutoMLConfigError(
            f"label column {label!r}: {rare.size} class(es) have fewer than 2 rows "
            f"({_shown([_plain(names[i]) for i in rare])}); "
            "a stratified split needs at least 2 rows per class. Remove or merge those classes, "
            "or, if the label is a number to predict, use task='regression'."
        )
    if strategy.kind == "cross_validation" and counts.min() < needed:
        # Stratified k-fold needs k members per class; fewer folds still validate every row.
        smallest = _plain(names[int(np.argmin(counts))])
        raise AutoMLConfigError(
            f"label column {label!r}: the smallest class {smallest!r} has {counts.min()} rows, "
            f"fewer than n_cross_validations={needed}. Use fewer folds or a validation_size."
        )


def _check_split_sizes(strategy: ValidationStrategy, n_rows: int, y: np.ndarray, task: str) -> None:
    """Folds and held-out fractions the rows cannot fill, named before scikit-learn's error."""
    if strategy.kind == "cross_validation" and strategy.n_folds > n_rows:
        raise AutoMLConfigError(
            f"n_cross_validations={strategy.n_folds} is more than the {n_rows} training rows."
        )
    if strategy.kind == "train_validation_split":
        n_valid = int(np.ceil(strategy.validation_fraction * n_rows))
        # One row per class, and two at least: scores of a single row are undefined.
        classification = get_task(task).predicts_classes
        needed = max(2, len(np.unique(y)) if classification else 2)
        if n_valid < needed or n_rows - n_valid < needed:
            raise AutoMLConfigError(
                f"validation_size={strategy.validation_fraction} leaves {n_valid} of {n_rows} "
                f"rows for validation and {n_rows - n_valid} for training; each needs at least "
                f"{needed}" + (" (one per class)." if classification else ".")
            )


def _user_folds(
    frame: pd.DataFrame, columns: list[str], y: np.ndarray, classes: np.ndarray | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Azure's cv_split_column_names: each column is one fold, 1 = training row, 0 = validation
    row. Validation sets may not overlap: scores pool one out-of-fold prediction per row."""
    rows = np.arange(len(frame))
    splits, validated_by = [], pd.Series(None, index=rows, dtype=object)
    for column in columns:
        raw = frame[column]
        values = pd.to_numeric(raw.astype(object).replace({True: 1, False: 0}), errors="coerce")
        bad = ~values.isin([0, 1])
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise AutoMLConfigError(
                f"cv_split_column_names: column {column!r} must hold 1 (train) or 0 "
                f"(validation) in every row; row {row} holds {raw.iloc[row]!r}."
            )
        train, valid = rows[values.to_numpy() == 1], rows[values.to_numpy() == 0]
        if len(train) == 0 or len(valid) == 0:
            raise AutoMLConfigError(
                f"cv_split_column_names: column {column!r} has {len(train)} training (1) and "
                f"{len(valid)} validation (0) rows; a fold needs both."
            )
        overlap = validated_by.iloc[valid].dropna()
        if len(overlap):
            raise AutoMLConfigError(
                f"cv_split_column_names: row {int(overlap.index[0])} is a validation row of both "
                f"{overlap.iloc[0]!r} and {column!r}; the folds' validation rows must not overlap."
            )
        validated_by.iloc[valid] = column
        if classes is not None:
            missing = sorted(set(range(len(classes))) - set(np.unique(y[train])))
            if missing:
                raise AutoMLConfigError(
                    f"cv_split_column_names: the training rows of fold {column!r} lack the "
                    f"class(es) {[_plain(classes[i]) for i in missing]}."
                )
        splits.append((train, valid))
    return splits


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "text"


def _align_validation(frame: pd.DataFrame, valid: pd.DataFrame, label: str) -> pd.DataFrame:
    """validation_data in training's columns and dtypes. Numbers or dates stored as text are
    converted when every value parses; anything else that differs is an error naming the
    column (pd.concat would make it text and featurization would drop its signal)."""
    missing = [c for c in frame.columns if c not in valid.columns]
    extra = [c for c in valid.columns if c not in frame.columns]
    if missing or extra:
        raise AutoMLConfigError(
            "validation_data must have the training columns: "
            + "; ".join(
                part
                for part in (
                    f"missing {missing}" if missing else "",
                    f"not in training_data {extra}" if extra else "",
                )
                if part
            )
            + "."
        )
    valid = valid[frame.columns].copy()
    for column in frame.columns:
        want, have = _kind(frame[column]), _kind(valid[column])
        if want == have or column == label or frame[column].isna().all():
            continue
        present = valid[column].notna()
        if want == "number":
            converted = pd.to_numeric(valid[column].where(present), errors="coerce")
        elif want == "datetime":
            converted = pd.to_datetime(valid[column].where(present), errors="coerce")
        else:
            converted = None
        if converted is not None and not (present & converted.isna()).any():
            valid[column] = converted
            continue
        if converted is not None:
            bad = valid[column][present & converted.isna()]
            detail = f"{bad.iloc[0]!r} (row {bad.index[0]}) is not a {want}"
        else:
            detail = f"training_data holds {want} values, validation_data {have} values"
        raise AutoMLConfigError(f"validation_data column {column!r}: {detail}.")
    return valid


def _check_validation_classes(
    y: np.ndarray, is_train: np.ndarray, classes: np.ndarray, label: str
) -> None:
    unseen = sorted(set(np.unique(y[~is_train])) - set(np.unique(y[is_train])))
    if unseen:
        raise AutoMLConfigError(
            f"label column {label!r}: validation_data has class(es) "
            f"{[_plain(classes[i]) for i in unseen]} that training_data does not have; a model "
            "cannot predict a class it never saw."
        )


def _shown(values: list[Any], limit: int = 10) -> str:
    more = f", ... ({len(values) - limit} more)" if len(values) > limit else ""
    return ", ".join(map(repr, values[:limit])) + more


def _plain(value: Any) -> Any:
    """numpy scalars shown as the Python values users typed."""
    return value.item() if isinstance(value, np.generic) else value


def _encode_label(
    label: pd.Series, task: str, name: str, positive_label: Any = None
) -> tuple[np.ndarray, np.ndarray | None]:
    if get_task(task).predicts_classes:
        values = label.to_numpy(dtype=object) if _is_text(label) else label.to_numpy()
        classes, codes = np.unique(
            values.astype(str) if _mixed(values) else values, return_inverse=True
        )
        if len(classes) < 2:
            raise AutoMLConfigError(
                f"label column {name!r} has a single class {classes[0]!r}; "
                "classification needs at least 2."
            )
        fractional = pd.api.types.is_float_dtype(label) and not np.all(np.mod(classes, 1) == 0)
        if len(classes) > max(100, len(label) // 2) or (fractional and len(classes) > 20):
            raise AutoMLConfigError(
                f"label column {name!r} has {len(classes)} distinct values for {len(label)} rows; "
                "that looks like a regression target (task='regression')."
            )
        numeric = pd.api.types.is_numeric_dtype(label) and not pd.api.types.is_bool_dtype(label)
        if numeric and np.isinf(classes.astype(float)).any():
            raise AutoMLConfigError(f"label column {name!r} holds infinite values (inf / -inf).")
        codes = codes.astype(np.int64)
        if positive_label is not None:
            classes, codes = _positive_last(classes, codes, positive_label, name)
        return codes, classes
    numeric = pd.to_numeric(label, errors="coerce")
    bad = label[numeric.isna()]
    if len(bad):
        raise AutoMLConfigError(
            f"label column {name!r} must be numeric for regression; found {bad.iloc[0]!r} "
            f"(row {bad.index[0]})."
        )
    infinite = label[np.isinf(numeric)]
    if len(infinite):
        raise AutoMLConfigError(
            f"label column {name!r} holds infinite values: {infinite.iloc[0]!r} "
            f"(row {infinite.index[0]})."
        )
    if numeric.nunique() < 2:
        raise AutoMLConfigError(
            f"label column {name!r} has the same value {numeric.iloc[0]!r} in every row; "
            "there is nothing to learn."
        )
    return numeric.to_numpy(dtype=np.float64), None


def _positive_last(
    classes: np.ndarray, codes: np.ndarray, positive: Any, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Code 1 for the positive class of a binary label: binary metrics and charts score it."""
    if len(classes) != 2:
        raise AutoMLConfigError(
            f"positive_label applies to binary classification; label column {name!r} has "
            f"{len(classes)} classes."
        )
    matches = [i for i, c in enumerate(classes) if c == positive or str(c) == str(positive)]
    if not matches:
        raise AutoMLConfigError(
            f"positive_label={positive!r} is not a class of label column {name!r}; its classes "
            f"are {[_plain(c) for c in classes]}."
        )
    if matches[0] == 1:
        return classes, codes
    return classes[::-1].copy(), 1 - codes


def _weights(frame: pd.DataFrame, column: str) -> np.ndarray:
    raw = frame[column]
    weights = pd.to_numeric(raw, errors="coerce")
    bad = weights.isna() | (weights < 0) | ~np.isfinite(weights.fillna(0))
    if bad.any():
        row = bad.to_numpy().nonzero()[0][0]
        raise AutoMLConfigError(
            f"weight column {column!r} must hold finite numbers >= 0 with no missing values; "
            f"row {row} holds {raw.iloc[row]!r}."
        )
    if weights.sum() <= 0:
        raise AutoMLConfigError(f"weight column {column!r} is 0 in every row.")
    return weights.to_numpy(dtype=np.float64)


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series) or isinstance(series.dtype, pd.CategoricalDtype)


def _mixed(values: np.ndarray) -> bool:
    return values.dtype == object and len({type(v) for v in values}) > 1
