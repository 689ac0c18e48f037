"""Threads per fit: one on tables too small for threads to pay, the trial's cores otherwise;
the generated code asks for what the trials used."""

from types import SimpleNamespace

import numpy as np
import pandas as pd

from mlflow_automl.codegen.spec import estimator_code
from mlflow_automl.learners import CLASSIFICATION, get_learner


def _frame(n_rows: int, n_columns: int) -> pd.DataFrame:
    return pd.DataFrame(np.zeros((n_rows, n_columns)))


def test_forests_take_threads_from_ten_thousand_cells(penguins, breast_cancer):
    forest = get_learner("RandomForest", CLASSIFICATION)
    assert forest.threads(penguins, cores=2) == 1  # 344 x 8
    assert forest.threads(breast_cancer, cores=2) == 2  # 569 x 31


def test_openmp_boosters_take_threads_from_a_hundred_thousand_cells(breast_cancer):
    # Their threads meet at every split: on a small table they wait more than they work.
    for name in ("LightGBM", "XGBoostClassifier"):
        booster = get_learner(name, CLASSIFICATION)
        assert booster.threads(breast_cancer, cores=2) == 1
        assert booster.threads(_frame(4_454, 13), cores=2) == 1  # credit
        assert booster.threads(_frame(10_000, 20), cores=2) == 2


def test_generated_code_asks_for_the_threads_of_the_trials(penguins):
    config = SimpleNamespace(random_seed=7, cores_per_iteration=2)
    data = SimpleNamespace(X=penguins)
    for name in ("RandomForest", "LightGBM", "XGBoostClassifier"):
        learner = get_learner(name, CLASSIFICATION)
        code = estimator_code(learner, CLASSIFICATION, {}, config, data)
        assert (
            code.seeding
            == {"random_state": 7, "n_jobs": learner.threads(penguins, 2)}
            == {
                "random_state": 7,
                "n_jobs": 1,
            }
        )
