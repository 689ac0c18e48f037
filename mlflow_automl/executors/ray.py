"""Runs trials as Ray tasks on a Ray cluster (``compute_target="ray"``, ``"ray:auto"``,
``"ray://host:port"``).

The trial context (the training data) goes to the object store once (``ray.put``); each worker
process fetches it on its first trial and keeps it, so later trials on that worker start at
once. A trial is a task asking for ``max_cores_per_iteration`` CPUs (1 when that is -1: Ray
schedules by CPUs); ``max_concurrent_iterations`` tasks are in flight (default: the cluster's
CPUs divided by the CPUs of one trial). Ray's scheduler places them; we keep none of our own.

A trial past its deadline is cancelled with ``ray.cancel(force=True)``, which kills its worker
process; a trial whose node dies comes back as FAILED with Ray's reason. Tasks are never retried
(``max_retries=0``): a retried trial would start again with a stale deadline. The driver (the
caller) writes every MLflow run, so workers need no tracking credentials; each outcome names the
node and worker that ran it.
"""

from __future__ import annotations

import os
import select
import time
from dataclasses import dataclass, replace
from typing import Any

from mlflow_automl.evaluation.trial import (
    FAILED,
    TIMED_OUT,
    TrialContext,
    TrialOutcome,
    TrialSpec,
    evaluate_trial,
)
from mlflow_automl.executors.base import TrialExecutor, trial_deadline

INSTALL_HINT = "pip install 'mlflow-automl[ray]'"
# Grace after a deadline before the task is cancelled: the in-task check between splits
# usually ends the trial cleanly, which keeps the worker (its imports and data) alive.
_KILL_GRACE_S = 0.5
# How often ``wait`` looks at the stop signal's file descriptor while Ray waits on tasks.
_POLL_S = 0.05
# An iteration timeout counts from the trial's start; the driver sees only the submission, so
# it cancels this much later (the task checks its own start-relative limit between splits).
_START_SLACK_S = 2.0
# Environment variable set in a trial task: per-series forecasting fits fan out as Ray tasks.
FANOUT_ENV = "MLFLOW_AUTOML_RAY_FANOUT"


