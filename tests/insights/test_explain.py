"""Feature importance of fitted models, built the way the engine builds them, on real data."""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from sklearn.datasets import load_breast_cancer

from mlflow_automl.featurize import plan_featurization
from mlflow_automl.insights.explain import Explanation, explain_model, importance_charts
from mlflow_automl.learners import get_learner
from mlflow_automl.model import build_pipeline, fit_pipeline, wrap_fitted

CLASSIFICATION, REGRESSION = "classification", "regression"


def fit_model(X: pd.DataFrame, y: np.ndarray, task: str, name: str, classes=None):
    """Plan, build, fit and wrap a pipeline with the learner's default parameters."""
    plan = plan_featurization(X, "auto", task)
    learner = get_learner(name, task)
    params = learner.default_params(task, len(X), X.shape[1])
    pipeline = build_pipeline(plan, learner, params, task, random_state=0)
    fit_pipeline(pipeline, learner, X, y, None)
    return wrap_fitted(pipeline, task, classes, list(X.columns), name, params)


def split_label(frame: pd.DataFrame, label: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    classes, codes = np.unique(frame[label].to_numpy(dtype=object), return_inverse=True)
    return frame.drop(columns=label), codes.astype(np.int64), classes


def class_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.startswith("importance_")]


def assert_consistent(explanation: Explanation) -> None:
    """Sorted tables, and raw importance = sum of its engineered features, for every column."""
    engineered, raw = explanation.engineered, explanation.raw
    assert list(engineered.columns[:3]) == ["feature", "raw_feature", "importance"]
    assert list(raw.columns[:2]) == ["raw_feature", "importance"]
    assert class_columns(engineered) == class_columns(raw)
    assert engineered["importance"].is_monotonic_decreasing
    assert raw["importance"].is_monotonic_decreasing
    assert set(raw["raw_feature"]) == set(engineered["raw_feature"])
    sums = engineered.drop(columns="feature").groupby("raw_feature").sum()
    for column in ["importance", *class_columns(raw)]:
        expected = sums.loc[raw["raw_feature"], column].to_numpy()
        np.testing.assert_allclose(raw[column].to_numpy(), expected, atol=1e-12)
    assert np.isfinite(engineered.drop(columns=["feature", "raw_feature"]).to_numpy()).all()


@pytest.fixture(scope="module")
def cancer(breast_cancer):
    X, y, classes = split_label(breast_cancer, "target")
    return X, y, classes, fit_model(X, y, CLASSIFICATION, "LightGBM", classes)


@pytest.fixture(scope="module")
def penguin_knn(penguins):
    X, y, classes = split_label(penguins, "species")
    return X, y, classes, fit_model(X, y, CLASSIFICATION, "KNN", classes)


@pytest.fixture(scope="module")
def penguin_knn_explained(penguin_knn):
    X, y, _, model = penguin_knn
    return explain_model(model, X, y, CLASSIFICATION)


@pytest.fixture(scope="module")
def diabetes_xy(diabetes):
    return diabetes.drop(columns="target"), diabetes["target"].to_numpy(dtype=np.float64)


def test_lightgbm_native_importance_breast_cancer(cancer):
    X, y, classes, model = cancer
    explanation = explain_model(model, X, y, CLASSIFICATION)
    assert explanation.method == "native"
    assert_consistent(explanation)
    assert explanation.engineered["importance"].sum() == pytest.approx(1.0)
    assert explanation.raw["importance"].sum() == pytest.approx(1.0)
    assert set(explanation.raw["raw_feature"]) == set(X.columns)
    # The "worst" (largest-value) measurements carry the diagnosis.
    top = list(explanation.raw["raw_feature"][:5])
    assert sum(name.startswith("worst") for name in top) >= 3, top
    worst = explanation.raw["raw_feature"].str.startswith("worst")
    assert explanation.raw["importance"][worst].sum() > explanation.raw["importance"][~worst].sum()
    # No time limit: per-class permutation values too; binary columns are identical.
    assert explanation.classes == ["benign", "malignant"]
    np.testing.assert_allclose(
        explanation.raw["importance_benign"], explanation.raw["importance_malignant"], atol=1e-12
    )
    assert explanation.n_repeats == 5


def test_native_model_omits_per_class_when_no_time_is_left(cancer):
    X, y, _, model = cancer
    explanation = explain_model(model, X, y, CLASSIFICATION, time_limit=1e-9)
    assert explanation.method == "native"
    assert explanation.classes is None and not class_columns(explanation.raw)
    assert explanation.n_repeats == 0
    assert explanation.raw["importance"].sum() == pytest.approx(1.0)


