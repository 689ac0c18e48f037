"""Type inference for featurization="auto"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris

from mlflow_automl.featurize import plan_featurization
from mlflow_automl.featurize.inference import categorical_max_unique, infer_column_type


def _by_name(plan):
    return {s.raw_feature_name: s for s in plan.summary}


def test_titanic_like_summary(titanic_like):
    X, _ = titanic_like
    summary = _by_name(plan_featurization(X))
    expected = {
        "PassengerId": ("Hashes", True),
        "Pclass": ("Numeric", False),
        "Name": ("Text", False),
        "Sex": ("Categorical", False),
        "Age": ("Numeric", False),
        "Fare": ("Numeric", False),
        "Ticket": ("CategoricalHash", False),
        "Embarked": ("Categorical", False),
        "Boarded": ("DateTime", False),
        "Ship": ("Constant", True),
        "Notes": ("AllNan", True),
    }
    for column, (type_detected, dropped) in expected.items():
        assert (summary[column].type_detected, summary[column].dropped) == (
            type_detected,
            dropped,
        ), column
    assert summary["Cabin"].type_detected in ("Categorical", "CategoricalHash")
    assert summary["Age"].transformations == ["MeanImputer", "MissingIndicator"]
    assert summary["Fare"].transformations == ["MeanImputer"]
    assert summary["Sex"].transformations == ["OneHotEncoder"]
    assert summary["Embarked"].transformations == ["ModeImputer", "OneHotEncoder"]
    assert summary["Ticket"].transformations == ["TargetEncoder"]
    assert summary["Name"].transformations == ["TfIdf"]
    assert summary["Boarded"].transformations == ["DateTimeFeaturizer"]
    assert [s.raw_feature_name for s in summary.values()] == list(X.columns)


def test_real_numeric_datasets_are_numeric():
    for loader in (load_iris, load_diabetes):
        X = loader(as_frame=True).data
        plan = plan_featurization(X, task="regression")
        assert {s.type_detected for s in plan.summary} == {"Numeric"}
        assert plan.feature_columns == list(X.columns)
        assert not plan.has_missing_values


@pytest.fixture(scope="module")
def iris_values() -> np.ndarray:
    return load_iris().data[:, 0]  # 150 sepal lengths, 35 distinct


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda v: pd.Series(v > 5.8), "Numeric"),  # bool
        (lambda v: pd.Series(v > 5.8, dtype="boolean").where(v < 7.5), "Numeric"),
        (lambda v: pd.Series((v * 10).astype(int), dtype="Int64"), "Numeric"),
        (lambda v: pd.Series(np.arange(len(v))[::-1] + 100), "Hashes"),  # shuffled row index
        (lambda v: pd.Series(np.arange(len(v)) * 2), "Numeric"),  # distinct, not consecutive
        (lambda v: pd.Series(v.astype(str)), "Numeric"),  # numeric strings
        (lambda v: pd.Series(pd.to_datetime("2021-01-01") + pd.to_timedelta(v, "D")), "DateTime"),
        (lambda v: pd.Series([f"2021-03-{int(x * 3) % 28 + 1:02d}" for x in v]), "DateTime"),
        (lambda v: pd.Series([f"{int(x * 10)}" for x in v]).astype("category"), "Categorical"),
        (lambda v: pd.Series([f"id-{i}" for i in range(len(v))]), "Hashes"),
        (lambda v: pd.Series([f"code {i % 80}" for i in range(len(v))]), "CategoricalHash"),
        (lambda v: pd.Series(np.full(len(v), np.nan)), "AllNan"),
        (lambda v: pd.Series(["same"] * len(v), dtype="str"), "Constant"),
        (lambda v: pd.Series(np.ones(len(v))).where(v > 6), "Constant"),
    ],
)
def test_infer_column_type(iris_values, make, expected):
    assert infer_column_type(make(iris_values)).type_detected == expected


def test_pure_number_strings_are_not_dates():
    years = pd.Series([str(1990 + i % 30) for i in range(200)], dtype="str")
    assert infer_column_type(years).type_detected == "Numeric"


def test_pandas3_string_dtype_and_pd_na(iris_values):
    levels = np.where(iris_values > 6.0, "long", np.where(iris_values > 5.2, "mid", "short"))
    for dtype in ("str", "string", "category", object):
        series = pd.Series(levels, dtype=dtype)
        series[::17] = pd.NA if dtype == "string" else None
        result = infer_column_type(series)
        assert result.type_detected == "Categorical", dtype


def test_text_detection_needs_tokens_or_length():
    sentences = pd.Series([f"the sample number {i} looks fine" for i in range(120)])
    assert infer_column_type(sentences).type_detected == "Text"
    assert "tokens" in infer_column_type(sentences).reason


def test_categorical_threshold_grows_with_rows_but_is_capped():
    assert categorical_max_unique(100) == 50
    assert categorical_max_unique(1500) == 75
    assert categorical_max_unique(10**6) == 100
