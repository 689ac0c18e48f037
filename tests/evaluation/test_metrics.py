"""Tests for mlflow_automl.evaluation.metrics on sklearn's bundled datasets."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, label_binarize

from mlflow_automl.evaluation import metrics as M


def _fit_classifier(loader):
    X, y = loader(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.4, random_state=0, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, C=0.05))
    model.fit(X_tr, y_tr)
    return y_te, model.predict_proba(X_te)


@pytest.fixture(scope="module")
def binary():
    return _fit_classifier(load_breast_cancer)


@pytest.fixture(scope="module")
def multiclass():
    return _fit_classifier(load_iris)


@pytest.fixture(scope="module")
def regression():
    X, y = load_diabetes(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.4, random_state=0)
    return y_te, LinearRegression().fit(X_tr, y_tr).predict(X_te)


def _assert_plain_floats(result: dict, expected_keys: tuple[str, ...]) -> None:
    assert tuple(sorted(result)) == tuple(sorted(expected_keys))
    assert all(type(v) is float for v in result.values())


# --- constants / API -------------------------------------------------------------------------


def test_metric_sets_sorted_and_primary_subset():
    assert list(M.CLASSIFICATION_METRICS) == sorted(M.CLASSIFICATION_METRICS)
    assert list(M.REGRESSION_METRICS) == sorted(M.REGRESSION_METRICS)
    assert len(M.CLASSIFICATION_METRICS) == 26
    assert len(M.REGRESSION_METRICS) == 12
    for task in (M.CLASSIFICATION, M.REGRESSION, M.FORECASTING):
        assert set(M.PRIMARY_METRICS[task]) <= set(M.metrics_for_task(task))
        assert M.DEFAULT_PRIMARY_METRIC[task] in M.PRIMARY_METRICS[task]
    assert set(M.metrics_for_task(M.FORECASTING)) == set(M.REGRESSION_METRICS) | {
        "symmetric_mean_absolute_percentage_error",
        "mean_absolute_scaled_error",
    }
    with pytest.raises(ValueError, match="clustering"):
        M.metrics_for_task("clustering")


def test_greater_is_better_and_worst_score():
    assert M.greater_is_better("accuracy")
    assert M.greater_is_better("AUC_weighted")
    assert M.greater_is_better("r2_score")
    assert M.greater_is_better("spearman_correlation")
    assert not M.greater_is_better("log_loss")
    assert not M.greater_is_better("normalized_root_mean_squared_error")
    assert not M.greater_is_better("mean_absolute_percentage_error")
    assert M.worst_score("accuracy") == -math.inf
    assert M.worst_score("root_mean_squared_error") == math.inf


def test_is_better_both_directions():
    assert M.is_better("accuracy", 0.9, 0.8)
    assert not M.is_better("accuracy", 0.8, 0.9)
    assert not M.is_better("accuracy", 0.8, 0.8)  # ties do not replace the incumbent
    assert M.is_better("normalized_root_mean_squared_error", 0.1, 0.2)
    assert not M.is_better("normalized_root_mean_squared_error", 0.2, 0.1)
    assert M.is_better("log_loss", 0.3, None)
    assert M.is_better("accuracy", 0.1, float("nan"))
    assert not M.is_better("accuracy", float("nan"), 0.1)
    assert not M.is_better("log_loss", float("nan"), None)
    assert M.is_better("log_loss", 5.0, M.worst_score("log_loss"))


@pytest.mark.parametrize(
    "call",
    [
        lambda: M.greater_is_better("no_such_metric"),
        lambda: M.is_better("no_such_metric", 1.0, 0.0),
        lambda: M.worst_score("no_such_metric"),
    ],
)
def test_unknown_metric_raises_value_error_naming_it(call):
    with pytest.raises(ValueError, match="no_such_metric"):
        call()


# --- classification --------------------------------------------------------------------------


def test_binary_all_keys_and_sklearn_agreement(binary):
    y, proba = binary
    res = M.compute_classification_metrics(y, proba)
    _assert_plain_floats(res, M.CLASSIFICATION_METRICS)
    assert not any(math.isnan(v) for v in res.values())
    pred = proba.argmax(axis=1)
    assert res["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert res["f1_score_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert res["matthews_correlation"] == pytest.approx(skm.matthews_corrcoef(y, pred))
    assert res["log_loss"] == pytest.approx(skm.log_loss(y, proba))
    # Binary AUC: both one-vs-rest curves have the same AUC as the usual positive-class AUC.
    auc = skm.roc_auc_score(y, proba[:, 1])
    assert res["AUC_macro"] == pytest.approx(auc)
    assert res["AUC_weighted"] == pytest.approx(auc)
    # Binary average precision macro: mean over both classes' one-vs-rest curves.
    ap_both = np.mean([skm.average_precision_score(y == c, proba[:, c]) for c in (0, 1)])
    assert res["average_precision_score_macro"] == pytest.approx(ap_both)
    assert res["norm_macro_recall"] == pytest.approx(
        2 * skm.recall_score(y, pred, average="macro") - 1
    )
    assert 0.8 < res["accuracy"] <= 1.0


def test_multiclass_all_keys_and_sklearn_agreement(multiclass):
    y, proba = multiclass
    res = M.compute_metrics(M.CLASSIFICATION, y, proba)
    _assert_plain_floats(res, M.CLASSIFICATION_METRICS)
    pred = proba.argmax(axis=1)
    assert res["precision_score_weighted"] == pytest.approx(
        skm.precision_score(y, pred, average="weighted")
    )
    assert res["recall_score_micro"] == pytest.approx(res["accuracy"])
    assert res["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert res["AUC_weighted"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="weighted")
    )
    y_bin = label_binarize(y, classes=[0, 1, 2])
    assert res["AUC_micro"] == pytest.approx(skm.roc_auc_score(y_bin, proba, average="micro"))
    assert res["average_precision_score_weighted"] == pytest.approx(
        skm.average_precision_score(y_bin, proba, average="weighted")
    )
    assert res["log_loss"] == pytest.approx(skm.log_loss(y, proba))


@pytest.mark.parametrize("k", [2, 3])
def test_perfect_predictions(k):
    y = np.tile(np.arange(k), 10)
    proba = np.eye(k)[y]
    res = M.compute_classification_metrics(y, proba)
    for name in ("accuracy", "norm_macro_recall", "AUC_macro", "AUC_micro", "AUC_weighted"):
        assert res[name] == pytest.approx(1.0), name
    assert res["weighted_accuracy"] == pytest.approx(1.0)
    assert res["log_loss"] == pytest.approx(0.0, abs=1e-9)


def test_uniform_random_predictor_has_zero_norm_macro_recall():
    rng = np.random.default_rng(0)
    k, n = 3, 30_000
    y = rng.integers(0, k, size=n)
    # Uniform random probabilities: argmax is a uniformly random class.
    proba = rng.dirichlet(np.ones(k), size=n)
    res = M.compute_classification_metrics(y, proba)
    assert res["norm_macro_recall"] == pytest.approx(0.0, abs=0.02)
    assert res["AUC_macro"] == pytest.approx(0.5, abs=0.02)


def test_missing_class_in_y_true(multiclass):
    y, proba = multiclass
    keep = y != 2  # class 2 absent from y_true but still a proba column
    res = M.compute_classification_metrics(y[keep], proba[keep], n_classes=3)
    _assert_plain_floats(res, M.CLASSIFICATION_METRICS)
    assert not math.isnan(res["AUC_macro"])
    assert not math.isnan(res["log_loss"])
    # Macro AUC skips the absent class: it averages classes 0 and 1 only.
    expected = np.mean([skm.roc_auc_score(y[keep] == c, proba[keep][:, c]) for c in (0, 1)])
    assert res["AUC_macro"] == pytest.approx(expected)


def test_single_class_gives_nan_not_exception(binary):
    y, proba = binary
    keep = y == 1
    res = M.compute_classification_metrics(y[keep], proba[keep], n_classes=2)
    _assert_plain_floats(res, M.CLASSIFICATION_METRICS)
    assert math.isnan(res["AUC_macro"])
    assert math.isnan(res["AUC_weighted"])
    assert not math.isnan(res["accuracy"])


def test_nan_probabilities_yield_all_nan(binary):
    y, proba = binary
    bad = proba.copy()
    bad[0, 0] = np.nan
    res = M.compute_classification_metrics(y, bad)
    _assert_plain_floats(res, M.CLASSIFICATION_METRICS)
    assert all(math.isnan(v) for v in res.values())


def test_classification_input_validation():
    with pytest.raises(ValueError):
        M.compute_classification_metrics(np.array([0, 3]), np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError):
        M.compute_classification_metrics(np.array([0, 1]), np.full((2, 2), 0.5), n_classes=3)


def test_one_dimensional_binary_proba(binary):
    y, proba = binary
    assert M.compute_classification_metrics(y, proba[:, 1]) == pytest.approx(
        M.compute_classification_metrics(y, proba)
    )


def test_sample_weight_changes_classification_results(multiclass):
    y, proba = multiclass
    pred = proba.argmax(axis=1)
    w = np.where(pred == y, 1.0, 10.0)  # upweight the mistakes
    plain = M.compute_classification_metrics(y, proba)
    weighted = M.compute_classification_metrics(y, proba, sample_weight=w)
    assert weighted["accuracy"] == pytest.approx(skm.accuracy_score(y, pred, sample_weight=w))
    assert weighted["accuracy"] < plain["accuracy"]
    assert weighted["f1_score_weighted"] != pytest.approx(plain["f1_score_weighted"])
    assert weighted["log_loss"] != pytest.approx(plain["log_loss"])
    assert weighted["weighted_accuracy"] < plain["weighted_accuracy"]


def test_weighted_accuracy_definition():
    y = np.array([0, 0, 0, 1])
    proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.9, 0.1], [0.9, 0.1]])  # always predicts 0
    res = M.compute_classification_metrics(y, proba)
    # Class-0 samples weigh 3 each, the class-1 sample weighs 1: 9 / 10 correct.
    assert res["weighted_accuracy"] == pytest.approx(0.9)
    assert res["accuracy"] == pytest.approx(0.75)
    assert res["balanced_accuracy"] == pytest.approx(0.5)
    assert res["norm_macro_recall"] == pytest.approx(0.0)


# --- regression ------------------------------------------------------------------------------


def test_regression_all_keys_and_sklearn_agreement(regression):
    y, pred = regression
    res = M.compute_regression_metrics(y, pred)
    _assert_plain_floats(res, M.REGRESSION_METRICS)
    assert not any(math.isnan(v) for v in res.values())
    rng = y.max() - y.min()
    assert res["r2_score"] == pytest.approx(skm.r2_score(y, pred))
    assert res["root_mean_squared_error"] == pytest.approx(skm.root_mean_squared_error(y, pred))
    assert res["normalized_root_mean_squared_error"] == pytest.approx(
        skm.root_mean_squared_error(y, pred) / rng
    )
    assert res["normalized_mean_absolute_error"] == pytest.approx(
        skm.mean_absolute_error(y, pred) / rng
    )
    assert res["median_absolute_error"] == pytest.approx(skm.median_absolute_error(y, pred))
    assert res["explained_variance"] == pytest.approx(skm.explained_variance_score(y, pred))
    assert res["mean_absolute_percentage_error"] == pytest.approx(
        100 * skm.mean_absolute_percentage_error(y, pred)
    )
    assert res["spearman_correlation"] == pytest.approx(stats.spearmanr(y, pred).statistic)
    assert res["root_mean_squared_log_error"] == pytest.approx(
        skm.root_mean_squared_log_error(y, pred)
    )


def test_forecasting_dispatches_to_regression(regression):
    y, pred = regression
    forecasting = M.compute_metrics(M.FORECASTING, y, pred)
    assert {k: forecasting[k] for k in M.REGRESSION_METRICS} == M.compute_metrics(
        M.REGRESSION, y, pred
    )
    assert math.isnan(forecasting["mean_absolute_scaled_error"])  # needs the series' scale


def test_perfect_regression(regression):
    y, _ = regression
    res = M.compute_regression_metrics(y, y)
    assert res["normalized_root_mean_squared_error"] == pytest.approx(0.0)
    assert res["r2_score"] == pytest.approx(1.0)
    assert res["spearman_correlation"] == pytest.approx(1.0)


def test_mape_excludes_zero_targets():
    y = np.array([0.0, 2.0, 4.0])
    pred = np.array([5.0, 1.0, 5.0])
    res = M.compute_regression_metrics(y, pred)
    assert res["mean_absolute_percentage_error"] == pytest.approx(100 * (0.5 + 0.25) / 2)


def test_regression_undefined_values_are_nan():
    # Constant target: normalized errors, r2 and spearman undefined. Negative -> no RMSLE.
    y = np.full(5, -3.0)
    pred = np.array([-3.0, -2.0, -4.0, -3.0, -1.0])
    res = M.compute_regression_metrics(y, pred)
    _assert_plain_floats(res, M.REGRESSION_METRICS)
    for name in (
        "normalized_root_mean_squared_error",
        "normalized_mean_absolute_error",
        "normalized_median_absolute_error",
        "normalized_root_mean_squared_log_error",
        "root_mean_squared_log_error",
        "spearman_correlation",
    ):
        assert math.isnan(res[name]), name
    assert res["root_mean_squared_error"] == pytest.approx(math.sqrt(6 / 5))


def test_nan_predictions_yield_all_nan(regression):
    y, pred = regression
    bad = pred.copy()
    bad[3] = np.nan
    res = M.compute_regression_metrics(y, bad)
    _assert_plain_floats(res, M.REGRESSION_METRICS)
    assert all(math.isnan(v) for v in res.values())
    assert not M.is_better("r2_score", res["r2_score"], -100.0)
    with pytest.raises(ValueError):
        M.compute_regression_metrics(bad, y)


def test_sample_weight_changes_regression_results(regression):
    y, pred = regression
    w = np.linspace(0.1, 5.0, y.shape[0])
    plain = M.compute_regression_metrics(y, pred)
    weighted = M.compute_regression_metrics(y, pred, sample_weight=w)
    assert weighted["root_mean_squared_error"] == pytest.approx(
        skm.root_mean_squared_error(y, pred, sample_weight=w)
    )
    assert weighted["r2_score"] == pytest.approx(skm.r2_score(y, pred, sample_weight=w))
    for name in ("mean_absolute_error", "mean_absolute_percentage_error", "spearman_correlation"):
        assert weighted[name] != pytest.approx(plain[name]), name
    # Uniform weights are the same as no weights, also for the hand-written weighted Spearman.
    uniform = M.compute_regression_metrics(y, pred, sample_weight=np.ones_like(y))
    assert uniform == pytest.approx(plain)


def test_unknown_task_in_compute_metrics(regression):
    y, pred = regression
    with pytest.raises(ValueError, match="ranking"):
        M.compute_metrics("ranking", y, pred)


def test_binary_metrics_score_class_one(binary):
    """Azure's *_binary metrics: the positive class is code 1 (positive_label puts the user's
    positive class there); swapping the classes swaps what they measure."""
    y, proba = binary
    res = M.compute_classification_metrics(y, proba)
    pred = proba.argmax(axis=1)
    assert res["AUC_binary"] == pytest.approx(skm.roc_auc_score(y, proba[:, 1]))
    assert res["average_precision_score_binary"] == pytest.approx(
        skm.average_precision_score(y, proba[:, 1])
    )
    assert res["recall_score_binary"] == pytest.approx(skm.recall_score(y, pred))
    assert res["precision_score_binary"] == pytest.approx(skm.precision_score(y, pred))
    assert res["f1_score_binary"] == pytest.approx(skm.f1_score(y, pred))
    swapped = M.compute_classification_metrics(1 - y, proba[:, ::-1])
    assert swapped["recall_score_binary"] == pytest.approx(skm.recall_score(y, pred, pos_label=0))
    assert swapped["recall_score_binary"] != pytest.approx(res["recall_score_binary"])


def test_binary_metrics_are_nan_for_several_classes(multiclass):
    y, proba = multiclass
    res = M.compute_classification_metrics(y, proba)
    binary_names = [name for name in M.CLASSIFICATION_METRICS if name.endswith("_binary")]
    assert len(binary_names) == 5 and all(math.isnan(res[n]) for n in binary_names)