def test_knn_permutation_per_class_penguins(penguin_knn, penguin_knn_explained):
    X, y, classes, model = penguin_knn
    explanation = penguin_knn_explained
    assert explanation.method == "permutation"
    assert_consistent(explanation)
    assert explanation.classes == ["Adelie", "Chinstrap", "Gentoo"]
    assert class_columns(explanation.raw) == [
        "importance_Adelie",
        "importance_Chinstrap",
        "importance_Gentoo",
    ]
    assert explanation.n_rows == len(X) and explanation.n_repeats == 5
    # "island" is one-hot encoded; its raw importance is the sum of its engineered columns.
    engineered = explanation.engineered
    island = engineered[engineered["raw_feature"] == "island"]
    assert len(island) >= 2 and island["feature"].str.startswith("island__").all()
    raw_island = explanation.raw.set_index("raw_feature").loc["island"]
    for column in ["importance", *class_columns(explanation.raw)]:
        assert raw_island[column] == pytest.approx(island[column].sum())
    # Bill length separates Adelie from Chinstrap: the top raw feature for Chinstrap.
    assert explanation.raw["raw_feature"][0] == "bill_length_mm"
    by_chinstrap = explanation.raw.sort_values("importance_Chinstrap", ascending=False)
    assert by_chinstrap["raw_feature"].iloc[0] == "bill_length_mm"
    # Overall = prevalence-weighted mean of the per-class drops in one-vs-rest AUC.
    prevalence = np.bincount(y) / len(y)
    weighted = engineered[class_columns(engineered)].to_numpy() @ prevalence
    np.testing.assert_allclose(engineered["importance"], weighted, atol=1e-12)


def test_subsample_is_stratified_and_seeded(penguin_knn):
    X, y, _, model = penguin_knn
    first = explain_model(model, X, y, CLASSIFICATION, max_rows=60, n_repeats=2, random_state=3)
    again = explain_model(model, X, y, CLASSIFICATION, max_rows=60, n_repeats=2, random_state=3)
    assert first.n_rows == 60 and first.classes == ["Adelie", "Chinstrap", "Gentoo"]
    pd.testing.assert_frame_equal(first.engineered, again.engineered)


@pytest.mark.parametrize("time_limit", [0.005, 0.3])
def test_time_limit_reduces_repeats(penguin_knn, time_limit):
    X, y, _, model = penguin_knn
    start = time.perf_counter()
    explanation = explain_model(model, X, y, CLASSIFICATION, n_repeats=1000, time_limit=time_limit)
    elapsed = time.perf_counter() - start
    assert elapsed < time_limit + 1.0  # slack for a loaded machine; unbounded would take ~60 s
    assert 1 <= explanation.n_repeats < 1000
    assert_consistent(explanation)


def test_elasticnet_native_coefficients_times_std(diabetes_xy):
    X, y = diabetes_xy
    model = fit_model(X, y, REGRESSION, "ElasticNet")
    explanation = explain_model(model, X, y, REGRESSION)
    assert explanation.method == "native" and explanation.classes is None
    assert_consistent(explanation)
    scaled = model.pipeline_[:-1].transform(X)
    coef = model.pipeline_.named_steps["model"].coef_
    expected = dict(zip(model.pipeline_.named_steps["featurize"].get_feature_names_out(), coef))
    engineered = explanation.engineered.set_index("feature")
    for feature, value in expected.items():
        column = list(expected).index(feature)
        assert engineered.loc[feature, "importance"] == pytest.approx(
            abs(value) * scaled[:, column].std()
        )
    assert set(explanation.raw["raw_feature"][:3]) >= {"bmi", "s5"}


def test_logistic_regression_multiclass_mean_abs_coef(penguin_knn):
    X, y, classes, _ = penguin_knn
    model = fit_model(X, y, CLASSIFICATION, "LogisticRegression", classes)
    explanation = explain_model(model, X, y, CLASSIFICATION, n_repeats=1)
    assert explanation.method == "native"
    assert_consistent(explanation)
    coef = model.pipeline_.named_steps["model"].coef_
    assert coef.shape[0] == 3
    scaled = model.pipeline_[:-1].transform(X)
    names = list(model.pipeline_.named_steps["featurize"].get_feature_names_out())
    expected = np.abs(coef).mean(axis=0) * scaled.std(axis=0)
    got = explanation.engineered.set_index("feature").loc[names, "importance"].to_numpy()
    np.testing.assert_allclose(got, expected)


