"""The registry (alias, version tags, versions kept) and `mlflow models serve` on the result."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import mlflow
import numpy as np
import pytest

import mlflow_automl as automl
from mlflow_automl import tracking


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def registered(sqlite_store, penguins):
    config = automl.AutoMLConfig(
        task="classification",
        training_data=penguins,
        label_column_name="species",
        iterations=3,
        registered_model_name="penguins",
        model_explainability=False,
    )
    return automl.submit(config, experiment_name="registry")


def test_best_model_is_registered_with_alias_and_tags(registered, penguins):
    client = mlflow.MlflowClient()
    version = client.get_model_version_by_alias("penguins", "champion")
    assert version.tags["automl.run_id"] == registered.run_id
    assert version.tags["automl.primary_metric"] == "accuracy"
    assert float(version.tags["automl.accuracy"]) == pytest.approx(
        registered.run.data.metrics["accuracy"]
    )
    # One key for the package version, on the run and on its registered versions.
    assert version.tags[tracking.TAG_VERSION] == automl.__version__
    assert registered.tags[tracking.TAG_VERSION] == version.tags[tracking.TAG_VERSION]
    assert "mlflow_automl.version" not in version.tags

    # registering again moves the alias and keeps the older version
    again = registered.register_model("penguins", alias="champion")
    assert int(again) == int(version.version) + 1
    assert client.get_model_version_by_alias("penguins", "champion").version == again
    assert len(client.search_model_versions("name = 'penguins'")) == 2
    model = mlflow.pyfunc.load_model("models:/penguins@champion")
    assert len(model.predict(penguins.drop(columns="species").head(3))) == 3


@contextlib.contextmanager
def _serving(model_uri, tracking_uri):
    """`mlflow models serve` on 127.0.0.1, as a user starts it; yields its URL."""
    port = _free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    env["PATH"] = f"{os.path.dirname(sys.executable)}{os.pathsep}{env['PATH']}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            model_uri,
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/ping", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise AssertionError(f"server did not start: {server.stderr.read()}") from None
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _invoke(url, rows):
    """Posts ``rows`` in both JSON layouts; returns the two answers."""
    split = json.loads(rows.to_json(orient="split", index=False))
    records = json.loads(rows.to_json(orient="records"))
    answers = []
    for payload in ({"dataframe_split": split}, {"dataframe_records": records}):
        request = urllib.request.Request(
            f"{url}/invocations",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answers.append(json.loads(response.read())["predictions"])
    return answers


def test_served_model_answers_raw_rows(registered, penguins, sqlite_store):
    rows = penguins.drop(columns="species").iloc[[0, 150, 300, 3]]  # row 3 has missing values
    assert np.isnan(rows.iloc[3]["bill_length_mm"])
    _, model = registered.get_output()
    with _serving("models:/penguins@champion", sqlite_store) as url:
        for answer in _invoke(url, rows):
            assert answer == list(model.predict(rows))


def test_onnx_model_logged_registered_and_matching(sqlite_store, penguins):
    config = automl.AutoMLConfig(
        task="classification",
        training_data=penguins,
        label_column_name="species",
        iterations=4,
        enable_onnx_compatible_models=True,
        registered_model_name="penguins",
        model_explainability=False,
    )
    run = automl.submit(config, experiment_name="onnx")
    assert run.tags["automl.onnx_status"] == "converted"
    assert float(run.tags["automl.onnx_max_abs_diff"]) < 1e-4
    _, graph = run.get_output(return_onnx_model=True)
    assert {i.name for i in graph.graph.input} <= set(penguins.columns)
    served = mlflow.pyfunc.load_model("models:/penguins-onnx@champion")
    rows = penguins.drop(columns="species").iloc[:20].reset_index(drop=True)
    _, model = run.get_output()
    onnx_proba = np.asarray(served.predict(rows)["probabilities"]).reshape(len(rows), -1)
    assert np.abs(onnx_proba - model.predict_proba(rows)).max() < 1e-4


def test_unconvertible_model_keeps_the_python_output(sqlite_store, penguins):
    config = automl.AutoMLConfig(
        task="classification",
        training_data=penguins,
        label_column_name="species",
        iterations=1,
        allowed_models=["GradientBoosting", "LogisticRegression"],
        model_explainability=False,
    )
    run = automl.submit(config, experiment_name="no-onnx")  # ONNX not asked for
    with pytest.raises(RuntimeError, match="enable_onnx_compatible_models=False"):
        run.get_output(return_onnx_model=True)


def test_served_onnx_model_answers_raw_rows(sqlite_store, penguins):
    config = automl.AutoMLConfig(
        task="classification",
        training_data=penguins,
        label_column_name="species",
        iterations=2,
        enable_onnx_compatible_models=True,
        registered_model_name="penguins",
        model_explainability=False,
    )
    run = automl.submit(config, experiment_name="onnx-serving")
    _, model = run.get_output()
    rows = penguins.drop(columns="species").iloc[[0, 150, 300, 3]]
    with _serving("models:/penguins-onnx@champion", sqlite_store) as url:
        for answer in _invoke(url, rows):
            labels = (
                [row["label"] for row in answer] if isinstance(answer, list) else answer["label"]
            )
            assert [np.ravel(v)[0] if isinstance(v, list) else v for v in labels] == list(
                model.predict(rows)
            )


def test_winning_voting_ensemble_is_exported_to_onnx(sqlite_store, diabetes):
    config = automl.AutoMLConfig(
        task="regression",
        training_data=diabetes,
        label_column_name="target",
        primary_metric="r2_score",
        iterations=6,  # seeded, no time limit: the VotingEnsemble (last-but-one) wins here
        enable_onnx_compatible_models=True,
        enable_stack_ensemble=False,
        registered_model_name="diabetes",
        model_explainability=False,
    )
    run = automl.submit(config, experiment_name="onnx-ensemble")
    assert run.tags["automl.learner"] == "VotingEnsemble"
    assert run.tags["automl.onnx_status"] == "converted", run.tags.get("automl.onnx_error")
    _, graph = run.get_output(return_onnx_model=True)
    members = {n.name.split("_")[0] for n in graph.graph.node if n.name.startswith("member")}
    assert len(members) >= 2  # every voting member's graph is in the one ONNX graph
    rows = diabetes.drop(columns="target").iloc[:25]
    _, model = run.get_output()
    served = mlflow.pyfunc.load_model("models:/diabetes-onnx@champion")
    predicted = np.asarray(served.predict(rows)["variable"]).ravel()
    np.testing.assert_allclose(predicted, model.predict(rows), rtol=1e-5)


def test_failed_onnx_conversion_is_tagged_and_python_model_stays(sqlite_store, breast_cancer):
    frame = breast_cancer.copy()
    # Beyond float32's range: the ONNX graph (float32 inputs) cannot represent these values.
    frame["mean radius"] = frame["mean radius"] * 1e38
    config = automl.AutoMLConfig(
        task="classification",
        training_data=frame,
        label_column_name="target",
        iterations=2,
        allowed_models=["LogisticRegression"],
        enable_onnx_compatible_models=True,
        registered_model_name="cancer",
        model_explainability=False,
    )
    run = automl.submit(config, experiment_name="onnx-fallback")
    assert run.get_status() == "FINISHED"
    assert run.tags["automl.onnx_status"] == "failed"
    assert "ONNX parity" in run.tags["automl.onnx_error"]
    with pytest.raises(RuntimeError, match="has no ONNX model: ONNX parity"):
        run.get_output(return_onnx_model=True)
    _, model = run.get_output()
    assert set(model.predict(frame.drop(columns="target").iloc[:5])) <= set(frame["target"])
    client = mlflow.MlflowClient()
    assert str(client.get_model_version_by_alias("cancer", "champion").version) == "1"
    with pytest.raises(mlflow.exceptions.MlflowException):
        client.get_registered_model("cancer-onnx")  # nothing half-written in the registry
