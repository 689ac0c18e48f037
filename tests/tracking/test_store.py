"""tracking/store.py on a real SQLite store: the one run-creation function and the one time
format, which the Azure layer and the run history share."""

from __future__ import annotations

import re

import mlflow

from mlflow_automl import Experiment, tracking
from mlflow_automl.tracking import history

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_create_run_names_nests_and_drops_missing_tags(sqlite_store):
    experiment_id = mlflow.create_experiment("store")
    parent = tracking.create_run(experiment_id, "parent", {tracking.TAG_KIND: "experiment"})
    child = tracking.create_run(
        experiment_id,
        "child",
        {tracking.TAG_ITERATION: 3, tracking.TAG_ERROR: None},
        parent_id=parent,
        start_time=1_700_000_000.25,
    )
    run = mlflow.MlflowClient().get_run(child)
    assert run.info.status == "RUNNING" and run.info.run_name == "child"
    assert run.info.start_time == 1_700_000_000_250
    assert run.data.tags[tracking.MLFLOW_PARENT_RUN_ID] == parent
    assert run.data.tags[tracking.TAG_ITERATION] == "3"
    assert tracking.TAG_ERROR not in run.data.tags
    assert tracking.MLFLOW_USER not in run.data.tags  # AutoML's own runs: no context lookup
    assert [r.info.run_id for r in tracking.search_runs_by_parent(experiment_id, parent)] == [child]


def test_create_run_with_context_tags_records_the_user_and_source(sqlite_store):
    experiment_id = mlflow.create_experiment("context")
    run_id = tracking.create_run(experiment_id, None, {}, context_tags=True)
    tags = mlflow.MlflowClient().get_run(run_id).data.tags
    assert tags[tracking.MLFLOW_USER] and tags[tracking.MLFLOW_SOURCE_NAME]


def test_iso_utc_is_milliseconds_in_utc_and_none_when_not_set():
    assert tracking.iso_utc(1_714_557_600_123) == "2024-05-01T10:00:00.123Z"
    assert tracking.iso_utc(1_714_557_600_000) == "2024-05-01T10:00:00.000Z"  # fraction kept
    assert tracking.iso_utc(None) is None and tracking.iso_utc(0) is None


def test_azure_details_and_run_history_give_the_same_times(sqlite_store):
    """One formatter: Run.get_details() and `history info` print a run's times alike (they
    were ``...123000Z`` or no fraction, and ``...123+00:00``)."""
    run = Experiment("times").start_logging(display_name="t", outputs=False)
    run.complete()
    details = run.get_details()
    info = history.run_info(run.id)
    assert details["startTimeUtc"] == info["start_time"] and ISO_UTC.match(info["start_time"])
    assert details["endTimeUtc"] == info["end_time"] and ISO_UTC.match(info["end_time"])
