"""The pipeline API: nested step runs, outputs between steps, reuse, found again by id."""

from __future__ import annotations

import json
import pickle
import textwrap

import mlflow
import pandas as pd
import pytest

import mlflow_automl as automl
from mlflow_automl.azureml.pipeline import (
    AutoMLStep,
    Pipeline,
    PipelineRun,
    PipelineStepError,
    PythonScriptStep,
)

PREP = textwrap.dedent(
    """
    import argparse, mlflow
    from sklearn.datasets import load_breast_cancer
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int)
    parser.add_argument("--prepared")
    args = parser.parse_args()
    frame = load_breast_cancer(as_frame=True).frame.head(args.rows)
    frame.to_csv(f"{args.prepared}/train.csv", index=False)
    with mlflow.start_run():
        mlflow.log_metric("rows", len(frame))
    """
)


@pytest.fixture
def scripts(tmp_path):
    (tmp_path / "prep.py").write_text(PREP)
    (tmp_path / "fail.py").write_text("raise SystemExit(3)\n")
    return tmp_path


def _pipeline(scripts, rows=300):
    prep = PythonScriptStep(
        "prep",
        "prep.py",
        arguments=["--rows", rows],
        outputs=["prepared"],
        source_directory=scripts,
    )
    config = automl.AutoMLConfig(
        task="classification",
        label_column_name="target",
        training_data=prep.output("prepared", "train.csv"),
        iterations=3,
        n_cross_validations=3,
    )
    return Pipeline([prep, AutoMLStep("train", config)])


def test_steps_run_nested_and_hand_over_outputs(sqlite_store, scripts, tmp_path):
    run = _pipeline(scripts).submit("pipelines")
    assert run.get_status() == "FINISHED"
    steps = run.get_children()
    assert [s.data.tags["automl.pipeline_step"] for s in steps] == ["prep", "train"]
    assert all(s.data.tags["mlflow.parentRunId"] == run.run_id for s in steps)
    assert run.get_step_run("prep").data.metrics["rows"] == 300  # the script logged to its run

    metrics_dir = run.get_pipeline_output("metrics_output").download(tmp_path / "metrics")
    with open(f"{metrics_dir}/metrics.json") as handle:
        frame = pd.DataFrame(json.load(handle))
    assert frame.shape[1] == 3 and "accuracy" in frame.index  # one column per iteration
    model_dir = run.get_pipeline_output("model_output").download(tmp_path / "model")
    with open(f"{model_dir}/model.pkl", "rb") as handle:
        model = pickle.load(handle)
    assert model.predict(_features()).shape == (5,)

    # the AutoML run nests under its step run
    train_step = run.get_step_run("train")
    automl_runs = mlflow.search_runs(
        [train_step.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{train_step.info.run_id}'",
        output_format="list",
    )
    assert [r.data.tags["automl.kind"] for r in automl_runs] == ["experiment"]

    # a past run, found again by id
    again = PipelineRun(run.run_id)
    assert again.get_pipeline_output("model_output").uri.startswith("runs:/")


def _features():
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).data.head(5)


def test_unchanged_steps_are_reused_and_changed_ones_rerun(sqlite_store, scripts, capsys):
    first = _pipeline(scripts).submit("reuse")
    capsys.readouterr()
    second = _pipeline(scripts).submit("reuse")
    printed = capsys.readouterr().out
    assert "Step 'prep': reused run" in printed and "Step 'train': reused run" in printed
    reused = {
        s.data.tags["automl.pipeline_step"]: s.data.tags.get("automl.reused_from")
        for s in second.get_children()
    }
    originals = {s.data.tags["automl.pipeline_step"]: s.info.run_id for s in first.get_children()}
    assert reused == originals
    assert (
        second.get_pipeline_output("metrics_output").uri
        == first.get_pipeline_output("metrics_output").uri
    )

    third = _pipeline(scripts, rows=250).submit("reuse")  # new arguments: everything re-runs
    assert not any(s.data.tags.get("automl.reused_from") for s in third.get_children())


def test_a_failing_step_fails_the_pipeline(sqlite_store, scripts):
    fail = PythonScriptStep("fail", "fail.py", source_directory=scripts)
    with pytest.raises(PipelineStepError, match="exited with code 3"):
        Pipeline([fail]).submit("failing")
    runs = mlflow.search_runs(experiment_names=["failing"], output_format="list")
    assert {r.info.status for r in runs} == {"FAILED"}


def test_pipeline_definition_errors(scripts):
    prep = PythonScriptStep("prep", "prep.py", outputs=["prepared"], source_directory=scripts)
    with pytest.raises(ValueError, match="has no output 'nope'"):
        prep.output("nope")
    with pytest.raises(ValueError, match="does not exist"):
        PythonScriptStep("x", "missing.py", source_directory=scripts)
    later = PythonScriptStep(
        "later", "prep.py", inputs={"data": prep.output("prepared")}, source_directory=scripts
    )
    with pytest.raises(ValueError, match="not an earlier step"):
        Pipeline([later, prep])
