"""Data loading, label/weight checks and Azure's default validation rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlflow_automl import AutoMLConfig, AutoMLConfigError
from mlflow_automl.data import choose_strategy
from mlflow_automl.tasks import prepare_training_data


def config_for(frame, label, task="classification", **settings):
    return AutoMLConfig(task=task, training_data=frame, label_column_name=label, **settings)


@pytest.mark.parametrize(
    ("rows", "kind", "folds"),
    [
        (999, "cross_validation", 10),
        (1000, "cross_validation", 3),
        (20_000, "cross_validation", 3),
        (20_001, "train_validation_split", None),
    ],
)
def test_default_validation_rule(penguins, rows, kind, folds):
    strategy = choose_strategy(config_for(penguins, "species"), rows)
    assert strategy.kind == kind
    assert strategy.n_folds == folds
    if kind == "train_validation_split":
        assert strategy.validation_fraction == 0.1


def test_small_data_gets_ten_stratified_folds(penguins):
    data = prepare_training_data(config_for(penguins, "species"))
    assert data.strategy.kind == "cross_validation" and len(data.splits) == 10
    overall = np.bincount(data.y) / len(data.y)
    for _, valid in data.splits:
        share = np.bincount(data.y[valid], minlength=3) / len(valid)
        assert np.allclose(share, overall, atol=0.06)  # stratified
    every_row = np.sort(np.concatenate([v for _, v in data.splits]))
    assert np.array_equal(every_row, np.arange(len(data.y)))


def test_large_data_gets_a_ten_percent_holdout(breast_cancer):
    big = pd.concat([breast_cancer] * 36, ignore_index=True)  # 20,484 rows
    data = prepare_training_data(config_for(big, "target"))
    ((train, valid),) = data.splits
    assert data.strategy.kind == "train_validation_split"
    assert abs(len(valid) - 0.1 * len(big)) <= 1
    assert np.array_equal(data.final_rows, train)


def test_fold_models_without_folds_are_refused_before_any_run(breast_cancer):
    """The default holdout above 20,000 rows has no folds to average: the error says so and
    names the way out."""
    big = pd.concat([breast_cancer] * 36, ignore_index=True)
    config = config_for(big, "target", final_model="fold_models")
    with pytest.raises(AutoMLConfigError, match="final_model='fold_models' needs cross-valid"):
        prepare_training_data(config)
    with_folds = config_for(big, "target", final_model="fold_models", n_cross_validations=3)
    assert len(prepare_training_data(with_folds).splits) == 3


def test_string_labels_are_encoded_and_kept(penguins):
    data = prepare_training_data(config_for(penguins, "species"))
    assert list(data.classes) == ["Adelie", "Chinstrap", "Gentoo"]
    assert list(data.decode(data.y[:2])) == list(penguins["species"][:2])
    assert "species" not in data.X.columns


def test_bool_labels_and_missing_labels(breast_cancer):
    frame = breast_cancer.copy()
    frame["target"] = (frame["target"] == "benign").astype(object)
    frame.loc[:4, "target"] = None
    data = prepare_training_data(config_for(frame, "target"))
    assert data.n_dropped_label_rows == 5
    assert set(data.classes) == {False, True}


def test_pandas_string_dtype(penguins):
    frame = penguins.astype({"species": "string", "island": "string"})
    data = prepare_training_data(config_for(frame, "species"))
    assert data.n_classes == 3


def test_csv_and_parquet_paths(tmp_path, diabetes):
    csv, parquet = tmp_path / "d.csv", tmp_path / "d.parquet"
    diabetes.to_csv(csv, index=False)
    diabetes.to_parquet(parquet)
    for path in (csv, str(parquet)):
        data = prepare_training_data(config_for(path, "target", task="regression"))
        assert data.n_rows == len(diabetes) and data.strategy.n_folds == 10
        assert data.source.endswith(("d.csv", "d.parquet"))


def test_sample_weights_are_checked(diabetes):
    frame = diabetes.assign(w=1.0)
    data = prepare_training_data(
        config_for(frame, "target", task="regression", weight_column_name="w")
    )
    assert "w" not in data.X.columns and data.sample_weight.sum() == len(frame)
    frame.loc[3, "w"] = -1
    with pytest.raises(AutoMLConfigError, match="weight column 'w'"):
        prepare_training_data(
            config_for(frame, "target", task="regression", weight_column_name="w")
        )


@pytest.mark.parametrize(
    ("label", "task", "fragment"),
    [
        ("nope", "classification", "has no column 'nope'"),
        ("species", "regression", "must be numeric for regression"),
        ("bill_length_mm", "classification", "looks like a regression target"),
    ],
)
def test_bad_labels_name_the_column(penguins, label, task, fragment):
    with pytest.raises(AutoMLConfigError, match=fragment):
        prepare_training_data(config_for(penguins, label, task=task))


def test_user_validation_data(penguins):
    shuffled = penguins.sample(frac=1.0, random_state=0)
    train, valid = shuffled.iloc[:250], shuffled.iloc[250:]
    data = prepare_training_data(config_for(train, "species", validation_data=valid))
    ((fit_rows, valid_rows),) = data.splits
    assert len(fit_rows) == 250 and len(valid_rows) == len(valid)
    assert data.strategy.kind == "user_validation_data"
    with pytest.raises(AutoMLConfigError, match=r"missing \['island'\]"):
        prepare_training_data(
            config_for(train, "species", validation_data=valid.drop(columns="island"))
        )


# --- validation_data: columns, dtypes, classes -------------------------------------------------
def test_numbers_stored_as_text_in_validation_data_are_converted(penguins):
    """A numeric column read as text in validation_data made the combined column text, and its
    signal was lost (0.58 instead of 0.89): it is converted when every value parses."""
    shuffled = penguins.sample(frac=1.0, random_state=0)
    train, valid = shuffled.iloc[:250], shuffled.iloc[250:].copy()
    valid["bill_length_mm"] = valid["bill_length_mm"].map(lambda v: "" if pd.isna(v) else str(v))
    valid["bill_length_mm"] = valid["bill_length_mm"].replace("", None)
    data = prepare_training_data(config_for(train, "species", validation_data=valid))
    assert pd.api.types.is_float_dtype(data.X["bill_length_mm"])
    expected = shuffled["bill_length_mm"].to_numpy(dtype=float)
    np.testing.assert_array_equal(data.X["bill_length_mm"].to_numpy(dtype=float), expected)


def test_an_empty_validation_column_keeps_the_training_dtype(penguins):
    shuffled = penguins.sample(frac=1.0, random_state=0)
    train, valid = shuffled.iloc[:250], shuffled.iloc[250:].copy()
    valid["bill_length_mm"] = None  # object dtype: concatenated, the column became text
    data = prepare_training_data(config_for(train, "species", validation_data=valid))
    assert pd.api.types.is_float_dtype(data.X["bill_length_mm"])


def test_a_class_only_in_validation_data_is_an_error(penguins):
    shuffled = penguins.sample(frac=1.0, random_state=0)
    train, valid = shuffled.iloc[:250], shuffled.iloc[250:].copy()
    valid.loc[valid.index[:3], "species"] = "Emperor"
    with pytest.raises(AutoMLConfigError, match="'Emperor'"):
        prepare_training_data(config_for(train, "species", validation_data=valid))


# --- user-given folds -------------------------------------------------------------------------
def test_cv_split_columns_are_the_folds_and_not_features(breast_cancer):
    frame = breast_cancer.copy()
    rows = np.arange(len(frame))
    frame["fold_a"] = (rows % 3 != 0).astype(int)  # 0 = validation row
    frame["fold_b"] = np.where(rows % 3 == 1, 0, 1)
    data = prepare_training_data(
        config_for(frame, "target", cv_split_column_names=["fold_a", "fold_b"])
    )
    assert data.strategy.kind == "cross_validation" and data.strategy.n_folds == 2
    assert "cv_split_column_names" in data.strategy.reason
    assert {"fold_a", "fold_b"}.isdisjoint(data.X.columns)
    (train_a, valid_a), (train_b, valid_b) = data.splits
    np.testing.assert_array_equal(valid_a, rows[rows % 3 == 0])
    np.testing.assert_array_equal(train_a, rows[rows % 3 != 0])
    np.testing.assert_array_equal(valid_b, rows[rows % 3 == 1])
    assert set(data.validation_rows) == set(rows[rows % 3 != 2])
    assert "fold_a" not in data.raw_training_frame.columns


# --- positive_label ---------------------------------------------------------------------------
@pytest.mark.parametrize("positive", ["malignant", "benign"])
def test_positive_label_is_class_code_one(breast_cancer, positive):
    data = prepare_training_data(config_for(breast_cancer, "target", positive_label=positive))
    assert data.classes[1] == positive
    np.testing.assert_array_equal(data.decode(data.y), breast_cancer["target"].to_numpy())


def test_positive_label_given_as_text_for_numeric_classes(diabetes):
    frame = diabetes.assign(high=(diabetes["target"] > 140).astype(int)).drop(columns="target")
    data = prepare_training_data(config_for(frame, "high", positive_label="0"))
    assert data.classes.tolist() == [1, 0]
