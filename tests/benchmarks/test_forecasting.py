"""The forecasting benchmark's held-out windows: each origin holds out an earlier horizon and
the methods only ever see the history before it."""

from __future__ import annotations

import pandas as pd

from benchmarks import forecasting


def test_origins_hold_out_successive_windows_and_write_a_table(tmp_path):
    times = pd.date_range("2020-01-01", periods=40, freq="MS")
    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": key,
                    "ds": times,
                    "y": [float((i % 12) * (1 + k) + i) for i in range(40)],
                }
            )
            for k, key in enumerate(["a", "b"])
        ],
        ignore_index=True,
    )
    seen = []

    def last_value(train, test, m, h, freq):
        seen.append((train["ds"].max(), test["ds"].min()))
        return pd.Series(train.groupby("unique_id")["y"].last().repeat(h).to_numpy())

    methods = {"seasonal_naive": forecasting.seasonal_naive, "naive": last_value}
    results = []
    for origin in range(3):
        kept = frame.groupby("unique_id").head(-origin * 4) if origin else frame
        results += forecasting._run_set("toy", kept, "MS", 12, 4, origin, False, methods)

    # Origin k's window starts 4 k months before the last one; training ends right before it.
    assert [start for _, start in seen] == [times[36], times[32], times[28]]
    assert all(end < start for end, start in seen)
    naive = [r for r in results if r["method"] == "seasonal_naive"]
    # Cycle plus a trend of 12 a year: seasonal naive is off by exactly its in-sample error.
    assert [r["mean_mase"] for r in naive] == [1.0, 1.0, 1.0]

    forecasting.write_origins(results, tmp_path / "origins", 3)
    table = (tmp_path / "origins.md").read_text()
    assert "| seasonal_naive | 1.000 | 1.000 | 1.000 | 1.000 |" in table
    assert "| naive | 0.521 | 0.521 | 0.979 | 0.674 |" in table
    assert table.index("| naive |") < table.index("| seasonal_naive")  # best mean first


def test_rerunning_some_methods_replaces_only_their_rows(tmp_path):
    import json

    row = {"set": "toy", "origin": 0, "n_series": 2, "horizon": 4, "error": None}
    old = [
        {**row, "method": "seasonal_naive", "mean_mase": 1.0},
        {**row, "method": "mlflow_automl_60s", "mean_mase": 0.9},
    ]
    previous = tmp_path / "results.json"
    previous.write_text(json.dumps({"meta": {}, "results": old}))
    new = [{**row, "method": "mlflow_automl_60s", "mean_mase": 0.8}]
    merged = forecasting.merge_results(previous, new)
    assert [(r["method"], r["mean_mase"]) for r in merged] == [
        ("seasonal_naive", 1.0),
        ("mlflow_automl_60s", 0.8),
    ]
    assert forecasting.merge_results(tmp_path / "missing.json", new) == new
