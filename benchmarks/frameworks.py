"""The frameworks under comparison, one adapter each, and the worker that runs one of them.

An adapter gets the training frame (raw columns and the label), the test features, the task and
the wall budget; it fits within that budget the way a user would, and returns the test
predictions (class probabilities, or values) with what it can tell about its search. The wall
time is measured here around the adapter's whole fit call (for mlflow_automl: ``submit``, model
logging included); imports and prediction are outside it, for every framework alike.

The harness (``compare.py``) runs each (dataset, budget, framework) in a fresh interpreter:

    python -m benchmarks.frameworks <work dir>               # the harness's own interpreter
    /path/to/venv/bin/python -I benchmarks/frameworks.py <work dir>   # a framework's own venv

``spec.json``, ``train.parquet`` and ``test.parquet`` in, ``result.json`` and
``predictions.parquet`` out. This module imports only numpy and pandas at the top (and pyarrow
through them), so that it runs in a virtualenv that has a framework but not mlflow_automl
(AutoGluon pins pandas < 3 and lives in its own); ``-I`` keeps that interpreter to its own
packages.

Besides the predictions, each adapter reports its own validation score of the final model
(``val_score``: ours the best child run's primary metric, FLAML ``1 - best_loss``, AutoGluon the
best model's ``score_val``), when it reached its best (``best_reached_s``, seconds after the fit
call began) and, where the framework records it, its best-so-far validation score over time
(``curve``: ``[[seconds, score], ...]`` at each improvement), for time-to-quality.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import subprocess
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
    val_score: float | None = None  # the framework's own validation score of its final model
    best_reached_s: float | None = None  # seconds after the fit call began
    curve: list[list[float]] | None = None  # [[seconds, best-so-far validation score], ...]


def best_so_far(points: list[tuple[float, float]]) -> list[list[float]]:
    """``[[t, best score up to t], ...]`` at each improvement of the (t, score) points (higher is
    better); NaN scores (failed trials) are skipped."""
    curve: list[list[float]] = []
    for t, score in sorted(points):
        if score == score and (not curve or score > curve[-1][1]):
            curve.append([round(float(t), 2), float(score)])
    return curve


# --- adapters -------------------------------------------------------------------------------------
# Each optimizes the metric the harness scores with (see compare.METRICS), under its own name.
_AUTOML_METRIC = {BINARY: "AUC_weighted", MULTICLASS: "AUC_weighted", REGRESSION: "r2_score"}
_FLAML_METRIC = {BINARY: "roc_auc", MULTICLASS: "roc_auc_ovr_weighted", REGRESSION: "r2"}
_AUTOGLUON_METRIC = {BINARY: "roc_auc", MULTICLASS: "roc_auc_ovr_weighted", REGRESSION: "r2"}


def run_mlflow_automl(
    train: pd.DataFrame,
    test: pd.DataFrame,
    label: str,
    task: str,
    budget: float,
    seed: int,
    settings: dict | None = None,
) -> tuple[Fitted, float]:
    """``submit`` with the defaults a user gets (and ``settings``, when a change is measured
    alone), logging to the SQLite store the harness set in ``MLFLOW_TRACKING_URI``."""
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
        **(settings or {}),
    )
    started_epoch, started = time.time(), time.perf_counter()
    run = automl.submit(config, experiment_name="benchmark")
    wall = time.perf_counter() - started
    _, model = run.get_output()
    # Each child run (trial or ensemble) ends when its validation score is known.
    metric = _AUTOML_METRIC[task]
    curve = best_so_far(
        [
            (child.info.end_time / 1000 - started_epoch, child.data.metrics.get(metric, np.nan))
            for child in run.get_children()
            if child.info.end_time
        ]
    )
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
    if curve:
        fitted.val_score, fitted.best_reached_s, fitted.curve = curve[-1][1], curve[-1][0], curve
    return fitted, wall


def run_flaml(
    train: pd.DataFrame,
    test: pd.DataFrame,
    label: str,
    task: str,
    budget: float,
    seed: int,
    settings: dict | None = None,
) -> tuple[Fitted, float]:
    """``AutoML().fit(X, y, task=..., time_budget=...)`` with FLAML's defaults (and ``settings``,
    more keyword arguments, when given), its search log written for the best-so-far curve."""
    from flaml import AutoML
    from flaml.automl.data import get_output_from_log

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
        log_file_name="flaml.log",  # in the work directory
        **(settings or {}),
    )
    wall = time.perf_counter() - started
    trials = len(automl.config_history)
    if task == REGRESSION:
        fitted = Fitted(np.asarray(automl.predict(test)), None, automl.best_estimator, trials)
    else:
        predictions = automl.predict_proba(test)
        fitted = Fitted(predictions, list(automl.classes_), automl.best_estimator, trials)
    # FLAML minimizes 1 - metric for r2 and the AUCs.
    fitted.val_score = 1 - float(automl.best_loss)
    fitted.best_reached_s = round(float(automl.time_to_find_best_model), 2)
    times, _, losses, _, _ = get_output_from_log("flaml.log", np.inf)
    fitted.curve = best_so_far([(t, 1 - loss) for t, loss in zip(times, losses)])
    return fitted, wall


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
    started_epoch, started = time.time(), time.perf_counter()
    predictor.fit(train, time_limit=budget)
    wall = time.perf_counter() - started
    board = predictor.leaderboard(silent=True)
    if task == REGRESSION:
        values = predictor.predict(test).to_numpy()
        fitted = Fitted(values, None, predictor.model_best, len(board))
    else:
        proba = predictor.predict_proba(test)
        fitted = Fitted(proba.to_numpy(), list(proba.columns), predictor.model_best, len(board))
    # A model is saved when its fit ends: its file's time is when its score_val became known.
    saved = {m: _saved_at(predictor.path, m) - started_epoch for m in board["model"]}
    fitted.curve = best_so_far([(saved[m], v) for m, v in zip(board["model"], board["score_val"])])
    best = board.set_index("model").loc[predictor.model_best]
    fitted.val_score = float(best["score_val"])
    # When its final score was first reached: a weighted ensemble of one model repeats the
    # score of the model it wraps, which was saved earlier.
    fitted.best_reached_s = next(
        (t for t, score in fitted.curve if score >= fitted.val_score),
        round(saved[predictor.model_best], 2),
    )
    fitted.extra = {"fit_time_s": float(best["fit_time"])}  # its own and its base models' fits
    return fitted, wall


def _saved_at(predictor_path: str, model: str) -> float:
    """When AutoGluon saved ``model`` (epoch seconds): the newest file of its folder."""
    folder = Path(predictor_path) / "models" / model
    return max((f.stat().st_mtime for f in folder.rglob("*") if f.is_file()), default=np.nan)


@dataclass(frozen=True)
class Framework:
    name: str
    module: str  # the import that must succeed for the framework to run
    run: Callable[..., tuple[Fitted, float]]

    def installed(self, python: str | None = None) -> bool:
        """Whether ``python`` (default: this interpreter) can import the framework."""
        if python is not None:
            probe = (
                f"import importlib.util as u, sys; sys.exit(u.find_spec({self.module!r}) is None)"
            )
            try:
                return subprocess.run([python, "-I", "-c", probe], timeout=120).returncode == 0
            except (OSError, subprocess.SubprocessError):  # no such interpreter
                return False
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
    settings = {"settings": spec["settings"]} if spec.get("settings") else {}
    fitted, wall = framework.run(
        train, test, spec["label"], spec["task"], spec["budget"], spec["seed"], **settings
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
        "val_score": fitted.val_score,
        "best_reached_s": fitted.best_reached_s,
        "curve": fitted.curve,
        **fitted.extra,
    }
    (directory / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    work(Path(sys.argv[1]))
