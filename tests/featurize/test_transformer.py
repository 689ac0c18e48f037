"""The transformer built from a plan: fitting, predicting on raw rows, pickling, pipelines."""

from __future__ import annotations

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlflow_automl.featurize import FeaturizationConfig, plan_featurization


@pytest.fixture(scope="module")
def fitted(titanic_like):
    X, y = titanic_like
    plan = plan_featurization(X)
    transformer = plan.make_transformer()
    out = transformer.fit_transform(X, y)
    return plan, transformer, out


def test_output_is_dense_float_without_nan(fitted, titanic_like):
    _, transformer, out = fitted
    X, _ = titanic_like
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    assert out.shape[0] == len(X) and not np.isnan(out).any()
    names = transformer.get_feature_names_out()
    assert len(names) == out.shape[1]
    kept = ("Pclass", "Name", "Sex", "Age", "Fare", "Ticket", "Cabin", "Embarked", "Boarded")
    assert all(n == c or n.startswith(c + "__") for n in names for c in [n.split("__")[0]])
    assert {n.split("__")[0] for n in names} == set(kept)
    assert "Age__missing" in names and "Sex__male" in names


def test_make_transformer_returns_new_unfitted_objects(fitted):
    plan, transformer, _ = fitted
    fresh = plan.make_transformer()
    assert fresh is not transformer and fresh is not plan.make_transformer()
    assert not hasattr(fresh, "column_transformer_")


def test_engineered_counts_and_summary_frame(fitted):
    plan, transformer, out = fitted
    plan.record_engineered_counts(transformer)
    frame = plan.summary_frame()
    assert list(frame.columns) == [
        "RawFeatureName",
        "TypeDetected",
        "Dropped",
        "EngineeredFeatureCount",
        "Transformations",
        "Reason",
    ]
    counts = dict(zip(frame.RawFeatureName, frame.EngineeredFeatureCount))
    assert counts["Age"] == 2 and counts["Sex"] == 2 and counts["Ticket"] == 1
    assert counts["PassengerId"] == 0 and counts["Ship"] == 0
    assert 0 < counts["Name"] <= 100
    # Every 7 hours for ~166 days of 1912: the constant year is dropped, five parts remain.
    assert counts["Boarded"] == 5
    assert sum(counts.values()) == out.shape[1]
    row = frame.set_index("RawFeatureName").loc["Age"]
    assert row.Dropped == "No" and row.Transformations == "MeanImputer, MissingIndicator"
    assert frame.set_index("RawFeatureName").loc["PassengerId"].Dropped == "Yes"


def test_predict_time_unseen_values_missing_values_reordered_and_extra_columns(
    fitted, titanic_like
):
    _, transformer, _ = fitted
    X, _ = titanic_like
    rows = X.iloc[:20]
    reference = transformer.transform(rows)
    shuffled = rows[list(reversed(rows.columns))].assign(extra=1.0)
    np.testing.assert_array_equal(transformer.transform(shuffled), reference)

    odd = rows.copy()
    odd["Sex"] = ["unknown"] * 10 + [None] * 10
    odd["Embarked"] = pd.Series(["Z"] * 20, dtype="str")
    odd["Ticket"] = "never seen"
    odd["Age"] = np.nan
    odd["Boarded"] = ["not a date"] * 10 + list(odd["Boarded"].iloc[10:])
    odd["Name"] = None
    out = transformer.transform(odd)
    assert out.shape == reference.shape and not np.isnan(out).any()


def test_missing_column_error_names_it(fitted, titanic_like):
    _, transformer, _ = fitted
    X, _ = titanic_like
    with pytest.raises(ValueError, match="'Age'.*'Embarked'"):
        transformer.transform(X.drop(columns=["Age", "Embarked"]))
    # Dropped columns are not required at predict time.
    transformer.transform(X.drop(columns=["PassengerId", "Ship", "Notes"]).head())


def test_cloudpickle_round_trip(fitted, titanic_like):
    _, transformer, _ = fitted
    X, _ = titanic_like
    restored = cloudpickle.loads(cloudpickle.dumps(transformer))
    np.testing.assert_array_equal(restored.transform(X), transformer.transform(X))


def test_pandas3_string_and_nullable_dtypes(titanic_like):
    X, y = titanic_like
    X = X[["Sex", "Embarked", "Age", "Pclass"]].copy()
    X["Sex"] = X["Sex"].astype("string")
    X.loc[X.index[:5], "Sex"] = pd.NA
    X["Embarked"] = X["Embarked"].astype("category")
    X["Pclass"] = X["Pclass"].astype("Int64")
    X.loc[X.index[:3], "Pclass"] = pd.NA
    X["Flag"] = (X["Age"] > 30).astype("boolean")
    plan = plan_featurization(X)
    out = plan.make_transformer().fit_transform(X, y)
    assert out.dtype == np.float64 and not np.isnan(out).any()
    summary = {s.raw_feature_name: s for s in plan.summary}
    assert summary["Pclass"].transformations == ["MeanImputer", "MissingIndicator"]
    assert summary["Sex"].transformations == ["ModeImputer", "OneHotEncoder"]


