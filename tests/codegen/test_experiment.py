"""An experiment logs code/ on the best and charted runs; what a user downloads runs where
mlflow_automl cannot be imported and prints the child run's validation score."""

from __future__ import annotations

import json
from types import SimpleNamespace

import mlflow
import nbformat
import pytest
from click.testing import CliRunner
from nbclient import NotebookClient

import mlflow_automl as automl
from mlflow_automl.cli.history import history
from mlflow_automl.codegen import (
    SCORING_SCRIPT,
    TRAINING_NOTEBOOK,
    TRAINING_SCRIPT,
    download_code,
    fidelity,
)

pytestmark = pytest.mark.slow
CODE_FILES = {TRAINING_SCRIPT, TRAINING_NOTEBOOK, SCORING_SCRIPT}
EXACT = 1e-6


def _code_files(run_id: str) -> set[str]:
    listed = mlflow.MlflowClient().list_artifacts(run_id, "code")
    return {a.path.rsplit("/", 1)[-1] for a in listed}


def _config(path: str, **settings) -> automl.AutoMLConfig:
    defaults = {
        "n_cross_validations": 3,
        "iterations": 4,
        "allowed_models": ["LogisticRegression", "LightGBM", "RandomForest", "KNN"],
        "enable_voting_ensemble": False,
        "enable_stack_ensemble": False,
        "model_explainability": False,
        "max_cores_per_iteration": 1,
    }
    return automl.AutoMLConfig(
        task="classification",
        training_data=path,
        label_column_name="species",
        primary_metric="AUC_weighted",
        **(defaults | settings),
    )


def test_best_and_charted_runs_get_code_that_reproduces_them(
    sqlite_store, penguins_plus, tmp_path, script_store
):
    run = automl.submit(_config(penguins_plus), experiment_name="codegen")
    tags = run.tags
    charted = int(tags["automl.charted_runs"])
    assert _code_files(run.run_id) == CODE_FILES
    best_child = tags["automl.best_child_run_id"]
    assert _code_files(best_child) == CODE_FILES
    board = run.get_leaderboard()
    coded = [r for r in board["run_id"] if _code_files(r)]
    assert len(coded) == charted and best_child in coded
    assert float(tags["automl.seconds_per_code_set"]) < 1.0
    assert "code" not in json.loads(tags.get("automl.skipped", "{}"))

    # the best model's code, as a user gets it, reproduces the best child run's score
    folder = run.download_code(path=str(tmp_path / "best"))
    done = fidelity.run_isolated(
        [TRAINING_SCRIPT, penguins_plus], folder, script_store, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    child_score = mlflow.get_run(best_child).data.metrics["AUC_weighted"]
    assert abs(fidelity.printed_score(done.stdout, "AUC_weighted") - child_score) <= EXACT

    # ... and its scoring script scores a file with the model the training script logged
    uri = done.stdout.strip().splitlines()[-1].removeprefix("model: ")
    scored = fidelity.run_isolated(
        [SCORING_SCRIPT, uri, penguins_plus, "out.csv"], folder, script_store
    )
    assert scored.returncode == 0, scored.stderr[-3000:]
    predictions = (tmp_path / "best" / "code" / "out.csv").read_text().splitlines()
    assert predictions[0] == "prediction" and set(predictions[1:]) <= {
        "Adelie",
        "Chinstrap",
        "Gentoo",
    }

    # one charted iteration by number, and the CLI
    other = board[board["run_id"] == coded[-1]]["iteration"].iloc[0]
    assert (tmp_path / "it" / "code").exists() is False
    run.download_code(iteration=int(other), path=str(tmp_path / "it"))
    assert {p.name for p in (tmp_path / "it" / "code").iterdir()} == CODE_FILES
    result = CliRunner().invoke(
        history, ["download", best_child, "-d", str(tmp_path / "cli"), "--code"]
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "cli" / "code").iterdir()} == CODE_FILES


