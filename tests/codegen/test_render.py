"""Rendering alone (fast): every tabular learner's files compile, hold one hyperparameter dict
and no import of this package; a DataFrame experiment's notebook asks for a data file."""

from __future__ import annotations

import json

import pytest

from mlflow_automl import AutoMLConfig
from mlflow_automl.codegen import (
    SCORING_SCRIPT,
    TRAINING_NOTEBOOK,
    TRAINING_SCRIPT,
    code_spec,
    render,
)
from mlflow_automl.codegen.spec import literal
from mlflow_automl.learners.registry import LEARNERS
from mlflow_automl.tasks import get_task, prepare_training_data

LABELS = {"classification": "species", "regression": "body_mass_g"}


@pytest.fixture(scope="module")
def prepared(penguins):
    out = {}
    for task, label in LABELS.items():
        config = AutoMLConfig(task=task, training_data=penguins, label_column_name=label)
        data = prepare_training_data(config)
        out[task] = (config, data, get_task(config.task).plan(config, data))
    return out


@pytest.mark.parametrize(
    ("task", "name"),
    [(t, n) for n, learner in sorted(LEARNERS.items()) for t in LABELS if t in learner.estimators],
)
def test_every_tabular_learner_renders(task, name, prepared):
    config, data, plan = prepared[task]
    learner = LEARNERS[name]
    params = learner.default_params(task, data.n_rows, data.X.shape[1])
    spec = code_spec(config=config, data=data, plan=plan, learner=learner, params=params)
    files = render(spec)
    script = files[TRAINING_SCRIPT]
    compile(script, TRAINING_SCRIPT, "exec")
    compile(files[SCORING_SCRIPT], SCORING_SCRIPT, "exec")
    assert "mlflow_automl" not in script
    assert script.count("HYPERPARAMETERS = {") == 1
    assert f"from {spec.estimator.module} import {spec.estimator.name}" in script
    notebook = json.loads(files[TRAINING_NOTEBOOK])
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            compile("".join(cell["source"]), TRAINING_NOTEBOOK, "exec")
    assert "save it as CSV or Parquet" in files[TRAINING_NOTEBOOK]  # a DataFrame experiment


def test_twenty_nine_tabular_pairs():
    """Azure's 27 (learner, task) pairs and the optional CatBoost's two."""
    pairs = [(t, n) for n, learner in LEARNERS.items() for t in LABELS if t in learner.estimators]
    assert len(pairs) == 29


def test_literals_are_what_a_person_writes():
    import numpy as np

    assert literal(np.float64(0.1)) == "0.1"
    assert literal({"a": (1, 2), "b": [None, True]}) == '{"a": (1, 2), "b": [None, True]}'
    assert literal((0.0,)) == "(0.0,)"
    assert literal('say "hi"') == '"say \\"hi\\""'
