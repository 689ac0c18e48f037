"""End to end on a real store: Azure's user-given folds and positive label, and a run whose
charts cannot be written (a full artifact disk) after its model was logged."""

from __future__ import annotations

import shutil
import subprocess

import mlflow
import numpy as np
import pytest
from sklearn import metrics as skm

import mlflow_automl as automl


def test_user_folds_and_positive_label_end_to_end(sqlite_store, breast_cancer):
    frame = breast_cancer.copy()
    rows = np.arange(len(frame))
    frame["fold_1"] = (rows % 3 != 0).astype(int)
    frame["fold_2"] = (rows % 3 != 1).astype(int)
    frame["fold_3"] = (rows % 3 != 2).astype(int)
    config = automl.AutoMLConfig(
        task="classification",
        training_data=frame,
        label_column_name="target",
        cv_split_column_names=["fold_1", "fold_2", "fold_3"],
        positive_label="malignant",
        iterations=3,
        allowed_models=["LogisticRegression", "LightGBM"],
        model_explainability=False,
    )
    run = automl.submit(config, experiment_name="user-folds")
    parent = run.run
    assert parent.info.status == "FINISHED"
    assert parent.data.params["validation_strategy"] == "cross_validation"
    assert parent.data.params["validation_n_folds"] == "3"
    assert "fold_2" in parent.data.params["cv_split_column_names"]
    _, model = run.get_output()
    # the fold columns are not features: the model needs only the data's own columns
    features = breast_cancer.drop(columns="target")
    predicted = model.predict(features)
    assert set(predicted) == {"malignant", "benign"}
    # recall_score_binary is the recall of the positive class, malignant, on the folds' rows
    children = mlflow.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{run.run_id}'",
        output_format="list",
    )
    assert all("recall_score_binary" in c.data.metrics for c in children)
    best = max(children, key=lambda c: c.data.metrics.get("accuracy", 0))
    assert 0.5 < best.data.metrics["recall_score_binary"] <= 1.0
    truth = breast_cancer["target"].to_numpy()
    in_sample_recall = skm.recall_score(truth, predicted, pos_label="malignant")
    assert in_sample_recall > 0.8


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@pytest.fixture
def tiny_artifact_disk(tmp_path):
    """An artifact location on a 64 KiB tmpfs (a full disk for charts: one chart set is ~220
    KiB; the run's tables, ~6 KiB, fit), with the logged models' folder on the real disk."""
    disk = tmp_path / "artifacts"
    models = tmp_path / "models"
    disk.mkdir()
    models.mkdir()
    try:
        _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk))
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("needs permission to mount a tmpfs (root or a user namespace)")
    try:
        (disk / "models").mkdir()
        _mount("--bind", str(models), str(disk / "models"))
        yield disk
    finally:
        subprocess.run(["umount", str(disk / "models")], capture_output=True)
        subprocess.run(["umount", str(disk)], capture_output=True)
        shutil.rmtree(disk, ignore_errors=True)


def test_charts_on_a_full_disk_leave_the_run_finished_with_its_model(
    sqlite_store, tiny_artifact_disk, breast_cancer
):
    experiment_id = mlflow.MlflowClient().create_experiment(
        "full-disk", artifact_location=tiny_artifact_disk.as_uri()
    )
    config = automl.AutoMLConfig(
        task="classification",
        training_data=breast_cancer,
        label_column_name="target",
        iterations=2,
        allowed_models=["LogisticRegression"],
        enable_voting_ensemble=False,
        enable_stack_ensemble=False,
        model_explainability=False,
    )
    run = automl.submit(config, experiment_name="full-disk")
    parent = mlflow.MlflowClient().get_run(run.run_id)
    assert parent.info.experiment_id == experiment_id
    assert parent.info.status == "FINISHED"
    assert "No space left on device" in parent.data.tags["automl.insights_error"]
    model = mlflow.pyfunc.load_model(parent.data.tags["automl.best_model_uri"])
    predicted = model.predict(breast_cancer.drop(columns="target").iloc[:10])
    assert set(np.asarray(predicted).ravel()) <= {"malignant", "benign"}
