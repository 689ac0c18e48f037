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