def import_ray() -> Any:
    """The ``ray`` module, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError(
            f"compute_target='ray' needs Ray, which is not installed: {INSTALL_HINT}"
        ) from exc
    return ray


def ray_address(compute_target: str) -> str | None:
    """What ``ray.init`` is given: ``None`` for ``"ray"`` (``RAY_ADDRESS``, else a local Ray),
    ``"auto"`` for ``"ray:auto"``, the address itself for ``"ray://host:port"``."""
    if compute_target == "ray":
        return None
    if compute_target == "ray:auto":
        return "auto"
    return compute_target


# --- in the Ray worker ----------------------------------------------------------------------------
_WORKER_CONTEXT: dict[str, TrialContext] = {}  # object id -> context, one per worker process


def _run_trial(
    context_ref: list[Any], spec: TrialSpec, deadline: float | None, timeout: float | None
) -> tuple[TrialOutcome, str, str]:
    """A Ray task: the outcome, the node id and the worker id. ``context_ref`` is wrapped in a
    list so that Ray passes the reference, not the value: the worker fetches it once."""
    import ray
    from threadpoolctl import threadpool_limits

    key = context_ref[0].hex()
    context = _WORKER_CONTEXT.get(key)
    if context is None:
        _WORKER_CONTEXT.clear()  # a worker serves one experiment at a time
        context = _WORKER_CONTEXT[key] = ray.get(context_ref[0])
    os.environ[FANOUT_ENV] = "1"
    runtime = ray.get_runtime_context()
    # One BLAS thread: spinning BLAS threads of concurrent trials slow each other down (see
    # executors/local.py); OpenMP (LightGBM, XGBoost) gets the task's CPUs from Ray.
    with threadpool_limits(limits=1, user_api="blas"):
        outcome = evaluate_trial(context, spec, trial_deadline(deadline, timeout))
    return outcome, runtime.get_node_id(), runtime.get_worker_id()


def _apply(function: Any, chunk: list[tuple]) -> list[Any]:
    return [function(*arguments) for arguments in chunk]


def fan_out(function: Any, items: list[tuple], min_per_task: int) -> list[Any] | None:
    """``[function(*item) for item in items]`` as Ray tasks over the cluster, in order, when
    this process runs a Ray trial (forecasting's per-series fits: 1,000 series use the cluster,
    not one worker's cores); None elsewhere, or when there is too little to share out (the
    caller then works as it does without Ray). A trial task waiting here lends its CPU back to
    Ray, so the fits can use it; cancelling the trial cancels them too."""
    if not os.environ.get(FANOUT_ENV):
        return None
    import ray

    if not ray.is_initialized():
        return None
    cpus = int(ray.cluster_resources().get("CPU", 1))
    n_tasks = min(cpus, len(items) // max(1, min_per_task))
    if n_tasks <= 1:
        return None
    bounds = [round(i * len(items) / n_tasks) for i in range(n_tasks + 1)]
    remote = ray.remote(_apply).options(num_cpus=1, max_retries=0, name="mlflow_automl_fits")
    refs = [remote.remote(function, items[a:b]) for a, b in zip(bounds, bounds[1:])]
    return [result for part in ray.get(refs) for result in part]


# --- in the driver --------------------------------------------------------------------------------
@dataclass
class _Task:
    ref: Any  # ray.ObjectRef of the task's result
    spec: TrialSpec
    submitted_at: float
    kill_at: float | None  # when the driver cancels it


class RayExecutor(TrialExecutor):
    """Trials as Ray tasks. ``max_concurrency=None``: as many as the cluster's CPUs allow;
    ``cores_per_trial=None``: one CPU per trial."""

    def __init__(
        self,
        max_concurrency: int | None = None,
        address: str | None = None,
        cores_per_trial: int | None = None,
    ) -> None:
        super().__init__(max_concurrency=max_concurrency or 1)
        self._ray = import_ray()
        self._wanted_concurrency = max_concurrency
        self._address = address
        self._cores = cores_per_trial if cores_per_trial and cores_per_trial > 0 else 1
        self._tasks: list[_Task] = []
        self._context_ref: Any = None
        self._remote: Any = None
        self._owns_connection = False

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self, context: TrialContext) -> None:
        ray = self._ray
        if not ray.is_initialized():
            try:
                # Ray's own log lines (worker start-up) stay out of the user's console.
                ray.init(address=self._address, log_to_driver=False, logging_level="WARNING")
            except BaseException:
                # A ray:// session the server failed to start leaves Ray half set up in this
                # process: the next ray.init, even to another address, fails an assertion.
                ray.shutdown()
                raise
            self._owns_connection = True
        cluster_cpus = int(ray.cluster_resources().get("CPU", 0))
        if cluster_cpus < self._cores:
            self.shutdown()
            raise RuntimeError(
                f"the Ray cluster has {cluster_cpus} CPU(s); a trial asks for {self._cores} "
                "(max_cores_per_iteration)"
            )
        if self._wanted_concurrency is None:
            self.max_concurrency = max(1, cluster_cpus // self._cores)
        self._context_ref = ray.put(replace(context, n_jobs=self._cores))
        self._remote = ray.remote(_run_trial).options(
            num_cpus=self._cores, max_retries=0, name="mlflow_automl_trial"
        )

    def shutdown(self) -> None:
        if self._tasks:
            self.cancel_all("the executor was shut down")
        self._context_ref = None
        if self._owns_connection and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_connection = False

    # --- trials ---------------------------------------------------------------------------------
    @property
    def n_running(self) -> int:
        return len(self._tasks)

    def submit(self, spec: TrialSpec, deadline: float | None, timeout: float | None = None) -> None:
        now = time.time()
        ref = self._remote.remote([self._context_ref], spec, deadline, timeout)
        kill_at = trial_deadline(deadline, None if timeout is None else timeout + _START_SLACK_S)
        self._tasks.append(_Task(ref=ref, spec=spec, submitted_at=now, kill_at=kill_at))

    def wait(self, timeout: float | None = None) -> list[TrialOutcome]:
        if not self._tasks:
            return []
        until = None if timeout is None else time.time() + timeout
        kills = [t.kill_at + _KILL_GRACE_S for t in self._tasks if t.kill_at is not None]
        if kills:
            until = min([until, *kills]) if until is not None else min(kills)
        while True:
            left = None if until is None else max(0.0, until - time.time())
            poll = _POLL_S if left is None else min(_POLL_S, left)
            refs = [t.ref for t in self._tasks]
            ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=poll)
            if ready or (left is not None and left <= poll) or self._woken():
                break
        outcomes = [self._collect(t) for t in self._tasks if t.ref in ready]
        now = time.time()
        for task in self._tasks:
            if task.ref not in ready and task.kill_at is not None and now > task.kill_at:
                outcomes.append(self._cancel(task, "trial exceeded its time limit and was stopped"))
        done = {o.spec.iteration for o in outcomes}
        self._tasks = [t for t in self._tasks if t.spec.iteration not in done]
        return outcomes

    def cancel_all(self, reason: str) -> list[TrialOutcome]:
        outcomes = [self._cancel(task, reason) for task in self._tasks]
        self._tasks = []
        return outcomes

    # --- helpers --------------------------------------------------------------------------------
    def _woken(self) -> bool:
        if self.wakeup_fd is None:
            return False
        readable, _, _ = select.select([self.wakeup_fd], [], [], 0)
        return bool(readable)

    def _collect(self, task: _Task) -> TrialOutcome:
        try:
            outcome, node_id, worker_id = self._ray.get(task.ref)
        except self._ray.exceptions.RayError as exc:
            # The node died, the worker crashed (out of memory), or the task was lost.
            return self._lost(task, FAILED, f"{type(exc).__name__}: {_first_line(exc)}")
        outcome.node_id, outcome.worker_id = node_id, worker_id
        return outcome

    def _cancel(self, task: _Task, reason: str) -> TrialOutcome:
        self._ray.cancel(task.ref, force=True)
        return self._lost(task, TIMED_OUT, reason)

    def _lost(self, task: _Task, status: str, reason: str) -> TrialOutcome:
        outcome = TrialOutcome(
            spec=task.spec,
            status=status,
            started_at=task.submitted_at,
            ended_at=time.time(),
            error=f"Ray: {reason}",
        )
        outcome.node_id, outcome.worker_id = self._placement(task)
        return outcome

    def _placement(self, task: _Task) -> tuple[str, str]:
        """Where a task that returned nothing ran, from Ray's state API (best effort: it
        needs the dashboard; empty when unknown)."""
        try:
            from ray.util.state import get_task

            state = get_task(task.ref.task_id().hex(), timeout=2, _explain=False)
            if isinstance(state, list):
                state = state[-1] if state else None
            if state is None:
                return "", ""
            return state.node_id or "", state.worker_id or ""
        except Exception:  # the state API is optional; the trial's outcome is not
            return "", ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