def test_datetime_parts_constant_in_training_are_dropped():
    # Every 4 days from late 2019: years vary, the hour is always 0.
    dates = pd.date_range("2019-10-01", periods=150, freq="4D")
    X = pd.DataFrame({"day": dates, "value": load_iris().data[:, 0]})
    transformer = plan_featurization(X, task="regression").make_transformer()
    transformer.fit(X, X["value"])
    names = list(transformer.get_feature_names_out())
    assert "day__hour" not in names
    assert {"day__year", "day__month", "day__day", "day__dayofweek", "day__dayofyear"} <= set(names)


def test_multiclass_and_continuous_target_encoding():
    iris = load_iris(as_frame=True)
    X = iris.data.copy()
    X["bucket"] = [f"b{int(v * 10)}" for v in X["sepal length (cm)"] * X["petal width (cm)"]]
    plan = plan_featurization(X, task="classification")
    assert {s.raw_feature_name: s for s in plan.summary}["bucket"].transformations == [
        "TargetEncoder"
    ]
    transformer = plan.make_transformer()
    transformer.fit(X, iris.target)
    names = list(transformer.get_feature_names_out())
    assert {"bucket__0", "bucket__1", "bucket__2"} <= set(names)

    diabetes = load_diabetes(as_frame=True)
    Xd = diabetes.data.copy()
    Xd["bucket"] = [f"b{int(v * 1000)}" for v in Xd["bmi"]]
    plan = plan_featurization(Xd, task="regression")
    transformer = plan.make_transformer()
    out = transformer.fit_transform(Xd, diabetes.target.round())  # integer-valued target
    assert list(transformer.get_feature_names_out()).count("bucket") == 1
    assert out.shape[1] == Xd.shape[1]


def test_hashing_when_target_encoder_blocked(titanic_like):
    X, y = titanic_like
    config = FeaturizationConfig(blocked_transformers=["TargetEncoder"])
    config.add_transformer_params("HashOneHotEncoder", ["Cabin"], {"number_of_bits": 3})
    plan = plan_featurization(X, config)
    transformer = plan.make_transformer()
    transformer.fit(X, y)
    plan.record_engineered_counts(transformer)
    counts = {s.raw_feature_name: s.engineered_feature_count for s in plan.summary}
    assert counts["Ticket"] == 2**6 and counts["Cabin"] == 2**3
    summary = {s.raw_feature_name: s for s in plan.summary}
    assert summary["Ticket"].transformations == ["HashOneHotEncoder"]


def test_unsupervised_task_falls_back_to_hashing(titanic_like):
    X, _ = titanic_like
    plan = plan_featurization(X, task="clustering")
    summary = {s.raw_feature_name: s for s in plan.summary}
    assert summary["Ticket"].transformations == ["HashOneHotEncoder"]
    assert plan.make_transformer().fit_transform(X).shape[0] == len(X)


def test_pipeline_with_logistic_regression_on_breast_cancer(breast_cancer):
    X, y = breast_cancer
    plan = plan_featurization(X)
    model = make_pipeline(
        plan.make_transformer(), StandardScaler(), LogisticRegression(max_iter=500)
    )
    scores = cross_val_score(model, X, y, cv=3, n_jobs=1)
    assert scores.mean() > 0.9
    # Counts can also be read from a fitted Pipeline whose first step is the featurizer.
    plan.record_engineered_counts(model.fit(X, y))
    assert [s.engineered_feature_count for s in plan.summary] == [1] * X.shape[1]


def test_titanic_like_pipeline_cross_validates(titanic_like):
    X, y = titanic_like
    plan = plan_featurization(X)
    model = make_pipeline(
        plan.make_transformer(), StandardScaler(), LogisticRegression(max_iter=500)
    )
    assert cross_val_score(model, X, y, cv=3, n_jobs=1).mean() > 0.8


def test_all_columns_dropped_raises():
    X = pd.DataFrame({"id": np.arange(50), "const": 3.0, "empty": np.nan})
    with pytest.raises(ValueError, match="no usable feature columns"):
        plan_featurization(X)


def test_awkward_column_names_map_back(breast_cancer):
    X, y = breast_cancer
    X = X.iloc[:, :3].copy()
    X.columns = ["a__b", "a_b", "c_"]
    X["grade_"] = np.where(X["a_b"] > 20, "high", "low")
    plan = plan_featurization(X)
    transformer = plan.make_transformer()
    transformer.fit(X, y)
    plan.record_engineered_counts(transformer)
    assert [s.engineered_feature_count for s in plan.summary] == [1, 1, 1, 2]


def test_day_first_dates_are_read_consistently_at_predict_time():
    dates = pd.date_range("2019-10-01", periods=150, freq="4D")
    X = pd.DataFrame({"when": dates.strftime("%d/%m/%Y"), "value": load_iris().data[:, 0]})
    plan = plan_featurization(X, task="regression")
    assert plan.summary[0].type_detected == "DateTime"
    transformer = plan.make_transformer()
    transformer.fit(X, X["value"])
    names = list(transformer.get_feature_names_out())
    row = transformer.transform(pd.DataFrame({"when": ["02/01/2020"], "value": [5.0]}))[0]
    assert row[names.index("when__day")] == 2 and row[names.index("when__month")] == 1