def test_notebook_runs_and_prints_the_same_score(
    sqlite_store, penguins_plus, tmp_path, monkeypatch
):
    """The notebook's cells, executed by a Jupyter kernel, give the child run's score."""
    run = automl.submit(_config(penguins_plus, iterations=1), experiment_name="notebook")
    folder = run.download_code(path=str(tmp_path))
    notebook = nbformat.read(f"{folder}/{TRAINING_NOTEBOOK}", as_version=4)
    assert "mlflow_automl" not in "".join(cell.source for cell in notebook.cells)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'notebook.db'}")
    NotebookClient(notebook, timeout=600, resources={"metadata": {"path": folder}}).execute()
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    child = run.tags["automl.best_child_run_id"]
    child_score = mlflow.get_run(child).data.metrics["AUC_weighted"]
    assert abs(fidelity.printed_score(printed, "AUC_weighted") - child_score) <= EXACT


def test_code_generation_off(sqlite_store, penguins_plus):
    run = automl.submit(
        _config(penguins_plus, iterations=1, enable_code_generation=False),
        experiment_name="off",
    )
    assert _code_files(run.run_id) == set()
    with pytest.raises(ValueError, match="no artifact 'code'"):
        run.download_code(path=".")


def test_no_time_left_is_a_skip_not_a_failure(penguins_plus):
    """Code is optional work: when the budget has no room it is skipped and says so."""
    from mlflow_automl.codegen import log_code
    from mlflow_automl.search import Budget

    budget = Budget(metric="AUC_weighted", iterations=1, timeout_seconds=0.001)
    config = _config(penguins_plus)
    entry = SimpleNamespace(origin="tpe", learner="LightGBM")
    assert log_code(config, None, None, None, [entry], "no-run", budget) == 0
    assert budget.skipped["code"].startswith("time budget")


def test_charted_ensembles_get_code(sqlite_store, penguins_plus, tmp_path, script_store):
    run = automl.submit(
        _config(penguins_plus, enable_voting_ensemble=True, enable_stack_ensemble=True),
        experiment_name="ensembles",
    )
    children = {c.data.tags["automl.learner"]: c.info.run_id for c in run.get_children()}
    coded = {learner for learner, run_id in children.items() if _code_files(run_id)}
    assert coded & {"VotingEnsemble", "StackEnsemble"}, coded
    assert "code" not in json.loads(run.tags.get("automl.skipped", "{}"))
    kind = sorted(coded & {"VotingEnsemble", "StackEnsemble"})[0]
    folder = tmp_path / kind
    local = download_code(children[kind], folder)
    done = fidelity.run_isolated([TRAINING_SCRIPT, penguins_plus], local, script_store)
    assert done.returncode == 0, done.stderr[-3000:]
    child_score = mlflow.get_run(children[kind]).data.metrics["AUC_weighted"]
    assert abs(fidelity.printed_score(done.stdout, "AUC_weighted") - child_score) <= EXACT


def test_fold_models_code_logs_the_model_the_experiment_logged(
    sqlite_store, penguins_plus, tmp_path, script_store
):
    """final_model='fold_models': the best run's code fits each fold's model and averages
    them, so the model it logs gives the experiment's model's probabilities."""
    import pandas as pd

    config = _config(penguins_plus, final_model="fold_models")
    run = automl.submit(config, experiment_name="fold-models")
    how = run.tags["automl.final_model_fit"]
    assert how.startswith("its 3 fold models averaged"), how
    folder = run.download_code(path=str(tmp_path / "best"))
    done = fidelity.run_isolated([TRAINING_SCRIPT, penguins_plus], folder, script_store)
    assert done.returncode == 0, done.stderr[-3000:]
    uri = done.stdout.strip().splitlines()[-1].removeprefix("model: ")
    _, model = run.get_output()
    X = pd.read_csv(penguins_plus).drop(columns=["species"])
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(script_store)
    try:
        generated = mlflow.sklearn.load_model(uri)
    finally:
        mlflow.set_tracking_uri(previous)
    assert type(generated).__name__ == "FoldAverage"
    difference = abs(generated.predict_proba(X) - model.predict_proba(X)).max()
    assert difference <= EXACT, difference
