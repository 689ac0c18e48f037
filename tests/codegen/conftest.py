"""Data for the code-generation proofs: palmerpenguins plus a timestamp, free text and a
high-cardinality band code, so the scripts carry every featurizer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def penguins_plus(tmp_path_factory) -> str:
    """CSV path of the enriched penguins (344 rows)."""
    from palmerpenguins import load_penguins

    frame = load_penguins()
    i = np.arange(len(frame))
    stamps = pd.Timestamp("2007-11-01") + pd.to_timedelta(i * 7 % 400, "D")
    frame["observed"] = (stamps + pd.to_timedelta(i % 24, "h")).strftime("%Y-%m-%d %H:%M")
    words = np.array(["calm", "windy", "rain", "sunny", "fog", "snow", "cold", "mild"])
    frame["weather"] = [f"{words[k % 8]} {words[k * 3 % 8]} morning near nest {k % 13}" for k in i]
    frame["band"] = [f"B{k * 7 % 120:03d}" for k in i]
    frame.loc[i % 17 == 0, "band"] = None
    frame["weight"] = 1.0 + (i % 3)
    path = tmp_path_factory.mktemp("data") / "penguins_plus.csv"
    frame.to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="session")
def script_store(tmp_path_factory) -> str:
    """One SQLite store for every generated script's run (its tables are created once)."""
    return f"sqlite:///{tmp_path_factory.mktemp('scripts') / 'mlflow.db'}"
