"""The same experiment against a real `mlflow server` on 127.0.0.1 (HTTP tracking + artifacts)."""

from __future__ import annotations

import mlflow
import numpy as np

import mlflow_automl as automl
from mlflow_automl.evaluation.metrics import REGRESSION_METRICS


def test_experiment_on_a_tracking_server(server_store, diabetes):
    config = automl.AutoMLConfig(
        task="regression",
        training_data=diabetes,
        label_column_name="target",
        iterations=5,
        n_cross_validations=3,
        primary_metric="normalized_mean_absolute_error",
    )
    run = automl.submit(config, experiment_name="diabetes-on-server")
    assert run.get_status() == "FINISHED"

    experiment = mlflow.get_experiment_by_name("diabetes-on-server")
    children = mlflow.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{run.run_id}'",
        output_format="list",
    )
    assert len(children) == 5
    assert all(set(REGRESSION_METRICS) <= set(c.data.metrics) for c in children)
    board = run.get_leaderboard()  # downloaded through the server's artifact proxy
    assert board["normalized_mean_absolute_error"].is_monotonic_increasing

    features = diabetes.drop(columns="target").head(20)
    loaded = mlflow.pyfunc.load_model(run.model_uri)
    _, model = automl.AutoMLRun(run.run_id).get_output()
    assert np.allclose(loaded.predict(features), model.predict(features))
