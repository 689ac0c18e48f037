"""The only package that talks to MLflow tracking.

This module writes and reads AutoML experiments; ``experiment.py`` holds the Azure-style
``Experiment`` / ``Run`` logging API and ``history.py`` the run-history queries, all on MLflow.

An AutoML experiment is one MLflow run (the *parent*); each trial is a child run tagged with
``mlflow.parentRunId``. Child runs are written with one ``log_batch`` each (params, metrics and
tags together), because one call per value costs far more on every store.

Tags written here (``automl.*``) are how a finished experiment is read back by
:class:`mlflow_automl.run.AutoMLRun`.

Every writing call is timed (``@_timed``): the AutoML run records the wall seconds it spent in
MLflow as the ``tracking_seconds`` metric (and ``tracking_fraction`` of the run's duration, and
per call in the ``automl.tracking_seconds_by_call`` tag), so the cost of tracking is measured on
every experiment, not estimated.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import queue
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from mlflow_automl.tracking import journal as _journal

logger = logging.getLogger(__name__)

# Tag names: one definition, read and written through these constants only.
TAG_KIND = "automl.kind"  # "experiment" on the parent, "trial" on children
TAG_ITERATION = "automl.iteration"
TAG_LEARNER = "automl.learner"
TAG_PIPELINE = "automl.pipeline"
TAG_STATUS = "automl.status"
TAG_ORIGIN = "automl.origin"
TAG_ERROR = "automl.error"
TAG_TASK = "automl.task"
TAG_METRIC = "automl.primary_metric"
TAG_BEST_CHILD = "automl.best_child_run_id"
TAG_BEST_ITERATION = "automl.best_iteration"
TAG_MODEL_URI = "automl.best_model_uri"
TAG_STOP_REASON = "automl.stop_reason"
TAG_FINAL_MODEL_RULE = "automl.final_model_rule"  # why the final model is not the top score
TAG_VERSION = "automl.version"
TAG_LABEL = "automl.label_column"
TAG_REGISTERED = "automl.registered_model"
TAG_ONNX_URI = "automl.onnx_model_uri"
TAG_ONNX_STATUS = "automl.onnx_status"
TAG_ONNX_ERROR = "automl.onnx_error"
TAG_DROPPED_SETTINGS = "automl.dropped_settings"  # settings given but not used, and why
TAG_INSIGHTS_ERROR = "automl.insights_error"  # charts/explanation failed; the model is fine
TAG_PARAMS_JSON = "automl.params_json"  # a child's hyperparameters with their types, for resume
# Where a trial ran, when its executor knows (Ray: node and worker ids).
TAG_NODE_ID = "automl.node_id"
TAG_WORKER_ID = "automl.worker_id"
# `mlflow run -b ray`: the Ray job that runs the project's run, and the cluster it went to.
TAG_RAY_JOB_ID = "automl.ray_job_id"
TAG_RAY_ADDRESS = "automl.ray_address"
TAG_RESUMED = "automl.resumed"  # how many times the experiment was continued
# JSON {work: reason} of optional work left out for lack of time (ensembles, charts, ...).
TAG_SKIPPED = "automl.skipped"
# How the final model was fitted: on all final rows, or a fallback when that could not finish.
TAG_FINAL_MODEL_FIT = "automl.final_model_fit"
ONNX_MODEL_NAME = "onnx_model"

EXPERIMENT_KIND_TAG = "mlflow.experimentKind"

LEADERBOARD_FILE = "leaderboard.json"
FEATURIZATION_FILE = "featurization_summary.json"
GUARDRAILS_FILE = "guardrails.json"
BEST_SCORE_METRIC = "best_score"
# Wall seconds the experiment spent in MLflow calls, and their share of the run's duration.
TRACKING_SECONDS_METRIC = "tracking_seconds"
TRACKING_FRACTION_METRIC = "tracking_fraction"
TAG_TRACKING_BY_CALL = "automl.tracking_seconds_by_call"
# Seconds of MLflow calls made by the background writer during the search (off the search's path).
TRACKING_BACKGROUND_SECONDS_METRIC = "tracking_background_seconds"
MODEL_NAME = "model"

# MLflow's HTTP client retries a call for ~4 minutes by default (7 retries, backoff factor 2);
# during an experiment a call to a dead server gives up after ~2 s (unless the user set these),
# and what the background writer could not write goes to the journal.
_BOUNDED_HTTP_RETRIES = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
}
# How long ending the run waits for the background writer before journaling what it holds.
_FINISH_FLUSH_S = 5.0
# While the server is unreachable, it is asked again at most this often.
_PROBE_EVERY_S = 1.0

_MAX_PARAMS_PER_BATCH = 100
_MAX_PARAM_LENGTH = 6000
_MAX_TAG_LENGTH = 5000


# --- timing of MLflow calls ----------------------------------------------------------------------
_clock = threading.local()


def seconds_in_mlflow() -> dict[str, float]:
    """Wall seconds this thread has spent so far in this package's timed MLflow calls, by call."""
    if not hasattr(_clock, "calls"):
        _clock.calls = {}
    return _clock.calls


