"""The suite's regression tables weigh as much as its classification ones; each new table loads
from its installed package with its label, without the columns that give the label away."""

from __future__ import annotations

import pytest

from benchmarks import datasets as suite

NEW_REGRESSION = {
    # name: (rows, columns that must be gone: the label in disguise or other outcomes)
    "sacramento": (932, ()),
    "concrete": (1030, ()),
    "ames": (2930, ()),
    "wage": (3000, ("logwage",)),
    "nmes1988": (4406, ("nvisits", "ovisits", "novisits")),
    "computers": (6259, ()),
    "txhousing": (8602, ("volume", "date")),
    "deliveries": (10012, ()),
}


def test_regression_weighs_as_much_as_classification():
    tasks = [d.task for d in suite.SUITE]
    assert tasks.count(suite.REGRESSION) == len(tasks) - tasks.count(suite.REGRESSION) == 11


@pytest.mark.parametrize("name", NEW_REGRESSION)
def test_new_regression_table_loads_offline_with_its_traits(name):
    dataset = suite.get(name)
    rows, dropped = NEW_REGRESSION[name]
    frame = dataset.load()

    assert dataset.task == suite.REGRESSION and len(frame) == rows
    assert dataset.label in frame and frame[dataset.label].dtype.kind in "if"
    assert not set(dropped) & set(frame.columns) and "rownames" not in frame
    traits = suite.traits(dataset, frame)
    assert traits["features"] == frame.shape[1] - 1 and "target_skew" in traits
