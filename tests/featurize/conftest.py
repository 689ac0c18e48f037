"""Fixtures: real bundled sklearn data, plus a Titanic-like mixed-type frame derived from it.

No network: every column is derived deterministically from ``load_breast_cancer`` (numbers,
target) and its bundled DESCR text (words for names / free text), with seeded NaN injection.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer


@pytest.fixture(scope="session")
def breast_cancer() -> tuple[pd.DataFrame, pd.Series]:
    bunch = load_breast_cancer(as_frame=True)
    return bunch.data, bunch.target


def _words() -> list[str]:
    text = load_breast_cancer().DESCR
    return [w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)]


@pytest.fixture(scope="session")
def titanic_like() -> tuple[pd.DataFrame, pd.Series]:
    """569 rows shaped like Titanic: ID, Pclass, Name, Sex, Age, Ticket, Cabin, Embarked..."""
    bunch = load_breast_cancer(as_frame=True)
    data, target = bunch.data, bunch.target
    n = len(data)
    rng = np.random.default_rng(0)
    words = _words()
    radius = data["mean radius"].to_numpy()
    texture = data["mean texture"].to_numpy()
    # Cabins: ~85 distinct codes for the 30% of rows that have one.
    cabin = np.array([f"C{int(t * 3) % 85}" for t in texture], dtype=object)
    cabin[rng.random(n) < 0.7] = None
    embarked = np.select([texture < 16, texture < 22], ["S", "C"], default="Q").astype(object)
    embarked[rng.choice(n, 4, replace=False)] = None
    age = np.round(data["mean area"].to_numpy() / 30, 1)
    age[rng.random(n) < 0.2] = np.nan
    frame = pd.DataFrame(
        {
            "PassengerId": np.arange(1, n + 1),
            "Pclass": np.digitize(data["mean smoothness"], [0.09, 0.1]) + 1,
            "Name": [
                f"{words[i % len(words)].title()}, Mr. {words[(7 * i + 3) % len(words)]} "
                f"{words[(11 * i + 5) % len(words)]}"
                for i in range(n)
            ],
            "Sex": np.where(radius > np.median(radius), "male", "female"),
            "Age": age,
            "Fare": np.round(data["mean perimeter"].to_numpy(), 2),
            "Ticket": [f"PC {int(p * 10) % 250}" for p in data["worst perimeter"]],
            "Cabin": pd.Series(cabin, dtype="str"),
            "Embarked": pd.Series(embarked, dtype="str"),
            "Boarded": pd.date_range("1912-04-01", periods=n, freq="7h").astype(str),
            "Ship": "Titanic",
            "Notes": np.nan,
        }
    )
    return frame, target.rename("Survived")