@pytest.mark.parametrize(("task", "learner"), [(REGRESSION, "KNN"), (CLASSIFICATION, "SVM")])
def test_permutation_for_models_without_native_importance(diabetes_xy, task, learner):
    X, y = diabetes_xy
    classes = None
    if task == CLASSIFICATION:  # above / below the median disease progression
        y = (y > np.median(y)).astype(np.int64)
        classes = np.array(["low", "high"], dtype=object)
    model = fit_model(X, y, task, learner, classes)
    weights = np.where(X["sex"].to_numpy() > 0, 2.0, 1.0)
    explanation = explain_model(model, X, y, task, sample_weight=weights, n_repeats=3)
    assert explanation.method == "permutation"
    assert_consistent(explanation)
    assert explanation.n_repeats == 3
    assert {"bmi", "s5"} & set(explanation.raw["raw_feature"][:3])
    assert explanation.raw["importance"].iloc[0] > 0.02
    if task == REGRESSION:
        assert explanation.classes is None and not class_columns(explanation.raw)
    else:
        assert explanation.classes == ["low", "high"]


def test_text_and_datetime_columns_map_back_to_their_raw_column():
    bunch = load_breast_cancer(as_frame=True)
    data, target = bunch.data.iloc[:300], bunch.target.to_numpy()[:300]
    rng = np.random.default_rng(0)
    words = np.array(["cell", "tissue", "sample", "nucleus", "margin", "border", "scan"])
    # The text mentions "irregular" mostly for malignant rows (target 0), so it carries signal.
    flagged = np.where(target == 0, rng.random(300) < 0.8, rng.random(300) < 0.1)
    notes = [
        " ".join(rng.choice(words, 4)) + (" irregular shape" if flag else " smooth round")
        for flag in flagged
    ]
    X = pd.DataFrame(
        {
            "worst radius": data["worst radius"].to_numpy(),
            "notes": notes,
            "visit": pd.date_range("2020-01-01", periods=300, freq="37h"),
        }
    )
    classes = np.array(["malignant", "benign"], dtype=object)
    model = fit_model(X, target, CLASSIFICATION, "LogisticRegression", classes)
    explanation = explain_model(model, X, target, CLASSIFICATION, n_repeats=2)
    assert explanation.method == "native"
    assert_consistent(explanation)
    engineered = explanation.engineered
    assert set(explanation.raw["raw_feature"]) == {"worst radius", "notes", "visit"}
    assert (engineered["raw_feature"] == "notes").sum() > 5  # tf-idf terms
    assert (engineered["raw_feature"] == "visit").sum() >= 3  # year, month, day, ...
    note_features = engineered[engineered["raw_feature"] == "notes"]
    assert note_features["feature"].str.startswith("notes__").all()
    raw = explanation.raw.set_index("raw_feature")
    assert raw.loc["notes", "importance"] == pytest.approx(note_features["importance"].sum())
    assert raw.loc["notes", "importance"] > raw.loc["visit", "importance"]


def check_charts(charts, expected_names: list[str], method: str) -> None:
    assert [chart.name for chart in charts] == expected_names
    for chart in charts:
        assert chart.png.startswith(b"\x89PNG")
        image = imread(io.BytesIO(chart.png), format="png")
        assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50
        assert json.loads(json.dumps(chart.data, allow_nan=False)) == chart.data
        assert chart.data["method"] == method
        assert all(len(row) == len(chart.data["columns"]) for row in chart.data["data"])


def test_charts_are_pngs_with_json_data(penguin_knn_explained, diabetes_xy):
    explanation = penguin_knn_explained
    charts = importance_charts(explanation, top=5)
    names = [
        "feature_importance_raw",
        "feature_importance_engineered",
        "feature_importance_per_class",
    ]
    check_charts(charts, names, "permutation")
    raw_chart = charts[0].data
    assert raw_chart["columns"][:2] == ["raw_feature", "importance"]
    assert len(raw_chart["data"]) == len(explanation.raw)  # the whole table, not only the top
    assert raw_chart["data"][0][0] == explanation.raw["raw_feature"][0]
    assert charts[2].data["classes"] == ["Adelie", "Chinstrap", "Gentoo"]

    X, y = diabetes_xy
    regression = explain_model(fit_model(X, y, REGRESSION, "ElasticNet"), X, y, REGRESSION)
    check_charts(
        importance_charts(regression),
        ["feature_importance_raw", "feature_importance_engineered"],
        "native",
    )
