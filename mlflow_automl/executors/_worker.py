"""Worker process entry point: ``python -m mlflow_automl.executors._worker ADDRESS``.

The worker connects back to its executor, receives the trial context once, then evaluates specs
until it is told to stop (or killed for running past a deadline). Started as a fresh interpreter,
not forked, so user scripts are never re-imported and no OpenMP state is inherited.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from multiprocessing.connection import Client

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent_pid: int) -> None:
    """Linux: the kernel kills this worker when the executor's process dies, even by SIGKILL,
    so no worker is ever orphaned (elsewhere a dead parent shows as a closed connection)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # it died before prctl took effect
        os._exit(1)


def main() -> None:
    # Ctrl+C in a terminal reaches the whole process group; the executor decides when a worker
    # ends, so the search can record what finished before it stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.environ.pop("MLFLOW_AUTOML_PARENT_PID", None)
    if parent:
        _die_with_parent(int(parent))
    address, authkey = sys.argv[1], bytes.fromhex(os.environ.pop("MLFLOW_AUTOML_WORKER_KEY"))
    from mlflow_automl.evaluation.trial import evaluate_trial

    try:
        with Client(address, authkey=authkey) as connection:
            connection.send(os.getpid())  # which process this connection is, for the executor
            context = connection.recv()
            while True:
                message = connection.recv()
                if message is None:
                    return
                spec, deadline = message
                connection.send(evaluate_trial(context, spec, deadline))
    except (EOFError, ConnectionError):
        # The executor is gone (stopped, or died): nobody is left to read a result or a
        # traceback, so end quietly.
        os._exit(1)


if __name__ == "__main__":
    main()
