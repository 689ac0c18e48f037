"""Tests for mlflow_automl.insights.charts on out-of-fold predictions of bundled datasets."""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pytest
from matplotlib import image as mpimg
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlflow_automl.evaluation import metrics as M
from mlflow_automl.insights import charts as C


def _oof_proba(loader):
    X, y = loader(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, C=0.05))
    return y, cross_val_predict(model, X, y, cv=5, method="predict_proba")


@pytest.fixture(scope="module")
def binary():
    return _oof_proba(load_breast_cancer)


@pytest.fixture(scope="module")
def multiclass():
    return _oof_proba(load_wine)


@pytest.fixture(scope="module")
def regression():
    X, y = load_diabetes(return_X_y=True)
    return y, cross_val_predict(make_pipeline(StandardScaler(), Ridge()), X, y, cv=5)


@pytest.fixture(scope="module")
def binary_charts(binary):
    y, proba = binary
    return {c.name: c for c in C.classification_charts(y, proba, ["malignant", "benign"])}


@pytest.fixture(scope="module")
def multiclass_charts(multiclass):
    y, proba = multiclass
    return {c.name: c for c in C.classification_charts(y, proba, [0, 1, 2])}


@pytest.fixture(scope="module")
def regression_charts(regression):
    y, pred = regression
    return {c.name: c for c in C.regression_charts(y, pred)}


def _check_chart(chart: C.Chart) -> None:
    assert chart.png.startswith(b"\x89PNG")
    pixels = mpimg.imread(io.BytesIO(chart.png), format="png")
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert chart.data["kind"] == chart.name
    assert json.loads(json.dumps(chart.data, allow_nan=False)) == chart.data


def _by_code(data: dict) -> dict:
    return {curve["code"]: curve for curve in data["per_class"]}


@pytest.mark.parametrize("fixture", ["binary_charts", "multiclass_charts"])
def test_classification_charts_complete_and_valid(fixture, request):
    charts = request.getfixturevalue(fixture)
    assert tuple(charts) == C.CLASSIFICATION_CHARTS
    for chart in charts.values():
        _check_chart(chart)


def test_regression_charts_complete_and_valid(regression_charts):
    assert tuple(regression_charts) == C.REGRESSION_CHARTS
    for chart in regression_charts.values():
        _check_chart(chart)


@pytest.mark.parametrize("dataset", ["binary", "multiclass"])
def test_confusion_matrix_matches_sklearn(dataset, request):
    y, proba = request.getfixturevalue(dataset)
    labels = [f"c{j}" for j in range(proba.shape[1])]
    data = C.charts_for("classification", y, proba, labels)[0].data
    counts = np.array(data["counts"])
    assert data["labels"] == labels
    assert counts.sum() == len(y)
    np.testing.assert_array_equal(counts, skm.confusion_matrix(y, proba.argmax(axis=1)))
    np.testing.assert_allclose(np.array(data["normalized"]).sum(axis=1), 1.0)


@pytest.mark.parametrize("dataset", ["binary", "multiclass"])
def test_roc_and_pr_scores_match_metrics(dataset, request):
    y, proba = request.getfixturevalue(dataset)
    charts = {c.name: c for c in C.charts_for("classification", y, proba)}
    expected = M.compute_classification_metrics(y, proba)
    roc, pr = charts["roc"].data, charts["precision_recall"].data
    assert roc["micro"]["auc"] == pytest.approx(expected["AUC_micro"], abs=1e-6)
    assert roc["macro"]["auc"] == pytest.approx(expected["AUC_macro"], abs=1e-6)
    ap_micro, ap_macro = pr["micro"]["average_precision"], pr["macro"]["average_precision"]
    assert ap_micro == pytest.approx(expected["average_precision_score_micro"], abs=1e-6)
    assert ap_macro == pytest.approx(expected["average_precision_score_macro"], abs=1e-6)
    for j, curve in _by_code(roc).items():
        assert curve["auc"] == pytest.approx(skm.roc_auc_score(y == j, proba[:, j]), abs=1e-6)
        assert len(curve["fpr"]) <= 200
        assert curve["fpr"][0] == 0.0 and curve["fpr"][-1] == 1.0 and curve["tpr"][-1] == 1.0
    assert len(roc["per_class"]) == proba.shape[1]


def test_long_curves_are_downsampled_but_auc_is_exact():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 5000)
    p1 = np.clip(0.3 * y + rng.random(5000) * 0.7, 0, 1)
    proba = np.column_stack([1 - p1, p1])
    roc = {c.name: c for c in C.classification_charts(y, proba, [False, True])}["roc"].data
    assert roc["labels"] == ["False", "True"]
    for curve in [*roc["per_class"], roc["micro"], roc["macro"]]:
        assert len(curve["fpr"]) <= 200 and curve["fpr"][-1] == 1.0
    assert roc["per_class"][1]["auc"] == pytest.approx(skm.roc_auc_score(y, p1), abs=1e-12)


def test_gains_lift_and_calibration(multiclass_charts, binary_charts, multiclass, binary):
    for charts, (y, _) in ((multiclass_charts, multiclass), (binary_charts, binary)):
        gains, lift = charts["cumulative_gains"].data, charts["lift_curve"].data
        assert gains["percentage"][0] == 0 and gains["percentage"][-1] == 100
        for curve in gains["per_class"]:
            assert curve["gains"][0] == 0 and curve["gains"][-1] == pytest.approx(100.0)
            assert np.all(np.diff(curve["gains"]) >= -1e-9)
        assert lift["percentage"][-1] == 100
        for curve in lift["per_class"]:
            assert curve["lift"][-1] == pytest.approx(1.0)
        for curve in charts["calibration"].data["per_class"]:
            assert sum(curve["count"]) == len(y)
            assert len(curve["count"]) == len(curve["mean_predicted"]) <= 10
    # Binary calibration shows the positive class only.
    assert [c["code"] for c in binary_charts["calibration"].data["per_class"]] == [1]
    assert len(multiclass_charts["calibration"].data["per_class"]) == 3