def _timed(function: Callable) -> Callable:
    """Adds the wall time of ``function`` to this thread's clock; nested timed calls count once."""

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        depth = getattr(_clock, "depth", 0)
        _clock.depth = depth + 1
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _clock.depth = depth
            if depth == 0:
                calls = seconds_in_mlflow()
                elapsed = time.perf_counter() - started
                calls[function.__name__] = calls.get(function.__name__, 0.0) + elapsed

    return timed


def client() -> MlflowClient:
    return MlflowClient()


def tracking_uri() -> str:
    return mlflow.get_tracking_uri()


_CALLERS_ACTIVE_RUN = object()  # look the active run up in this thread


def resolve_experiment(
    experiment_name: str | None,
    parent_run_id: str | None = None,
    active: Any = _CALLERS_ACTIVE_RUN,
) -> tuple[str, str | None]:
    """The experiment to log into, and the run to nest under.

    That run is ``parent_run_id`` when given (its experiment wins), else the active run (if the
    user has one in that experiment). MLflow's active run is per thread: code running for the
    caller on another thread passes the caller's as ``active``.
    """
    if parent_run_id is not None:
        return get_run(parent_run_id).info.experiment_id, parent_run_id
    if active is _CALLERS_ACTIVE_RUN:
        active = mlflow.active_run()
    if experiment_name is None:
        if active is not None:
            return active.info.experiment_id, active.info.run_id
        experiment_name = "automl"
    experiment = mlflow.get_experiment_by_name(experiment_name)
    if experiment is None:
        # The kind makes the MLflow UI open the experiment on its training-runs view.
        try:
            experiment_id = client().create_experiment(
                experiment_name, tags={EXPERIMENT_KIND_TAG: "custom_model_development"}
            )
        except mlflow.exceptions.MlflowException:
            # Another process created it since we looked (two experiments starting together).
            experiment = mlflow.get_experiment_by_name(experiment_name)
            if experiment is None:
                raise
            experiment_id = experiment.experiment_id
    elif experiment.lifecycle_stage == "deleted":
        raise ValueError(
            f"experiment {experiment_name!r} is deleted; restore it or choose another name."
        )
    else:
        experiment_id = experiment.experiment_id
    nest_under = (
        active.info.run_id
        if active is not None and active.info.experiment_id == experiment_id
        else None
    )
    return experiment_id, nest_under


