"""Runs trials in worker processes on this machine.

Each worker is a fresh ``python -m mlflow_automl.executors._worker`` process that receives the
data once and then evaluates one trial at a time. A trial still running at its deadline is
stopped by killing its worker; a new worker takes its place, so the search goes on.

Each worker leads a process group of its own, so killing it also stops the processes a trial
started (joblib's workers fitting many series at once), which would otherwise go on computing
the dead trial's work and take the cores from the next one. The group stays in the caller's
session: a session of its own (``setsid``) is also a scheduling group of its own under Linux's
autogroup, and there, with one other busy process on a 2-core machine, the OpenMP threads of
a LightGBM fit waited on each other 200 times longer (95 s instead of 0.5 s).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, Listener, wait
from pathlib import Path

from threadpoolctl import threadpool_limits

from mlflow_automl.evaluation.trial import (
    FAILED,
    TIMED_OUT,
    TrialContext,
    TrialOutcome,
    TrialSpec,
    evaluate_trial,
)
from mlflow_automl.executors.base import TrialExecutor, trial_deadline

logger = logging.getLogger(__name__)

_POSIX = os.name == "posix"
# Popen arguments: the worker leads a new process group in this session (see the docstring).
if not _POSIX:
    _OWN_PROCESS_GROUP: dict = {}
elif sys.version_info >= (3, 11):
    _OWN_PROCESS_GROUP = {"process_group": 0}
else:
    _OWN_PROCESS_GROUP = {"preexec_fn": os.setpgrp}

_CONNECT_TIMEOUT_S = 120.0
# Grace after a deadline before the worker is killed: the in-worker check between splits
# usually ends the trial cleanly, which keeps the worker (and its imports) alive.
_KILL_GRACE_S = 0.5
# A trial runs in this process while no worker is ready yet, if it is a low-cost point and the
# table has at most this many cells: a worker's imports took 9-11 s on a 2-core machine at
# load 17 (1.5 s quiet), and 15 s experiments on penguins ended with no trial; later, at load 2,
# credit's second trial still waited 3.8 s for the worker. Low-cost points take well under a
# second there and are checked against their deadline between splits.
_IN_PROCESS_MAX_CELLS = 1_000_000


def worker_env(n_threads: int) -> dict[str, str]:
    """The environment of a process this package starts to do its work (a trial worker, the
    final refit): it imports this very copy of the package and dies with its parent."""
    env = dict(os.environ)
    env["MLFLOW_AUTOML_PARENT_PID"] = str(os.getpid())
    # The worker must import this very copy of the package, installed or not.
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    # n_threads OpenMP threads per process (LightGBM, XGBoost). BLAS gets one: its
    # threads spin-wait on each other, and next to busy processes a 10-fold logistic
    # regression on penguins took 1.0-2.1 s with two, 0.6-0.8 s with one.
    env["OMP_NUM_THREADS"] = str(n_threads)
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    return env


def kill_group(process: subprocess.Popen) -> None:
    """Kills ``process`` and its process group (it leads one: see the module docstring)."""
    if _POSIX:
        # The whole group, even when the process has exited: its children may live on.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.kill()
        process.wait()


@dataclass
class _Worker:
    process: subprocess.Popen
    connection: Connection | None = None  # None until the worker has imported and connected
    spec: TrialSpec | None = None
    deadline: float | None = None
    started_at: float = 0.0


class LocalProcessExecutor(TrialExecutor):
    def __init__(self, max_concurrency: int = 1) -> None:
        super().__init__(max_concurrency=max_concurrency)
        self._context: TrialContext | None = None
        self._workers: list[_Worker] = []
        self._authkey = secrets.token_bytes(16)
        self._listener: Listener | None = None
        self._pending: list[TrialOutcome] = []  # trials that ran here while workers started

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self, context: TrialContext) -> None:
        """Starts the workers and returns at once: their imports (~1.5 s) overlap with whatever
        the caller does next (creating the MLflow run); the first ``submit`` waits for them."""
        self._context = context
        self._listener = Listener(authkey=self._authkey)
        # A worker that dies before connecting must not block accept() forever (the socket is
        # a CPython implementation detail, stable across versions).
        self._listener._listener._socket.settimeout(_CONNECT_TIMEOUT_S)
        self._workers = [self._spawn() for _ in range(self.max_concurrency)]

    def _spawn(self) -> _Worker:
        env = worker_env(self._context.n_jobs)
        env["MLFLOW_AUTOML_WORKER_KEY"] = self._authkey.hex()
        process = subprocess.Popen(
            [sys.executable, "-m", "mlflow_automl.executors._worker", str(self._listener.address)],
            env=env,
            stdin=subprocess.DEVNULL,
            **_OWN_PROCESS_GROUP,  # see the module docstring
        )
        return _Worker(process=process)

    def _connect(self, worker: _Worker) -> None:
        """Accepts connections until ``worker`` is connected; each worker announces its pid, so
        a connection always belongs to the right process."""
        while worker.connection is None:
            try:
                connection = self._listener.accept()
                pid = connection.recv()
            except (OSError, EOFError) as exc:
                self._kill(worker)
                raise RuntimeError(f"a trial worker did not start: {exc}") from exc
            owner = next((w for w in self._workers if w.process.pid == pid), None)
            if owner is None:  # a replaced worker that connected late
                connection.close()
                continue
            connection.send(self._context)
            owner.connection = connection

    def shutdown(self) -> None:
        self._pending = []
        for worker in self._workers:
            try:
                if worker.spec is None and worker.connection is not None:
                    worker.connection.send(None)
                    worker.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired, BrokenPipeError):
                pass
            self._kill(worker)
        self._workers = []
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    # --- trials ---------------------------------------------------------------------------------
    @property
    def n_running(self) -> int:
        return len(self._pending) + sum(worker.spec is not None for worker in self._workers)

    def submit(self, spec: TrialSpec, deadline: float | None, timeout: float | None = None) -> None:
        if self._runs_here(spec):
            # The threads a worker would have (see worker_env): spinning BLAS threads next to
            # busy processes made this baseline's 10 folds on penguins take 2 s each.
            n_threads = self._context.n_jobs
            with threadpool_limits(1, "blas"), threadpool_limits(n_threads, "openmp"):
                outcome = evaluate_trial(self._context, spec, trial_deadline(deadline, timeout))
            self._pending.append(outcome)
            return
        worker = next(w for w in self._workers if w.spec is None)
        self._connect(worker)
        deadline = trial_deadline(deadline, timeout)  # the trial starts now
        worker.spec, worker.deadline, worker.started_at = spec, deadline, time.time()
        worker.connection.send((spec, deadline))

    def wait(self, timeout: float | None = None) -> list[TrialOutcome]:
        if self._pending:
            done, self._pending = self._pending, []
            return done
        busy = [w for w in self._workers if w.spec is not None]
        if not busy:
            return []
        now = time.time()
        limits = [w.deadline + _KILL_GRACE_S - now for w in busy if w.deadline is not None]
        if timeout is not None:
            limits.append(timeout)
        wait_for = max(0.0, min(limits)) if limits else None
        wakeup = [] if self.wakeup_fd is None else [self.wakeup_fd]
        ready = wait([w.connection for w in busy] + wakeup, timeout=wait_for)
        outcomes = []
        for worker in busy:
            if worker.connection in ready:
                outcomes.append(self._receive(worker))
            elif worker.deadline is not None and time.time() > worker.deadline + _KILL_GRACE_S:
                outcomes.append(self._stop(worker, "trial exceeded its time limit and was stopped"))
        return outcomes

    def cancel_all(self, reason: str) -> list[TrialOutcome]:
        done, self._pending = self._pending, []
        return done + [self._stop(w, reason) for w in self._workers if w.spec is not None]

    def _runs_here(self, spec: TrialSpec) -> bool:
        """Whether a trial runs in this process (see _IN_PROCESS_MAX_CELLS): no worker has
        connected yet and none is knocking."""
        X = self._context.X
        small = X.shape[0] * max(1, X.shape[1]) <= _IN_PROCESS_MAX_CELLS
        if spec.origin != "low_cost" or not small:
            return False
        if any(w.connection is not None for w in self._workers):
            return False
        return not wait([self._listener._listener._socket], timeout=0)  # no worker knocking

    # --- helpers --------------------------------------------------------------------------------
    def _receive(self, worker: _Worker) -> TrialOutcome:
        try:
            outcome = worker.connection.recv()
        except (EOFError, OSError) as exc:
            # The worker died (e.g. out of memory, a crash in native code).
            code = worker.process.poll()
            outcome = self._replace(worker, FAILED, f"trial worker died (exit code {code}): {exc}")
            return outcome
        worker.spec = None
        return outcome

    def _stop(self, worker: _Worker, reason: str) -> TrialOutcome:
        return self._replace(worker, TIMED_OUT, reason)

    def _replace(self, worker: _Worker, status: str, reason: str) -> TrialOutcome:
        outcome = TrialOutcome(
            spec=worker.spec,
            status=status,
            started_at=worker.started_at,
            ended_at=time.time(),
            error=reason,
        )
        self._kill(worker)
        index = self._workers.index(worker)
        self._workers[index] = self._spawn()
        return outcome

    @staticmethod
    def _kill(worker: _Worker) -> None:
        kill_group(worker.process)
        if worker.connection is not None:
            worker.connection.close()
