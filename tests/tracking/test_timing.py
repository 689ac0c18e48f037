"""The tracker measures the wall time an experiment spends in MLflow and records it on the run."""

from __future__ import annotations

import json
import time

from mlflow.tracking import MlflowClient

from mlflow_automl import tracking


def test_tracker_records_its_time_in_mlflow(sqlite_store):
    started = time.perf_counter()
    tracker = tracking.ExperimentTracker.start("timing", settings={"task": "regression"}, tags={})
    for iteration in range(3):
        now = time.time()
        tracker.log_trial(iteration, {"alpha": 0.1}, {"r2_score": 0.5}, {}, now, now, True)
    tracker.log_metrics({tracking.BEST_SCORE_METRIC: 0.5})
    time.sleep(0.2)  # work outside MLflow does not count
    tracker.finish()
    wall = time.perf_counter() - started

    run = MlflowClient().get_run(tracker.run_id)
    seconds = run.data.metrics[tracking.TRACKING_SECONDS_METRIC]
    fraction = run.data.metrics[tracking.TRACKING_FRACTION_METRIC]
    by_call = json.loads(run.data.tags[tracking.TAG_TRACKING_BY_CALL])
    assert 0 < seconds < wall - 0.2
    assert 0 < fraction < 1
    # Each outermost call counted once: start() includes its log_params, the tracker's
    # log_metrics its module-level log_metrics.
    assert set(by_call) == {"start", "log_trial", "log_metrics"}
    assert abs(sum(by_call.values()) - seconds) < 0.01


def test_background_writes_are_in_order_and_off_the_callers_clock(sqlite_store):
    tracker = tracking.ExperimentTracker.start("timing", settings={"task": "regression"}, tags={})
    now = time.time()
    futures = [
        tracker.in_background(
            tracker.log_trial, i, {"alpha": i}, {"r2_score": i / 10}, {}, now, now, True
        )
        for i in range(4)
    ]
    tracker.in_background(tracker.log_metrics, {tracking.BEST_SCORE_METRIC: 0.3}, step=3)
    tracker.finish()  # writes what is still pending first

    client = MlflowClient()
    run_ids = [future.result() for future in futures]
    names = [client.get_run(run_id).info.run_name for run_id in run_ids]
    assert names == [f"{tracker.run_name}_{i}" for i in range(4)]
    run = client.get_run(tracker.run_id)
    assert run.data.metrics[tracking.TRACKING_BACKGROUND_SECONDS_METRIC] > 0
    assert run.data.metrics[tracking.BEST_SCORE_METRIC] == 0.3
    # The caller only waited for the writer; the writes themselves are not on its clock.
    assert "log_trial" not in json.loads(run.data.tags[tracking.TAG_TRACKING_BY_CALL])
