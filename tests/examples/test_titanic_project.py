"""`mlflow run examples/titanic` for real (local env manager): nested steps, reuse, outputs,
the registered model; and the package's AutoML entry point on its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest

PROJECT = Path(__file__).resolve().parents[2] / "examples" / "titanic"


def _mlflow_run(tmp_path, *args):
    env = dict(os.environ)
    # `mlflow run --env-manager local` runs entry points with the `python` on PATH
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env.pop("MLFLOW_RUN_ID", None)
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "run",
        str(PROJECT),
        "--env-manager",
        "local",
        "--experiment-name",
        "titanic",
        *args,
    ]
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture
def store(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    yield tmp_path
    mlflow.set_tracking_uri(None)


def _pipeline_runs():
    runs = mlflow.search_runs(
        experiment_names=["titanic"],
        filter_string="tags.`automl.kind` = 'pipeline'",
        output_format="list",
        order_by=["attributes.start_time ASC"],
    )
    return runs


def test_main_entry_point_runs_every_step_and_reuses_unchanged_ones(store):
    from mlflow_automl.azureml.pipeline import PipelineRun

    first_out = _mlflow_run(store, "-P", "model_name=titanic-model", "-P", "timeout=0.2")
    assert "Step 'dataprep': running" in first_out
    second_out = _mlflow_run(store, "-P", "model_name=titanic-model", "-P", "timeout=0.2")
    for step in ("dataprep", "automl", "register"):
        assert f"Step '{step}': reused run" in second_out

    first, second = (PipelineRun(r.info.run_id) for r in _pipeline_runs())
    assert first.run.data.tags["mlflow.project.entryPoint"] == "main"  # the `mlflow run` run
    steps = first.get_children()
    assert [s.info.run_name for s in steps] == ["dataprep", "automl", "register"]
    assert all(s.data.tags["mlflow.parentRunId"] == first.run_id for s in steps)
    assert steps[0].data.metrics["rows_train"] > 1000  # the script logged to its step run
    reused = [s.data.tags.get("automl.reused_from") for s in second.get_children()]
    assert reused == [s.info.run_id for s in steps]

    # metrics_output: every iteration's metrics, one DataFrame column per iteration
    local = first.get_pipeline_output("metrics_output").download(store / "metrics")
    with open(Path(local) / "metrics.json") as handle:
        frame = pd.DataFrame(json.load(handle))
    assert "AUC_weighted" in frame.index and frame.shape[1] >= 5

    # the model was registered once, under the project parameter's name
    versions = mlflow.MlflowClient().search_model_versions("name = 'titanic-model'")
    assert len(versions) == 1
    model = mlflow.pyfunc.load_model(f"models:/titanic-model/{versions[0].version}")
    test = pd.DataFrame({"pclass": [1, 3], "age": [30.0, 30.0], "sex": [1, 0]})
    assert set(model.predict(test)) <= {0, 1}


def test_automl_entry_point_of_the_package(store):
    from sklearn.datasets import load_breast_cancer

    load_breast_cancer(as_frame=True).frame.to_csv(store / "cancer.csv", index=False)
    _mlflow_run(
        store,
        "-e",
        "automl",
        "-P",
        f"data={store / 'cancer.csv'}",
        "-P",
        "label=target",
        "-P",
        "timeout=0.2",  # 12 s: budgets under 10 s are refused
        "-P",
        "model_name=cancer",
    )
    (run,) = mlflow.search_runs(
        experiment_names=["titanic"],
        output_format="list",
        filter_string="tags.`mlflow.project.entryPoint` = 'automl'",
    )
    files = {f.path for f in mlflow.MlflowClient().list_artifacts(run.info.run_id, "outputs")}
    assert files == {"outputs/metrics_output", "outputs/model_output"}
    assert mlflow.MlflowClient().search_model_versions("name = 'cancer'")
