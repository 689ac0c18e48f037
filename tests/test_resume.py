"""Continuing an ended experiment (Azure's continue_experiment) in the same run, from what MLflow
holds: a fresh process, no configuration run twice, iterations going on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest

import mlflow_automl as automl
from mlflow_automl import tracking
from mlflow_automl.azureml.automl_run import AutoMLRun
from mlflow_automl.config import AutoMLConfigError

REPO = Path(__file__).resolve().parents[1]


def _config(training_data, iterations: int) -> automl.AutoMLConfig:
    return automl.AutoMLConfig(
        task="classification",
        training_data=training_data,
        label_column_name="species",
        iterations=iterations,
        n_cross_validations=3,
        enable_voting_ensemble=False,
        enable_stack_ensemble=False,
        allowed_models=["LogisticRegression", "DecisionTree", "LightGBM"],
    )


def _configurations(run: AutoMLRun) -> list[str]:
    return [c.data.tags[tracking.TAG_PARAMS_JSON] for c in run.get_children()]


@pytest.mark.timeout(900)
def test_resume_in_a_fresh_process_runs_no_configuration_twice(sqlite_store, penguins, tmp_path):
    path = tmp_path / "penguins.csv"
    penguins.to_csv(path, index=False)
    first = automl.submit(_config(str(path), iterations=4), experiment_name="resume")
    assert first.get_status() == "FINISHED"
    before = {c.info.run_id for c in first.get_children()}
    assert len(before) == 4

    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    command = [sys.executable, "-m", "mlflow_automl.cli", "train", "--resume", first.run_id]
    command += ["--iterations", "4", "--tracking-uri", sqlite_store, "--quiet"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr

    run = AutoMLRun(first.run_id)
    children = run.get_children()
    iterations = [int(c.data.tags[tracking.TAG_ITERATION]) for c in children]
    assert iterations == list(range(8))
    assert before <= {c.info.run_id for c in children}  # the earlier child runs are kept
    configurations = _configurations(run)
    assert len(set(configurations)) == 8, configurations  # no configuration run again
    print(
        f"FIGURE resume: 4 + 4 iterations in a fresh process, {len(children)} child runs, "
        f"configurations run twice: {len(configurations) - len(set(configurations))}"
    )
    assert run.get_status() == "FINISHED"
    assert run.tags[tracking.TAG_RESUMED] == "1"
    assert len(run.get_leaderboard()) == 8  # the table is rewritten with every iteration
    best_child, model = run.get_output()
    assert best_child.data.tags[tracking.TAG_ITERATION] == run.tags[tracking.TAG_BEST_ITERATION]
    assert set(model.predict(penguins.drop(columns=["species"]).head(5))) <= set(
        penguins["species"].dropna()
    )


def test_resume_of_a_dataframe_experiment_needs_the_same_data(sqlite_store, penguins):
    first = automl.submit(_config(penguins, iterations=2), experiment_name="resume-frame")
    with pytest.raises(AutoMLConfigError, match="pass it again as training_data"):
        first.continue_experiment(iterations=2)
    other = penguins.sample(frac=1.0, random_state=1).reset_index(drop=True)
    with pytest.raises(AutoMLConfigError, match="digest"):
        first.continue_experiment(training_data=other.head(300), iterations=2)
    assert AutoMLRun(first.run_id).get_status() == "FINISHED"  # refused before reopening

    run = first.continue_experiment(training_data=penguins, iterations=2)
    assert run.run_id == first.run_id
    children = run.get_children()
    assert [int(c.data.tags[tracking.TAG_ITERATION]) for c in children] == [0, 1, 2, 3]
    assert len(set(_configurations(run))) == 4
    assert run.get_status() == "FINISHED"
    params = mlflow.get_run(run.run_id).data.params
    assert json.loads(params["allowed_models"]) == [
        "LogisticRegression",
        "DecisionTree",
        "LightGBM",
    ]


def test_a_running_experiment_cannot_be_continued(sqlite_store, penguins):
    run_id = tracking.create_run(
        tracking.resolve_experiment("resume-running")[0],
        "AutoML_x",
        {tracking.TAG_KIND: "experiment"},
        None,
    )
    with pytest.raises(AutoMLConfigError, match="RUNNING"):
        AutoMLRun(run_id).continue_experiment(training_data=penguins, iterations=2)


def test_a_restored_setting_at_its_default_counts_as_not_given():
    """A continued experiment sees the first run's defaults as defaults: on Ray, the number of
    trials in flight follows the cluster again instead of the logged default of 1."""
    from mlflow_automl.resume import restored_config

    settings = {
        "task": "classification",
        "label_column_name": "species",
        "training_data": pd.DataFrame({"x": [1.0, 2.0], "species": ["a", "b"]}),
        "max_concurrent_iterations": 1,  # logged, but the first run never set it
        "primary_metric": "AUC_weighted",  # given: not the default
        "enable_early_stopping": True,
    }
    config = restored_config(settings)
    assert "max_concurrent_iterations" not in config.given_settings
    assert "primary_metric" in config.given_settings
    assert "enable_early_stopping" not in config.given_settings
    assert config.max_concurrent_iterations == 1 and config.metric == "AUC_weighted"
