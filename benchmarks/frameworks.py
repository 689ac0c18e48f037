"""The frameworks under comparison, one adapter each, and the worker that runs one of them.

An adapter gets the training frame (raw columns and the label), the test features, the task and
the wall budget; it fits within that budget the way a user would, and returns the test
predictions (class probabilities, or values) with what it can tell about its search. The wall
time is measured here around the adapter's whole fit call (for mlflow_automl: ``submit``, model
logging included); imports and prediction are outside it, for every framework alike.

The harness (``compare.py``) runs each (dataset, budget, framework) as

    python -m benchmarks.frameworks <work dir>

in a fresh interpreter: ``spec.json``, ``train.parquet`` and ``test.parquet`` in, ``result.json``
and ``predictions.parquet`` out.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BINARY, MULTICLASS, REGRESSION = "binary", "multiclass", "regression"


@dataclass
class Fitted:
    """What an adapter hands back: test predictions and facts about its search."""

    predictions: np.ndarray  # (n, k) probabilities for classification, (n,) values otherwise
    classes: list[Any] | None  # column order of ``predictions`` for classification
    best_learner: str
    trials: int
    extra: dict[str, Any] = field(default_factory=dict)


# --- adapters -------------------------------------------------------------------------------------
# Each optimizes the metric the harness scores with (see compare.METRICS), under its own name.
_AUTOML_METRIC = {BINARY: "AUC_weighted", MULTICLASS: "AUC_weighted", REGRESSION: "r2_score"}
_FLAML_METRIC = {BINARY: "roc_auc", MULTICLASS: "roc_auc_ovr_weighted", REGRESSION: "r2"}
_AUTOGLUON_METRIC = {BINARY: "roc_auc", MULTICLASS: "roc_auc_ovr_weighted", REGRESSION: "r2"}


def run_mlflow_automl(
    train: pd.DataFrame, test: pd.DataFrame, label: str, task: str, budget: float, seed: int
) -> tuple[Fitted, float]:
    """``submit`` with the defaults a user gets, logging to the SQLite store the harness set in
    ``MLFLOW_TRACKING_URI``."""
    import mlflow_automl as automl
    from mlflow_automl.tracking import TAG_TRACKING_BY_CALL, TRACKING_SECONDS_METRIC

    config = automl.AutoMLConfig(
        task="regression" if task == REGRESSION else "classification",
        training_data=train,
        label_column_name=label,
        primary_metric=_AUTOML_METRIC[task],
        experiment_timeout_minutes=budget / 60,
        random_seed=seed,
        verbosity=logging.WARNING,
    )
    started = time.perf_counter()
    run = automl.submit(config, experiment_name="benchmark")
    wall = time.perf_counter() - started
    _, model = run.get_output()
    board = run.get_leaderboard()
    tracking_seconds = float(run.get_metrics().get(TRACKING_SECONDS_METRIC, np.nan))
    extra = {
        "tracking_seconds": tracking_seconds,
        "tracking_pct": 100 * tracking_seconds / wall,
        "tracking_by_call": json.loads(run.tags.get(TAG_TRACKING_BY_CALL, "{}")),
    }
    if task == REGRESSION:
        fitted = Fitted(model.predict(test), None, str(board["pipeline"].iloc[0]), len(board))
    else:
        predictions = model.predict_proba(test)
        classes = list(model.classes_)
        fitted = Fitted(predictions, classes, str(board["pipeline"].iloc[0]), len(board))
    fitted.extra = extra
    return fitted, wall


def run_flaml(
    train: pd.DataFrame, test: pd.DataFrame, label: str, task: str, budget: float, seed: int
) -> tuple[Fitted, float]:
    """``AutoML().fit(X, y, task=..., time_budget=...)`` with FLAML's defaults."""
    from flaml import AutoML

    automl = AutoML()
    started = time.perf_counter()
    automl.fit(
        train.drop(columns=[label]),
        train[label],
        task="regression" if task == REGRESSION else "classification",
        metric=_FLAML_METRIC[task],
        time_budget=budget,
        seed=seed,
        verbose=0,
    )
    wall = time.perf_counter() - started
    trials = len(automl.config_history)
    if task == REGRESSION:
        return Fitted(np.asarray(automl.predict(test)), None, automl.best_estimator, trials), wall
    predictions = automl.predict_proba(test)
    return Fitted(predictions, list(automl.classes_), automl.best_estimator, trials), wall


def run_autogluon(
    train: pd.DataFrame, test: pd.DataFrame, label: str, task: str, budget: float, seed: int
) -> tuple[Fitted, float]:
    """``TabularPredictor(...).fit(train, time_limit=budget)`` with AutoGluon's defaults."""
    from autogluon.tabular import TabularPredictor

    predictor = TabularPredictor(
        label=label,
        problem_type=task,
        eval_metric=_AUTOGLUON_METRIC[task],
        path=str(Path.cwd() / "autogluon"),
        verbosity=0,
    )
    started = time.perf_counter()
    predictor.fit(train, time_limit=budget)
    wall = time.perf_counter() - started
    trials = len(predictor.leaderboard(silent=True))
    if task == REGRESSION:
        values = predictor.predict(test).to_numpy()
        return Fitted(values, None, predictor.model_best, trials), wall
    proba = predictor.predict_proba(test)
    return Fitted(proba.to_numpy(), list(proba.columns), predictor.model_best, trials), wall


@dataclass(frozen=True)
class Framework:
    name: str
    module: str  # the import that must succeed for the framework to run
    run: Callable[..., tuple[Fitted, float]]

    def installed(self) -> bool:
        try:
            return importlib.util.find_spec(self.module) is not None
        except ModuleNotFoundError:  # the parent package is missing
            return False


FRAMEWORKS = {
    f.name: f
    for f in (
        Framework("mlflow_automl", "mlflow_automl", run_mlflow_automl),
        Framework("flaml", "flaml", run_flaml),
        Framework("autogluon", "autogluon.tabular", run_autogluon),
    )
}


# --- the worker -----------------------------------------------------------------------------------
def work(directory: Path) -> None:
    """Runs the framework of ``directory/spec.json``; writes ``result.json`` and the predictions."""
    spec = json.loads((directory / "spec.json").read_text())
    train = pd.read_parquet(directory / "train.parquet")
    test = pd.read_parquet(directory / "test.parquet")
    framework = FRAMEWORKS[spec["framework"]]
    fitted, wall = framework.run(
        train, test, spec["label"], spec["task"], spec["budget"], spec["seed"]
    )
    predictions = np.asarray(fitted.predictions, dtype=np.float64)
    if fitted.classes is None:
        frame = pd.DataFrame({"prediction": predictions.reshape(-1)})
    else:
        frame = pd.DataFrame(predictions, columns=[str(c) for c in fitted.classes])
    frame.to_parquet(directory / "predictions.parquet")
    result = {
        "wall_s": wall,
        "best_learner": fitted.best_learner,
        "trials": fitted.trials,
        **fitted.extra,
    }
    (directory / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    work(Path(sys.argv[1]))
