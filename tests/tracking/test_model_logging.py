"""Where the best model is logged: the AutoML run's own experiment (its LoggedModels view, its
artifact location, its permissions), on SQLite and on a real basic-auth `mlflow server`."""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

import mlflow_automl as automl
from mlflow_automl import tracking
from mlflow_automl.tracking import history


def _small_config(frame, label, **settings):
    return automl.AutoMLConfig(
        task="classification",
        training_data=frame,
        label_column_name=label,
        iterations=3,
        allowed_models=["DecisionTree", "LogisticRegression"],
        enable_voting_ensemble=False,
        enable_stack_ensemble=False,
        model_explainability=False,
        **settings,
    )


def test_models_land_in_the_runs_experiment_and_its_artifact_location(
    sqlite_store, tmp_path, penguins
):
    location = (tmp_path / "team-artifacts").as_uri()
    experiment_id = MlflowClient().create_experiment("team", artifact_location=location)
    config = _small_config(penguins, "species", enable_onnx_compatible_models=True)
    run = automl.submit(config, experiment_name="team")

    assert run.experiment_id == experiment_id != "0"
    client = MlflowClient()
    python_model = client.get_logged_model(run.model_uri.removeprefix("models:/"))
    onnx_model = client.get_logged_model(run.tags[tracking.TAG_ONNX_URI].split("/")[-1])
    for model in (python_model, onnx_model):
        assert model.experiment_id == experiment_id
        assert model.source_run_id == run.run_id
        assert model.status.to_proto() == model.status.READY.to_proto()
        assert model.artifact_location.startswith(location)
    assert Path(python_model.artifact_location.removeprefix("file://"), "MLmodel").exists()
    # The experiment's Logged models view lists both; Default holds none.
    listed = client.search_logged_models(experiment_ids=[experiment_id])
    assert {m.model_id for m in listed} == {python_model.model_id, onnx_model.model_id}
    assert client.search_logged_models(experiment_ids=["0"]) == []
    # The run's own params travel with the model, as with MLflow's log_model.
    assert python_model.params["task"] == "classification"
    # The user's choice of experiment is untouched.
    assert mlflow.tracking.fluent._active_experiment_id is None


def test_history_promote_works_outside_default(sqlite_store, penguins):
    run = automl.submit(_small_config(penguins, "species"), experiment_name="elsewhere")
    promoted = history.promote(run.run_id, "model", "penguins")
    assert promoted["source"] == run.model_uri
    version = MlflowClient().get_model_version("penguins", promoted["version"])
    assert version.run_id == run.run_id


def test_active_experiment_of_the_user_does_not_capture_the_model(sqlite_store, penguins):
    mine = mlflow.set_experiment("my-notebook").experiment_id
    run = automl.submit(_small_config(penguins, "species"), experiment_name="automl-here")
    model = MlflowClient().get_logged_model(run.model_uri.removeprefix("models:/"))
    assert model.experiment_id == run.experiment_id != mine
    assert mlflow.tracking.fluent._active_experiment_id == mine


# --- a real basic-auth server ---------------------------------------------------------------------
ADMIN, ADMIN_PASSWORD = "admin", "admin-password-1234"
USER, USER_PASSWORD = "alice", "alice-password-1234"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory, mlflow_servers, free_port):
    """`mlflow server --app-name basic-auth` on 127.0.0.1; users have no permission unless
    granted (default_permission NO_PERMISSIONS), so the test sees every right it needs."""
    root = tmp_path_factory.mktemp("auth-server")
    (root / "auth.ini").write_text(
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{root / 'auth.db'}\n"
        f"admin_username = {ADMIN}\n"
        f"admin_password = {ADMIN_PASSWORD}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_AUTH_CONFIG_PATH": str(root / "auth.ini"),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "test-secret",
    }
    process = mlflow_servers.start(root, port, "--app-name", "basic-auth", env=env)
    yield f"http://127.0.0.1:{port}"
    mlflow_servers.stop(process)


def test_user_with_edit_on_one_experiment_runs_and_registers(
    auth_server, monkeypatch, tmp_path, breast_cancer
):
    from mlflow.server import get_app_client

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", auth_server)
    mlflow.set_tracking_uri(auth_server)
    try:
        # The admin creates the user and one experiment, and grants EDIT on it only.
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD)
        admin = get_app_client("basic-auth", tracking_uri=auth_server)
        admin.create_user(USER, USER_PASSWORD)
        experiment_id = MlflowClient().create_experiment("alice-automl")
        admin.grant_user_permission(USER, "experiment", experiment_id, "EDIT")

        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", USER)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", USER_PASSWORD)
        # EDIT on one experiment only: the Default experiment is out of reach.
        with pytest.raises(mlflow.exceptions.MlflowException, match="403|PERMISSION_DENIED"):
            MlflowClient().create_run("0")
        config = _small_config(breast_cancer, "target", registered_model_name="alice-model")
        run = automl.submit(config, experiment_name="alice-automl")

        model = MlflowClient().get_logged_model(run.model_uri.removeprefix("models:/"))
        assert model.experiment_id == experiment_id
        assert run.tags[tracking.TAG_REGISTERED].startswith("alice-model")
        served = mlflow.pyfunc.load_model("models:/alice-model@champion")
        rows = breast_cancer.drop(columns="target").head(5)
        assert list(served.predict(rows)) == list(run.get_output()[1].predict(rows))
    finally:
        mlflow.set_tracking_uri(None)
