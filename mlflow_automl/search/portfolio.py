"""The learned portfolio: configurations proven offline on many tables, tried after the defaults.

``portfolio.json`` beside this module is data, written by ``python -m benchmarks.portfolio``:
every candidate configuration (each portfolio learner's defaults and random points of its
search space) was cross-validated on tables that ship with packages (none of them in the
benchmark suite), and the list is the greedy order that adds most, over those tables, to what
the defaults already reach (the zero-shot portfolios of auto-sklearn 2.0, TabRepo and
``flaml.default``). Its ``provenance`` records the command, the tables and the measured gain.

A configuration runs only where its learner is in the search and every value lies in the
learner's space at this table's size: the space is the contract, the file only an order.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

PORTFOLIO_FILE = "portfolio.json"
ORIGIN = "portfolio"


@functools.cache
def _portfolio() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath(PORTFOLIO_FILE).read_text())


def portfolio_configs(task: str) -> list[tuple[str, dict[str, Any]]]:
    """``(learner name, params)`` of ``task``'s learned portfolio, best first (none for a task
    it was not built for)."""
    return [
        (entry["learner"], dict(entry["params"]))
        for entry in _portfolio()["portfolios"].get(task, [])
    ]


def in_space(params: dict[str, Any], space: dict[str, Any]) -> bool:
    """Whether ``params`` name exactly ``space``'s hyperparameters, each value inside its
    domain (a space narrowed for a small table leaves some configurations out)."""
    return set(params) == set(space) and all(space[k].contains(v) for k, v in params.items())