class ExperimentTracker:
    """Writes one AutoML experiment (parent run + child runs) to the current tracking store."""

    def __init__(self, experiment_id: str, parent_run_id: str, run_name: str) -> None:
        self.experiment_id = experiment_id
        self.run_id = parent_run_id
        self.run_name = run_name
        self._client = client()
        self._started = time.perf_counter()
        self._clock_at_start = dict(seconds_in_mlflow())
        # One writer thread for the search's child runs: they are written while the next trial
        # runs, in order, and a single writer never contends with itself for the SQLite lock.
        # A daemon thread, so that a write stuck on a dead server never holds the process.
        self._writer: threading.Thread | None = None
        self._jobs: queue.Queue = queue.Queue()
        self._unsettled: list[_Job] = []
        self._lock = threading.Lock()
        self._background_seconds = 0.0
        self._uri = tracking_uri()
        self.journal = _journal.Journal(self._uri, experiment_id, parent_run_id, run_name)
        self._offline_since: float | None = None
        self._last_probe = 0.0
        self.reopened = False  # a continued run: its tables exist already

    @property
    def tracking_seconds_by_call(self) -> dict[str, float]:
        """Wall seconds this experiment has spent in MLflow calls so far (this thread), by call."""
        before = self._clock_at_start
        spent = {k: v - before.get(k, 0.0) for k, v in seconds_in_mlflow().items()}
        return {k: v for k, v in spent.items() if v > 0}

    @classmethod
    @_timed
    def start(
        cls,
        experiment_name: str | None,
        settings: dict[str, Any],
        tags: dict[str, str],
        run_name: str | None = None,
        parent_run_id: str | None = None,
        active_run: Any = _CALLERS_ACTIVE_RUN,
    ) -> ExperimentTracker:
        started, clock = time.perf_counter(), dict(seconds_in_mlflow())
        sync_journal(quiet=True)  # what an earlier outage kept back, now that we are here
        experiment_id, nest_under = resolve_experiment(experiment_name, parent_run_id, active_run)
        run_name = run_name or f"AutoML_{time.strftime('%Y%m%d_%H%M%S')}"
        all_tags = {MLFLOW_RUN_NAME: run_name, TAG_KIND: "experiment", **tags}
        if nest_under:
            all_tags[MLFLOW_PARENT_RUN_ID] = nest_under
        run = client().create_run(experiment_id, tags=all_tags, run_name=run_name)
        tracker = cls(experiment_id, run.info.run_id, run_name)
        tracker._started, tracker._clock_at_start = started, clock
        tracker.log_params(run.info.run_id, settings)
        return tracker

    @classmethod
    @_timed
    def reopen(cls, run_id: str) -> ExperimentTracker:
        """The tracker of an ended AutoML run, set RUNNING again to continue it."""
        started, clock = time.perf_counter(), dict(seconds_in_mlflow())
        sync_journal(run_id, quiet=True)
        run = client().get_run(run_id)
        tracker = cls(run.info.experiment_id, run_id, run.info.run_name)
        tracker._started, tracker._clock_at_start = started, clock
        tracker.reopened = True
        resumed = int(run.data.tags.get(TAG_RESUMED, "0")) + 1
        tracker._client.update_run(run_id, status="RUNNING")
        tracker.set_tags({TAG_RESUMED: resumed})
        return tracker

    @classmethod
    def start_in_thread(cls, *args: Any, **kwargs: Any) -> Callable[[], ExperimentTracker]:
        """:meth:`start` on another thread, so the caller can start the first trial meanwhile
        (a new SQLite store's tables take 4-7 s to create on a busy machine). Returns a function
        that waits for the tracker; the start's time then counts on the caller's clock."""
        clock = dict(seconds_in_mlflow())
        kwargs.setdefault("active_run", mlflow.active_run())  # per thread: the caller's

        def start() -> tuple[ExperimentTracker, dict[str, float]]:
            return cls.start(*args, **kwargs), dict(seconds_in_mlflow())

        pool = ThreadPoolExecutor(1, thread_name_prefix="mlflow-automl-start")
        future = pool.submit(start)
        pool.shutdown(wait=False)

        def result() -> ExperimentTracker:
            tracker, spent = future.result()
            calls = seconds_in_mlflow()
            for name, seconds in spent.items():
                calls[name] = calls.get(name, 0.0) + seconds
            tracker._clock_at_start = clock
            return tracker

        return result

    # --- parent run -----------------------------------------------------------------------------
    @_timed
    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        items = [Param(k, _param_value(v)) for k, v in params.items() if v is not None]
        for start in range(0, len(items), _MAX_PARAMS_PER_BATCH):
            self._client.log_batch(run_id, params=items[start : start + _MAX_PARAMS_PER_BATCH])

    @_timed
    def set_tags(self, tags: dict[str, Any], run_id: str | None = None) -> None:
        items = [RunTag(k, _tag_value(v)) for k, v in tags.items() if v is not None]
        self._client.log_batch(run_id or self.run_id, tags=items)

    @_timed
    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        """On the AutoML run (journaled while the server is unreachable)."""
        self._or_journal(self._log_metrics, "log_metrics", metrics=metrics, step=step)

    def _log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        log_metrics(self.run_id, metrics, step)

    @_timed
    def log_training_dataset(
        self, frame: pd.DataFrame, label: str, source: str, name: str = "training_data"
    ) -> None:
        from mlflow.entities import DatasetInput, InputTag
        from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

        entity = dataset_entity(frame, label, source if "/" in source else None, name)
        training = InputTag(MLFLOW_DATASET_CONTEXT, "training")
        self._client.log_inputs(self.run_id, datasets=[DatasetInput(entity, tags=[training])])

    @_timed
    def log_table(self, frame: pd.DataFrame, artifact_file: str) -> None:
        if self.reopened:  # MLflow's log_table appends to an existing table: replace it
            text = frame.to_json(orient="split", index=False)
            self._client.log_text(self.run_id, text, artifact_file)
            return
        self._client.log_table(self.run_id, data=frame, artifact_file=artifact_file)

    def finish(self, status: str = "FINISHED", stop_reason: str | None = None) -> None:
        """Writes what the background writer still holds (or journals it within a few
        seconds), records the time spent in MLflow (this call's last write excepted), ends the
        run (``stop_reason``: why it was stopped, which wins over the search's own reason)."""
        with suppress(Exception):  # never mask the experiment's own outcome
            self.flush(deadline=time.time() + _FINISH_FLUSH_S)
        by_call = self.tracking_seconds_by_call
        seconds = sum(by_call.values())
        wall = time.perf_counter() - self._started
        now = _now_ms()
        metrics = {
            TRACKING_SECONDS_METRIC: seconds,
            TRACKING_FRACTION_METRIC: seconds / wall,
            TRACKING_BACKGROUND_SECONDS_METRIC: self._background_seconds,
        }
        tags = {TAG_TRACKING_BY_CALL: json.dumps(_rounded(by_call)), TAG_STOP_REASON: stop_reason}
        if self.offline and not self._reachable_again():
            self.journal.append("end_run", (status, now, metrics, tags), {})
        else:
            try:
                self._end_run(status, now, metrics, tags)
            except Exception as exc:
                if not _journal.is_connection_error(exc):
                    raise
                self._went_offline(exc)
                self.journal.append("end_run", (status, now, metrics, tags), {})
        if self.journal.n_records:
            logger.warning(
                "%d write(s) of AutoML run %s are kept in %s: they are written when the "
                "tracking server is back, on the next submit() or AutoMLRun() against it, "
                "or now with `mlflow-automl sync`.",
                self.journal.n_records,
                self.run_id,
                self.journal.path,
            )

    def _end_run(
        self, status: str, end_ms: int, metrics: dict[str, float], tags: dict[str, Any]
    ) -> None:
        self._client.log_batch(
            self.run_id,
            metrics=[Metric(k, float(v), end_ms, 0) for k, v in metrics.items()],
            tags=[RunTag(k, _tag_value(v)) for k, v in tags.items() if v is not None],
        )
        self._client.set_terminated(self.run_id, status=status, end_time=end_ms)

    # --- tracking server outages ------------------------------------------------------------------
    @property
    def offline(self) -> bool:
        """Whether the tracking server was unreachable at the last write."""
        return self._offline_since is not None

    def unavailable_error(self, cause: BaseException) -> RuntimeError:
        """The error an experiment ends with when the server is gone at a write it needs."""
        return RuntimeError(
            f"the tracking server {self._uri} is unreachable ({cause.__class__.__name__}); "
            f"AutoML run {self.run_id} could not be completed. Its finished child runs are kept "
            f"in {self.journal.path} ({self.journal.n_records} write(s)) and are written when "
            "the server is back: on the next submit() or AutoMLRun() against it, or with "
            "`mlflow-automl sync`."
        )

    def _went_offline(self, error: BaseException) -> None:
        if self._offline_since is None:
            self._offline_since = time.time()
            self._last_probe = time.time()
            logger.warning(
                "the tracking server %s is unreachable (%s): child runs are kept in %s until "
                "it is back; the experiment goes on.",
                self._uri,
                error.__class__.__name__,
                self.journal.path,
            )

    def _reachable_again(self) -> bool:
        """Asks the server again (at most once a second while it is down)."""
        if time.time() - self._last_probe < _PROBE_EVERY_S:
            return False
        self._last_probe = time.time()
        if not _journal.reachable(self._uri):
            return False
        logger.warning(
            "the tracking server %s is reachable again after %.0f s.",
            self._uri,
            time.time() - self._offline_since,
        )
        self._offline_since = None
        return True

    # --- background writes during the search -----------------------------------------------------
    def in_background(self, write: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Runs ``write`` (a method of this tracker) on the writer thread; its result (e.g. a
        child run id; None when the write went to the journal) comes from the returned future.
        Call :meth:`flush` before reading back."""
        job = _Job(write, args, kwargs)
        with self._lock:
            self._unsettled.append(job)
        if self._writer is None:
            self._writer = threading.Thread(
                target=self._write_loop,
                args=(self._jobs,),
                name="mlflow-automl-tracking",
                daemon=True,
            )
            self._writer.start()
        self._jobs.put(job)
        return job.future

    def _write_loop(self, jobs: queue.Queue) -> None:
        while True:
            job = jobs.get()
            if job is None:
                return
            if job.future.done():  # journaled by a flush that could not wait
                continue
            started = time.perf_counter()
            try:
                if self.offline and not self._reachable_again():
                    self._settle(job, journal=True)
                    continue
                result = job.write(*job.args, **job.kwargs)
            except Exception as exc:
                if _journal.is_connection_error(exc):
                    self._went_offline(exc)
                else:
                    logger.warning("a background write failed: %s", exc)
                self._settle(job, journal=True)
                continue
            finally:
                self._background_seconds += time.perf_counter() - started
            self._settle(job, result=result)

    def _settle(self, job: _Job, result: Any = None, journal: bool = False) -> None:
        with self._lock:
            if job.future.done():
                return
            if journal:
                self.journal.append(job.write.__name__, job.args, job.kwargs)
            job.future.set_result(result)
            self._unsettled.remove(job)

    def flush(self, deadline: float | None = None) -> None:
        """Waits until every background write is done, or until ``deadline`` (a wall-clock
        time), after which what is left goes to the journal (the wait counts as tracking
        time)."""
        if self._writer is not None:
            self.wait_for_background_writes(deadline)

    @_timed
    def wait_for_background_writes(self, deadline: float | None = None) -> None:
        with self._lock:
            pending = [job.future for job in self._unsettled]
        timeout = None if deadline is None else max(0.0, deadline - time.time())
        futures.wait(pending, timeout=timeout)
        with self._lock:
            late = list(self._unsettled)
        for job in late:
            self._settle(job, journal=True)
        if late:
            logger.warning(
                "%d background write(s) were not done by the deadline: kept in %s",
                len(late),
                self.journal.path,
            )
        self._jobs.put(None)  # the thread ends once it is free (at once, unless a write hangs)
        self._writer = None
        self._jobs = queue.Queue()

    # --- writing back the journal -----------------------------------------------------------------
    def replay(self, call: str, args: list[Any], kwargs: dict[str, Any]) -> None:
        """Writes one journaled record (see ``journal.py``); a child run already there is not
        written again."""
        if call == "log_trial":
            iteration = kwargs.get("iteration", args[0] if args else None)
            existing = self._child_for(iteration)
            if existing is None:
                self._log_trial(*args, **kwargs)
            elif existing.info.status == "RUNNING":  # created before the outage, not completed
                self._log_trial(*args, run_id=existing.info.run_id, **kwargs)
            self._tag_best_child(iteration)
        elif call == "log_metrics":
            self._log_metrics(*args, **kwargs)
        elif call == "end_run":
            self._end_run(*args, **kwargs)
        else:
            raise ValueError(f"unknown journaled call {call!r}")

    def _child_for(self, iteration: int) -> Any | None:
        runs = self._client.search_runs(
            [self.experiment_id],
            filter_string=(
                f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{self.run_id}' "
                f"and tags.`{TAG_ITERATION}` = '{iteration}'"
            ),
            max_results=1,
        )
        return runs[0] if runs else None

    def _tag_best_child(self, iteration: int) -> None:
        """The parent names its best child run once that run exists."""
        tags = self._client.get_run(self.run_id).data.tags
        if tags.get(TAG_BEST_ITERATION) == str(iteration) and not tags.get(TAG_BEST_CHILD):
            self.set_tags({TAG_BEST_CHILD: self._child_for(iteration).info.run_id})

    # --- child runs -----------------------------------------------------------------------------
    @_timed
    def log_trial(
        self,
        iteration: int,
        params: dict[str, Any],
        metrics: dict[str, float],
        tags: dict[str, Any],
        started_at: float,
        ended_at: float,
        succeeded: bool,
    ) -> str | None:
        """Creates one finished child run with everything in a single batch; returns its id,
        or None when the tracking server is unreachable and the run went to the journal."""
        return self._or_journal(
            self._log_trial,
            "log_trial",
            iteration=iteration,
            params=params,
            metrics=metrics,
            tags=tags,
            started_at=started_at,
            ended_at=ended_at,
            succeeded=succeeded,
        )

    def _or_journal(self, write: Callable[..., Any], call: str, **kwargs: Any) -> Any:
        """``write(**kwargs)``, or, while the server is unreachable, a journal record of it."""
        if self.offline and not self._reachable_again():
            self.journal.append(call, (), kwargs)
            return None
        try:
            return write(**kwargs)
        except Exception as exc:
            if not _journal.is_connection_error(exc):
                raise
            self._went_offline(exc)
            self.journal.append(call, (), kwargs)
            return None

    def _log_trial(
        self,
        iteration: int,
        params: dict[str, Any],
        metrics: dict[str, float],
        tags: dict[str, Any],
        started_at: float,
        ended_at: float,
        succeeded: bool,
        run_id: str | None = None,
    ) -> str:
        """``run_id``: a child run of this iteration that was created, but not completed."""
        if run_id is None:
            name = f"{self.run_name}_{iteration}"
            run = self._client.create_run(
                self.experiment_id,
                start_time=int(started_at * 1000),
                # The iteration from the start: a journal replay finds a half-written run.
                tags={
                    MLFLOW_PARENT_RUN_ID: self.run_id,
                    MLFLOW_RUN_NAME: name,
                    TAG_KIND: "trial",
                    TAG_ITERATION: str(iteration),
                },
                run_name=name,
            )
            run_id = run.info.run_id
        end_ms = int(ended_at * 1000)
        self._client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), end_ms, 0) for k, v in metrics.items()],
            params=[Param(k, _param_value(v)) for k, v in params.items()][:_MAX_PARAMS_PER_BATCH],
            tags=[RunTag(k, _tag_value(v)) for k, v in tags.items() if v is not None]
            + [RunTag(TAG_PARAMS_JSON, _tag_value(json.dumps(params, default=_plain)))],
        )
        self._client.set_terminated(
            run_id, status="FINISHED" if succeeded else "FAILED", end_time=end_ms
        )
        return run_id

    # --- the best model -------------------------------------------------------------------------
    @_timed
    def log_model(
        self,
        model: Any,
        input_example: pd.DataFrame,
        signature_output: Any,
        named_inputs: bool = True,
    ) -> str:
        """Logs the fitted model (sklearn + pyfunc flavors) into this run's experiment; returns
        its ``models:/`` URI.

        The signature names the input columns with type Any: the model's own input check
        (``mlflow_automl.inputs``) decides what a column accepts, because MLflow's type check
        refuses inputs the model handles (NaN in an integer column, integers for a float column,
        tz-aware datetimes). ``named_inputs=False`` (training columns were not strings, e.g.
        numpy-made frames): no input schema, since MLflow matches columns by exact name.
        """
        from mlflow.models import infer_signature

        import mlflow_automl

        package_dir = Path(mlflow_automl.__file__).parent
        with warnings.catch_warnings():
            # MLflow's hint about integer columns and missing values: the training data's own
            # dtypes are the contract users expect.
            warnings.simplefilter("ignore", UserWarning)
            signature = infer_signature(input_example, signature_output)
            signature.inputs = _any_type_schema(input_example.columns) if named_inputs else None
            info = mlflow.sklearn.log_model(
                sk_model=model,
                name=MODEL_NAME,
                # Tree models are refused by skops; cloudpickle keeps every learner loadable.
                serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
                signature=signature,
                input_example=input_example,
                # The model's own classes travel with it, so any MLflow can load it.
                code_paths=[str(package_dir)],
                # Explicit: inferring them loads the model in a subprocess (~2 s of the budget).
                pip_requirements=_requirements(
                    "mlflow", "scikit-learn", "cloudpickle", *_LEARNER_PACKAGES
                ),
                run_id=self.run_id,  # no fluent start_run: it clashes with set_experiment()
                model_id=_new_logged_model(self.run_id, MODEL_NAME),
            )
        return info.model_uri


def _any_type_schema(columns: Iterable[Any]) -> Any:
    from mlflow.types.schema import AnyType, ColSpec, Schema

    return Schema([ColSpec(AnyType(), str(column)) for column in columns])


def _new_logged_model(run_id: str, name: str) -> str:
    """A LoggedModel in the run's own experiment; returns its id.

    ``log_model(run_id=...)`` alone files the model under the *active* experiment (Default,
    "0", unless the caller used ``set_experiment``), not the run's, so the experiment's
    artifact location, its Logged models view and per-experiment permissions were bypassed.
    ``log_model(model_id=...)`` then saves into this model and marks it READY (or FAILED).
    """
    run = client().get_run(run_id)
    # What MLflow's own log_model records: the run's params on the model.
    params = {key: str(value) for key, value in run.data.params.items()}
    model = client().create_logged_model(
        experiment_id=run.info.experiment_id,
        name=name,
        source_run_id=run_id,
        params=params,
    )
    return model.model_id


class _Job:
    """One background write and the future of its result."""

    def __init__(self, write: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> None:
        self.write, self.args, self.kwargs = write, args, kwargs
        self.future: Future = Future()


def sync_journal(run_id: str | None = None, quiet: bool = False) -> _journal.SyncResult:
    """Writes what the journal holds for the current tracking URI (one run's with ``run_id``);
    with ``quiet=True`` a server still unreachable is only logged."""
    uri = tracking_uri()
    if not _journal.pending(uri, run_id):
        return _journal.SyncResult()
    with bounded_http_retries():
        result = _journal.sync(uri, run_id)
    if result.written:
        logger.warning("wrote %d journaled write(s) to %s", result.written, uri)
    if result.left:
        message = f"{result.left} journaled write(s) could not be written to {uri} yet"
        if not quiet:
            raise RuntimeError(message + f" (journal: {_journal.journal_dir()})")
        logger.warning(message)
    return result


@contextmanager
def bounded_http_retries() -> Iterator[None]:
    """MLflow's HTTP retries bounded to a few seconds per call (see ``_BOUNDED_HTTP_RETRIES``),
    unless the user set them; process-wide while the block runs."""
    previous = {name: os.environ.get(name) for name in _BOUNDED_HTTP_RETRIES}
    for name, value in _BOUNDED_HTTP_RETRIES.items():
        os.environ.setdefault(name, value)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)


# --- datasets ------------------------------------------------------------------------------------
# Rows read for a dataset's digest and schema: MLflow's own digest hashes the first 10,000 rows
# but types every cell of the frame to find string columns, and infers the schema from every
# row; on 200k x 30 that was 3.6 s on a quiet machine and 17 s on a busy one.
DATASET_SAMPLE_ROWS = 10_000


def dataset_entity(
    frame: pd.DataFrame, label: str, source: str | None, name: str
) -> mlflow.entities.Dataset:
    """The MLflow dataset record of ``frame`` at a cost bounded by :data:`DATASET_SAMPLE_ROWS`.

    Small frames get exactly what ``mlflow.data.from_pandas`` gives. A larger frame's digest
    hashes a bounded sample (its first rows and rows spread evenly over the rest), its row count
    and column names; the schema is inferred on that sample plus one row per column with a
    missing value (so optional columns stay optional); the profile counts the whole frame.
    """
    from mlflow.entities import Dataset

    sample = frame
    digest = None
    if len(frame) > DATASET_SAMPLE_ROWS:
        half = DATASET_SAMPLE_ROWS // 2
        spread = np.linspace(half, len(frame) - 1, DATASET_SAMPLE_ROWS - half).astype(int)
        missing = frame.isna().to_numpy()
        first_missing = missing.argmax(axis=0)[missing.any(axis=0)]
        positions = np.unique(np.concatenate([np.arange(half), spread, first_missing]))
        sample = frame.iloc[positions]
        digest = _frame_digest(sample, len(frame))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # MLflow's integer-column schema hint
        dataset = mlflow.data.from_pandas(
            sample, source=source, targets=label, name=name, digest=digest
        )
        fields = dataset.to_dict()  # the schema is inferred here
    profile = json.dumps({"num_rows": len(frame), "num_elements": int(frame.size)})
    return Dataset(
        name=fields["name"],
        digest=fields["digest"],
        source_type=fields["source_type"],
        source=fields["source"],
        schema=fields.get("schema"),
        profile=profile,
    )


def _frame_digest(sample: pd.DataFrame, n_rows: int) -> str:
    """MLflow's pandas digest (hashed string and number columns, row count, column names), of
    ``sample`` standing for a frame of ``n_rows``."""
    from mlflow.data.digest_utils import get_normalized_md5_digest

    strings = sample.columns[(sample.map(type) == str).all(0)]  # noqa: E721 (as MLflow)
    numbers = sample.select_dtypes(include=[np.number]).columns
    hashed = sample[strings.union(numbers)]
    return get_normalized_md5_digest(
        [pd.util.hash_pandas_object(hashed).values, np.int64(n_rows)]
        + [str(c).encode() for c in sample.columns]
    )


# --- any run -------------------------------------------------------------------------------------
CHARTS_DIR = "charts"


@_timed
def log_metrics(run_id: str, metrics: dict[str, float], step: int = 0) -> None:
    """All of ``metrics`` on ``run_id`` in one batch."""
    now = _now_ms()
    items = [Metric(k, float(v), now, step) for k, v in metrics.items()]
    client().log_batch(run_id, metrics=items)


@_timed
def log_charts(run_id: str, charts: Iterable[Any], directory: str = CHARTS_DIR) -> dict[str, str]:
    """Each chart as ``<directory>/<name>.png`` and ``<name>.json`` in one upload.

    Returns ``{artifact path: artifact URI}`` of what was written.
    """
    paths = []
    with tempfile.TemporaryDirectory() as tmp:
        for chart in charts:
            (Path(tmp) / f"{chart.name}.png").write_bytes(chart.png)
            (Path(tmp) / f"{chart.name}.json").write_text(json.dumps(chart.data))
            paths += [f"{directory}/{chart.name}.png", f"{directory}/{chart.name}.json"]
        client().log_artifacts(run_id, tmp, directory)
    root = client().get_run(run_id).info.artifact_uri
    return {path: f"{root}/{path}" for path in paths}


# --- pipeline step runs ---------------------------------------------------------------------------
TAG_STEP = "automl.pipeline_step"
TAG_FINGERPRINT = "automl.step_fingerprint"
TAG_REUSED_FROM = "automl.reused_from"
TAG_OUTPUT_PREFIX = "automl.output."


def current_run() -> Any | None:
    """The active run, or the run that launched this process (``mlflow run`` sets
    ``MLFLOW_RUN_ID``); None outside any run."""
    active = mlflow.active_run()
    if active is not None:
        return active
    run_id = os.environ.get("MLFLOW_RUN_ID")
    return client().get_run(run_id) if run_id else None


def create_run(experiment_id: str, name: str, tags: dict[str, str], parent_id: str | None) -> str:
    all_tags = {MLFLOW_RUN_NAME: name, **tags}
    if parent_id:
        all_tags[MLFLOW_PARENT_RUN_ID] = parent_id
    return client().create_run(experiment_id, tags=all_tags, run_name=name).info.run_id


def finish_run(run_id: str, status: str = "FINISHED") -> None:
    client().set_terminated(run_id, status=status)


@_timed
def set_run_tags(run_id: str, tags: dict[str, Any]) -> None:
    items = [RunTag(k, _tag_value(v)) for k, v in tags.items() if v is not None]
    client().log_batch(run_id, tags=items)


def upload_dir(run_id: str, local_dir: str | Path, artifact_path: str) -> str:
    """Uploads a folder; returns its ``runs:/`` URI."""
    client().log_artifacts(run_id, str(local_dir), artifact_path)
    return f"runs:/{run_id}/{artifact_path}"


def download(artifact_uri: str, destination: str | Path) -> str:
    """Downloads a ``runs:/`` (or any artifact) URI into ``destination``; returns the local path."""
    quiet = _env("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    with quiet:
        return mlflow.artifacts.download_artifacts(artifact_uri, dst_path=str(destination))


def find_finished_run(experiment_id: str, tags: dict[str, str]) -> Any | None:
    """The newest finished run of the experiment carrying all of ``tags``, if any."""
    conditions = [f"tags.`{k}` = '{v}'" for k, v in tags.items()]
    conditions.append("attributes.status = 'FINISHED'")
    runs = client().search_runs(
        [experiment_id],
        filter_string=" and ".join(conditions),
        max_results=1,
        order_by=["attributes.start_time DESC"],
    )
    return runs[0] if runs else None


@_timed
def register_model(
    model_uri: str,
    name: str,
    alias: str | None = None,
    tags: dict[str, Any] | None = None,
) -> str:
    """Registers ``model_uri`` as a new version of ``name``; returns the version number.

    ``alias`` is moved to the new version (older versions stay); ``tags`` go on the version.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        version = mlflow.register_model(model_uri, name).version
    for key, value in (tags or {}).items():
        client().set_model_version_tag(name, version, key, _tag_value(value))
    if alias:
        client().set_registered_model_alias(name, alias, version)
    return version


@_timed
def log_onnx_model(run_id: str, onnx_model: Any, signature: Any) -> str:
    """Logs an ONNX graph with MLflow's onnx flavor; returns its ``models:/`` URI."""
    import mlflow.onnx

    info = mlflow.onnx.log_model(
        onnx_model,
        name=ONNX_MODEL_NAME,
        signature=signature,
        pip_requirements=_requirements("mlflow", "onnx", "onnxruntime", "numpy", "pandas"),
        run_id=run_id,
        model_id=_new_logged_model(run_id, ONNX_MODEL_NAME),
    )
    return info.model_uri


def load_onnx_model(model_uri: str) -> Any:
    import mlflow.onnx

    return mlflow.onnx.load_model(model_uri)


# --- reading back -------------------------------------------------------------------------------
def get_run(run_id: str) -> Any:
    return client().get_run(run_id)


def reopen_status(run_id: str, status: str) -> None:
    """Ends ``run_id`` again with ``status`` (a failed continuation before any new trial)."""
    client().set_terminated(run_id, status=status)


def training_dataset(run_id: str) -> tuple[str | None, str] | None:
    """(source path or None, digest) of the training dataset logged on ``run_id``."""
    for dataset_input in get_run(run_id).inputs.dataset_inputs:
        dataset = dataset_input.dataset
        try:
            uri = json.loads(dataset.source).get("uri")
        except (TypeError, ValueError, AttributeError):
            uri = None
        return uri, dataset.digest
    return None


def training_data_digest(frame: pd.DataFrame, label: str, source: str) -> str:
    """The digest ``log_training_dataset`` records for this frame."""
    return dataset_entity(frame, label, source if "/" in source else None, "training_data").digest


def search_runs_by_parent(experiment_id: str, parent_run_id: str) -> list[Any]:
    """Every run of the experiment whose ``mlflow.parentRunId`` is ``parent_run_id``."""
    runs = []
    page_token = None
    while True:
        page = client().search_runs(
            [experiment_id],
            filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent_run_id}'",
            max_results=1000,
            page_token=page_token,
        )
        runs.extend(page)
        page_token = page.token
        if not page_token:
            return runs


def search_children(experiment_id: str, parent_run_id: str) -> list[Any]:
    """The trial runs of an AutoML run, in iteration order."""
    runs = search_runs_by_parent(experiment_id, parent_run_id)
    runs = [r for r in runs if r.data.tags.get(TAG_KIND) == "trial"]
    return sorted(runs, key=lambda r: int(r.data.tags.get(TAG_ITERATION, 0)))


def metric_history(run_id: str, key: str) -> list[float]:
    history = client().get_metric_history(run_id, key)
    return [m.value for m in sorted(history, key=lambda m: m.step)]


def load_table(run_id: str, artifact_file: str) -> pd.DataFrame:
    from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR

    quiet = _env(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.name, "false")
    with tempfile.TemporaryDirectory() as tmp, quiet:
        path = client().download_artifacts(run_id, artifact_file, tmp)
        payload = json.loads(Path(path).read_text())
    return pd.DataFrame(payload["data"], columns=payload["columns"])


def load_model(model_uri: str) -> Any:
    return mlflow.sklearn.load_model(model_uri)


# --- helpers ------------------------------------------------------------------------------------
@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


# What a logged model imports when it predicts, besides scikit-learn.
_LEARNER_PACKAGES = ("lightgbm", "xgboost", "pandas", "numpy", "scipy", "statsmodels", "holidays")


def _requirements(*packages: str) -> list[str]:
    """``package==installed version`` for each installed package (others are skipped)."""
    from importlib.metadata import PackageNotFoundError, version

    requirements = []
    for package in packages:
        with suppress(PackageNotFoundError):
            requirements.append(f"{package}=={version(package)}")
    return requirements


def _param_value(value: Any) -> str:
    if isinstance(value, float | np.floating):
        text = repr(float(value))
    elif isinstance(value, dict | list | tuple):
        text = json.dumps(value, default=str)
    else:
        text = str(value)
    return text[:_MAX_PARAM_LENGTH]


def _plain(value: Any) -> Any:
    """JSON for numpy scalars (hyperparameters drawn by a sampler)."""
    return value.item() if hasattr(value, "item") else str(value)


def _tag_value(value: Any) -> str:
    return str(value)[:_MAX_TAG_LENGTH]


def _rounded(seconds: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])}


def _now_ms() -> int:
    return int(time.time() * 1000)
