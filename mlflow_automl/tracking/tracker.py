"""The writer of one AutoML experiment: the parent run, a child run per trial (written on a
background thread, journaled while the server is unreachable), the best model.

An AutoML experiment is one MLflow run (the *parent*); each trial is a child run tagged with
``mlflow.parentRunId``. Child runs are written with one ``log_batch`` each (params, metrics and
tags together), because one call per value costs far more on every store. The tags it writes
(``tags.py``) are how a finished experiment is read back by ``azureml.AutoMLRun``.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import warnings
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.entities import Metric, Param, RunTag

from mlflow_automl.tracking import journal as _journal
from mlflow_automl.tracking import store
from mlflow_automl.tracking.datasets import dataset_entity
from mlflow_automl.tracking.store import (
    _CALLERS_ACTIVE_RUN,
    _LEARNER_PACKAGES,
    _MAX_PARAMS_PER_BATCH,
    MODEL_NAME,
    _any_type_schema,
    _new_logged_model,
    _now_ms,
    _param_value,
    _plain,
    _requirements,
    _rounded,
    _tag_value,
    _timed,
    bounded_http_retries,
    client,
    create_run,
    log_params,
    resolve_experiment,
    seconds_in_mlflow,
    set_run_tags,
    tracking_uri,
)
from mlflow_automl.tracking.tags import (
    MLFLOW_DATASET_CONTEXT,
    MLFLOW_PARENT_RUN_ID,
    TAG_BEST_CHILD,
    TAG_BEST_ITERATION,
    TAG_ITERATION,
    TAG_KIND,
    TAG_PARAMS_JSON,
    TAG_RESUMED,
    TAG_STOP_REASON,
    TAG_TRACKING_BY_CALL,
    TRACKING_BACKGROUND_SECONDS_METRIC,
    TRACKING_FRACTION_METRIC,
    TRACKING_SECONDS_METRIC,
)

logger = logging.getLogger(__name__)

# How long ending the run waits for the background writer before journaling what it holds.
_FINISH_FLUSH_S = 5.0
# While the server is unreachable, it is asked again at most this often.
_PROBE_EVERY_S = 1.0


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
        run_id = create_run(
            experiment_id, run_name, {TAG_KIND: "experiment", **tags}, parent_id=nest_under
        )
        tracker = cls(experiment_id, run_id, run_name)
        tracker._started, tracker._clock_at_start = started, clock
        tracker.log_params(run_id, settings)
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
        log_params(run_id, params)

    @_timed
    def set_tags(self, tags: dict[str, Any], run_id: str | None = None) -> None:
        set_run_tags(run_id or self.run_id, tags)

    @_timed
    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        """On the AutoML run (journaled while the server is unreachable)."""
        self._or_journal(self._log_metrics, "log_metrics", metrics=metrics, step=step)

    def _log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        store.log_metrics(self.run_id, metrics, step)

    @_timed
    def log_training_dataset(
        self, frame: pd.DataFrame, label: str, source: str, name: str = "training_data"
    ) -> None:
        from mlflow.entities import DatasetInput, InputTag

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
            run_id = create_run(
                self.experiment_id,
                f"{self.run_name}_{iteration}",
                # The iteration from the start: a journal replay finds a half-written run.
                {TAG_KIND: "trial", TAG_ITERATION: str(iteration)},
                parent_id=self.run_id,
                start_time=started_at,
            )
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


class _Job:
    """One background write and the future of its result."""

    def __init__(self, write: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> None:
        self.write, self.args, self.kwargs = write, args, kwargs
        self.future: Future = Future()


def sync_journal(run_id: str | None = None, quiet: bool = False) -> _journal.SyncResult:
    """Writes what the journal holds for the current tracking URI (one run's with ``run_id``)
    through the tracker that journaled it; with ``quiet=True`` a server still unreachable is
    only logged."""
    uri = tracking_uri()
    if not _journal.pending(uri, run_id):
        return _journal.SyncResult()
    with bounded_http_retries():
        result = _replay_journal(uri, run_id)
    if result.written:
        logger.warning("wrote %d journaled write(s) to %s", result.written, uri)
    if result.left:
        message = f"{result.left} journaled write(s) could not be written to {uri} yet"
        if not quiet:
            raise RuntimeError(message + f" (journal: {_journal.journal_dir()})")
        logger.warning(message)
    return result


def _replay_journal(uri: str, run_id: str | None) -> _journal.SyncResult:
    """Replays each journaled record (idempotent: see ``ExperimentTracker.replay``); what is
    refused or still unreachable is kept in the file."""
    result = _journal.SyncResult()
    for path in _journal.pending(uri, run_id):
        result.files += 1
        records = _journal.read(path)
        left = []
        for index, record in enumerate(records):
            tracker = ExperimentTracker(
                record["experiment_id"], record["run_id"], record["run_name"]
            )
            try:
                tracker.replay(record["call"], record["args"], record["kwargs"])
                result.written += 1
            except Exception as exc:
                if _journal.is_connection_error(exc):  # still unreachable: keep the rest
                    left += records[index:]
                    break
                logger.warning("journal %s: %s was refused: %s", path, record["call"], exc)
                left.append(record)
        _journal.keep(path, left)
        result.left += len(left)
    return result
