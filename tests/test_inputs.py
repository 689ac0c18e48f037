"""The logged model's input contract (``mlflow_automl.inputs``): integer column names, the
input example built from typical values, coercions that give the same answer as the canonical
value."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine

import mlflow_automl as automl
from mlflow_automl.inputs import column_kinds, typical_example


def _rows(frame: pd.DataFrame) -> set[tuple]:
    return {tuple(map(repr, row)) for row in frame.astype(object).itertuples(index=False)}


@pytest.mark.parametrize("dataset", ["penguins", "breast_cancer", "diabetes"])
def test_typical_example_is_no_training_row(dataset, request):
    frame = request.getfixturevalue(dataset)
    example = typical_example(frame, column_kinds(frame))
    assert example.shape == (1, frame.shape[1]) and list(example.columns) == list(frame.columns)
    assert (example.dtypes == frame.dtypes).all()
    assert not _rows(example) & _rows(frame)
    assert _rows(frame.iloc[[0]]) <= _rows(frame)  # the comparison does find a training row


def test_typical_values_per_kind():
    frame = pd.DataFrame(
        {
            "n": [1, 2, 3, 10],
            "x": [0.5, 1.5, 2.5, np.nan],
            "b": [True, True, False, True],
            "d": pd.to_datetime(["2020-01-01", "2020-03-01", "2021-01-01", "2022-01-01"], utc=True),
            "c": ["a", "b", "b", None],
            "name": ["Ann", "Bob", "Cy", "Di"],  # every value once: a person's, left out
        }
    )
    row = typical_example(frame, column_kinds(frame)).iloc[0]
    assert row["n"] == 2 and row["x"] == 1.5 and bool(row["b"]) is True and row["c"] == "b"
    assert row["d"] == pd.Timestamp("2021-01-01", tz="UTC") and pd.isna(row["name"])


@pytest.fixture
def numpy_made(sqlite_store):
    """A frame made from a numpy array (integer column names), as scikit-learn users have."""
    data = load_wine()
    frame = pd.DataFrame(data.data)  # columns 0..12
    frame["label"] = data.target
    config = automl.AutoMLConfig(
        task="classification",
        training_data=frame,
        label_column_name="label",
        iterations=2,
        allowed_models=["DecisionTree"],
        enable_voting_ensemble=False,
        enable_stack_ensemble=False,
        model_explainability=False,
    )
    return automl.submit(config, experiment_name="numpy-made"), frame


@pytest.mark.slow  # a whole experiment or a chart set per case: seconds each
def test_integer_column_names_are_accepted_by_the_model_and_the_pyfunc(numpy_made):
    run, frame = numpy_made
    X = frame.drop(columns="label")
    _, model = run.get_output()
    predicted = model.predict(X)
    assert (predicted == frame["label"]).mean() > 0.8
    assert list(model.predict(X.to_numpy())) == list(predicted)  # a plain array too
    pyfunc = mlflow.pyfunc.load_model(run.model_uri)
    assert list(pyfunc.predict(X)) == list(predicted)
    # Served as JSON the names are strings: accepted as well.
    assert list(pyfunc.predict(X.rename(columns=str))) == list(predicted)


@pytest.mark.slow  # a whole experiment or a chart set per case: seconds each
def test_logged_input_example_is_no_training_row(numpy_made):
    run, frame = numpy_made
    local = Path(mlflow.artifacts.download_artifacts(run.model_uri))
    logged = json.loads((local / "input_example.json").read_text())
    example = pd.DataFrame(logged["data"], columns=logged["columns"])
    X = frame.drop(columns="label").rename(columns=str)
    assert list(example.columns) == list(X.columns) and len(example) == 1
    assert not _rows(example.astype(float)) & _rows(X.astype(float))
    # The serving example is valid against the logged model (MLflow checks it at log time).
    serving = (local / "serving_input_example.json").read_text()
    assert len(mlflow.models.validate_serving_input(run.model_uri, serving)) == 1


def _penguin_config(penguins, **settings):
    return automl.AutoMLConfig(
        task="classification",
        training_data=penguins,
        label_column_name="species",
        iterations=2,
        allowed_models=["DecisionTree"],
        enable_voting_ensemble=False,
        enable_stack_ensemble=False,
        model_explainability=False,
        **settings,
    )


@pytest.mark.slow  # a whole experiment or a chart set per case: seconds each
def test_user_input_example_is_logged(sqlite_store, penguins):
    mine = penguins.drop(columns="species").iloc[[3, 10]]  # row 3 has missing values
    run = automl.submit(_penguin_config(penguins, input_example=mine), experiment_name="ex")
    local = Path(mlflow.artifacts.download_artifacts(run.model_uri))
    logged = json.loads((local / "input_example.json").read_text())
    assert logged["columns"] == list(mine.columns) and len(logged["data"]) == 2
    assert logged["data"][1][0] == mine.iloc[1]["island"]


@pytest.mark.parametrize(
    "example, culprit",
    [
        (lambda X: X.head(2).assign(bill_length_mm="long"), "bill_length_mm"),
        (lambda X: X.head(2).drop(columns="island"), "island"),
        (lambda X: X.head(0), "no rows"),
    ],
)
def test_bad_user_input_example_is_refused_before_any_run(sqlite_store, penguins, example, culprit):
    config = _penguin_config(penguins, input_example=example(penguins.drop(columns="species")))
    with pytest.raises(automl.AutoMLConfigError, match=f"input_example.*{culprit}"):
        automl.submit(config, experiment_name="refused")
    assert mlflow.get_experiment_by_name("refused") is None or not mlflow.search_runs(
        experiment_names=["refused"], output_format="list"
    )
