"""Charts and explanations land on the runs the MLflow UI shows."""

from __future__ import annotations

import json

import mlflow
import pytest

import mlflow_automl as automl
from mlflow_automl.insights.charts import CLASSIFICATION_CHARTS, REGRESSION_CHARTS


def _files(run_id, path):
    return {f.path for f in mlflow.MlflowClient().list_artifacts(run_id, path)}


def _json(run_id, path):
    local = mlflow.MlflowClient().download_artifacts(run_id, path)
    with open(local) as handle:
        return json.load(handle)


def test_best_runs_get_charts_and_the_best_model_an_explanation(sqlite_store, penguins):
    config = automl.AutoMLConfig(
        task="classification", training_data=penguins, label_column_name="species", iterations=8
    )
    run = automl.submit(config, experiment_name="insights")
    best = run.tags["automl.best_child_run_id"]
    expected = {f"charts/{name}.{ext}" for name in CLASSIFICATION_CHARTS for ext in ("png", "json")}
    assert expected <= _files(best, "charts")
    assert expected <= _files(run.run_id, "charts")
    charted = [c for c in run.get_children() if _files(c.info.run_id, "charts")]
    assert len(charted) == 5 == int(run.tags["automl.charted_runs"])

    # the charts describe the predictions the logged metrics came from
    best_run = mlflow.get_run(best)
    roc = _json(best, "charts/roc.json")
    assert roc["micro"]["auc"] == pytest.approx(best_run.data.metrics["AUC_micro"], abs=1e-6)
    matrix = _json(best, "charts/confusion_matrix.json")
    assert sum(map(sum, matrix["counts"])) == penguins["species"].notna().sum()

    # explanation: raw importances sum their engineered columns
    assert run.tags["automl.explanation_method"] in ("native", "permutation")
    raw = _json(run.run_id, "explanation/tables/feature_importance_raw.json")
    engineered = _json(run.run_id, "explanation/tables/feature_importance_engineered.json")
    raw_rows = {r[0]: r[1] for r in raw["data"]}
    columns = engineered["columns"]
    island = sum(
        r[columns.index("importance")]
        for r in engineered["data"]
        if r[columns.index("raw_feature")] == "island"
    )
    assert raw_rows["island"] == pytest.approx(island)
    assert "explanation/feature_importance_raw.png" in _files(run.run_id, "explanation")

    # the rest on request
    uncharted = next(c for c in run.get_children() if c not in charted)
    run.log_charts(int(uncharted.data.tags["automl.iteration"]))
    assert expected <= _files(uncharted.info.run_id, "charts")
    with pytest.raises(RuntimeError, match="only the process"):
        automl.AutoMLRun(run.run_id).log_charts(0)


def test_regression_charts_and_explainability_off(sqlite_store, diabetes):
    config = automl.AutoMLConfig(
        task="regression",
        training_data=diabetes,
        label_column_name="target",
        iterations=3,
        model_explainability=False,
    )
    run = automl.submit(config, experiment_name="insights-regression")
    best = run.tags["automl.best_child_run_id"]
    expected = {f"charts/{name}.png" for name in REGRESSION_CHARTS}
    assert expected <= _files(best, "charts")
    residuals = _json(best, "charts/residuals_histogram.json")
    assert sum(residuals["counts"]) == len(diabetes)
    assert "automl.explanation_method" not in run.tags
    assert not _files(run.run_id, "explanation")
