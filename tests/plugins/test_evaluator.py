"""The `automl` model-evaluator plugin, through `mlflow.models.evaluate` on real models."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.models import infer_signature
from sklearn.datasets import load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlflow_automl.evaluation.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS


def _log(model, X):
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(X, model.predict(X)),
            serialization_format="cloudpickle",
        )
    return info.model_uri


@pytest.fixture
def wine_model(sqlite_store):
    frame = load_wine(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame.target)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(train.drop(columns="target"), train["target"])
    return _log(model, train.drop(columns="target")), test


def test_logs_azure_metrics_and_charts_for_any_classifier(wine_model):
    model_uri, test = wine_model
    with mlflow.start_run() as run:
        result = mlflow.models.evaluate(
            model_uri, test, targets="target", model_type="classifier", evaluators=["automl"]
        )
    assert set(CLASSIFICATION_METRICS) <= set(result.metrics)
    logged = mlflow.get_run(run.info.run_id).data.metrics
    assert logged["AUC_weighted"] == pytest.approx(result.metrics["AUC_weighted"])
    files = {f.path for f in mlflow.MlflowClient().list_artifacts(run.info.run_id, "automl_charts")}
    for name in (
        "confusion_matrix",
        "roc",
        "precision_recall",
        "lift_curve",
        "cumulative_gains",
        "calibration",
    ):
        assert f"automl_charts/{name}.png" in files and f"automl_charts/{name}.json" in files
    matrix = result.artifacts["confusion_matrix_data"].content
    assert sum(map(sum, matrix["counts"])) == len(test)


def test_regressor(sqlite_store):
    frame = load_diabetes(as_frame=True).frame
    model = Ridge().fit(frame.drop(columns="target"), frame["target"])
    uri = _log(model, frame.drop(columns="target"))
    with mlflow.start_run():
        result = mlflow.models.evaluate(
            uri, frame, targets="target", model_type="regressor", evaluators="automl"
        )
    assert set(REGRESSION_METRICS) <= set(result.metrics)
    assert {"predicted_vs_true_plot", "residuals_histogram_plot"} <= set(result.artifacts)


def test_stays_out_of_plain_evaluate(wine_model):
    model_uri, test = wine_model
    with mlflow.start_run() as run:
        result = mlflow.models.evaluate(model_uri, test, targets="target", model_type="classifier")
    assert "AUC_weighted" not in result.metrics  # only MLflow's own evaluators ran
    assert "accuracy_score" in result.metrics
    paths = {f.path for f in mlflow.MlflowClient().list_artifacts(run.info.run_id)}
    assert "automl_charts" not in paths