def test_good_model_lifts_its_top_decile(binary_charts, binary):
    y, _ = binary
    lift = _by_code(binary_charts["lift_curve"].data)[1]["lift"]
    assert lift[9] == pytest.approx(1 / y.mean(), rel=0.02)  # top 10 % all positives


def test_regression_data(regression_charts, regression):
    y, pred = regression
    pvt = regression_charts["predicted_vs_true"].data
    assert sum(pvt["counts"]) == len(y)
    assert len(pvt["counts"]) == 10 and len(pvt["bin_edges"]) == 11
    assert pvt["bin_edges"][0] == y.min() and pvt["bin_edges"][-1] == y.max()
    first = (y >= pvt["bin_edges"][0]) & (y < pvt["bin_edges"][1])
    assert pvt["mean_prediction"][0] == pytest.approx(pred[first].mean())
    assert pvt["std_prediction"][0] == pytest.approx(pred[first].std())
    hist = regression_charts["residuals_histogram"].data
    assert sum(hist["counts"]) == len(y)
    assert hist["mean"] == pytest.approx(np.mean(y - pred))
    assert hist["std"] == pytest.approx(np.std(y - pred))


def test_weights_change_counts(multiclass, regression):
    y, proba = multiclass
    w = np.where(y == 0, 3.0, 1.0)
    charts = {c.name: c for c in C.classification_charts(y, proba, ["a", "b", "c"], w)}
    counts = np.array(charts["confusion_matrix"].data["counts"])
    assert counts.sum() == pytest.approx(w.sum())
    expected = skm.confusion_matrix(y, proba.argmax(axis=1), sample_weight=w)
    np.testing.assert_allclose(counts, expected)
    for curve in charts["calibration"].data["per_class"]:
        assert sum(curve["count"]) == pytest.approx(w.sum())
    metrics = M.compute_classification_metrics(y, proba, sample_weight=w)
    assert charts["roc"].data["macro"]["auc"] == pytest.approx(metrics["AUC_macro"], abs=1e-6)
    assert charts["roc"].data["micro"]["auc"] == pytest.approx(metrics["AUC_micro"], abs=1e-6)

    y, pred = regression
    w = np.linspace(0.5, 2.0, len(y))
    charts = {c.name: c for c in C.charts_for("regression", y, pred, sample_weight=w)}
    assert sum(charts["predicted_vs_true"].data["counts"]) == pytest.approx(w.sum())
    hist = charts["residuals_histogram"].data
    assert sum(hist["counts"]) == pytest.approx(w.sum())
    assert hist["mean"] == pytest.approx(np.average(y - pred, weights=w))


@pytest.mark.slow  # a whole experiment or a chart set per case: seconds each
def test_missing_class_single_class_and_tiny_inputs_do_not_raise(multiclass):
    y, proba = multiclass
    keep = y != 2  # class 2 never occurs in y_true
    rng = np.random.default_rng(1)
    cases = [
        (y[keep], proba[keep]),
        (np.zeros(10, dtype=int), rng.dirichlet(np.ones(3), 10)),  # single class
        (np.array([0, 1, 2] * 3 + [0]), np.full((10, 3), 1 / 3)),  # constant predictions
        (np.array([0, 1] * 5), np.column_stack([np.full(10, 0.4), np.full(10, 0.6)])),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may be printed
        for y_case, p_case in cases:
            charts = C.charts_for("classification", y_case, p_case)
            assert [c.name for c in charts] == list(C.CLASSIFICATION_CHARTS)
            for chart in charts:
                _check_chart(chart)
        charts = C.charts_for("regression", np.arange(10.0), np.full(10, 3.0))
        charts += C.charts_for("forecasting", np.full(10, 2.0), np.full(10, 2.0))
        for chart in charts:
            _check_chart(chart)

    missing = {c.name: c.data for c in C.charts_for("classification", y[keep], proba[keep])}
    assert [c["code"] for c in missing["roc"]["per_class"]] == [0, 1]
    assert missing["confusion_matrix"]["normalized"][2] == [0.0, 0.0, 0.0]
    metrics = M.compute_classification_metrics(y[keep], proba[keep], n_classes=3)
    assert missing["roc"]["macro"]["auc"] == pytest.approx(metrics["AUC_macro"], abs=1e-6)
    assert missing["roc"]["micro"]["auc"] == pytest.approx(metrics["AUC_micro"], abs=1e-6)

    single = {c.name: c.data for c in C.charts_for("classification", *cases[1])}
    assert single["roc"]["macro"] is None and single["roc"]["per_class"] == []

    constant = {c.name: c.data for c in C.charts_for("classification", *cases[2])}
    for curve in constant["lift_curve"]["per_class"]:
        np.testing.assert_allclose(curve["lift"], 1.0)  # ties ranked as one group


def test_many_classes_and_invalid_inputs():
    rng = np.random.default_rng(2)
    k = 14
    y = rng.integers(0, k, 300)
    proba = rng.dirichlet(np.ones(k), 300)
    charts = {
        c.name: c for c in C.classification_charts(y, proba, [f"class {j}" for j in range(k)])
    }
    assert len(charts["roc"].data["per_class"]) == k  # data for all, figure for 10
    _check_chart(charts["confusion_matrix"])
    assert C.charts_for("regression", np.arange(5.0), [np.nan] * 5) == []
    with pytest.raises(ValueError):
        C.charts_for("clustering", y, proba)
    with pytest.raises(ValueError):
        C.classification_charts(y, proba, ["a", "b"])
