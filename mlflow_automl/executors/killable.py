"""One call run in a process of its own, stopped (with its process group) at a deadline.

The final refit runs here (``final_fit.py``): a fit past the experiment's deadline is killed,
not waited for, and the caller uses its fallback. The call and its result travel as
cloudpickle files in a temporary folder (the call closes over the training data; a file keeps
a large frame out of a pipe's buffer). The process is a fresh interpreter, started like a trial
worker (``local.py``): own process group, this copy of the package, dies with its parent.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle

from mlflow_automl.executors.local import _OWN_PROCESS_GROUP, kill_group, worker_env

# How often the deadline is looked at again: a stop signal moves it (stops.cut_budget).
_POLL_S = 0.1


class CallStopped(TimeoutError):
    """The call was still running at its deadline and was killed."""


class NotPicklable(TypeError):
    """The call cannot be sent to another process (nothing was started)."""


def call_before(
    work: Callable[[], Any], deadline: Callable[[], float | None], n_threads: int = 1
) -> Any:
    """Returns ``work()`` computed in a new process, or raises :class:`CallStopped` when
    ``deadline()`` (a wall-clock time, read again while waiting) passes first. An exception in
    ``work`` is raised here. ``work`` must be picklable by cloudpickle (checked before any
    process starts: :class:`NotPicklable` says it is not)."""
    with tempfile.TemporaryDirectory(prefix="mlflow-automl-call-") as folder:
        call, result = Path(folder) / "call.pkl", Path(folder) / "result.pkl"
        try:
            with call.open("wb") as file:
                cloudpickle.dump(work, file, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # cloudpickle raises several kinds
            raise NotPicklable(f"the call cannot be pickled: {exc}") from exc
        started = time.time()
        process = subprocess.Popen(
            [sys.executable, "-m", "mlflow_automl.executors._call", str(call), str(result)],
            env=worker_env(n_threads),
            stdin=subprocess.DEVNULL,
            **_OWN_PROCESS_GROUP,
        )
        try:
            while process.poll() is None:
                end = deadline()
                if end is not None and time.time() >= end:
                    raise CallStopped(
                        f"stopped at its deadline after {time.time() - started:.1f} s"
                    )
                time.sleep(_POLL_S if end is None else max(0.0, min(_POLL_S, end - time.time())))
        finally:
            kill_group(process)  # also whatever it started (joblib workers)
        if not result.exists():
            raise RuntimeError(
                f"the process fitting the final model died (exit code {process.returncode})"
            )
        with result.open("rb") as file:
            ok, value = pickle.load(file)
    if ok:
        return value
    raise value
