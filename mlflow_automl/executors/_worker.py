"""Worker process entry point: ``python -m mlflow_automl.executors._worker ADDRESS``.

The worker connects back to its executor, receives the trial context once, then evaluates specs
until it is told to stop (or killed for running past a deadline). Started as a fresh interpreter,
not forked, so user scripts are never re-imported and no OpenMP state is inherited.
"""

from __future__ import annotations

import os
import signal
import sys
from multiprocessing.connection import Client


def main() -> None:
    # Ctrl+C in a terminal reaches the whole process group; the executor decides when a worker
    # ends, so the search can record what finished before it stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    address, authkey = sys.argv[1], bytes.fromhex(os.environ.pop("MLFLOW_AUTOML_WORKER_KEY"))
    from mlflow_automl.evaluation.trial import evaluate_trial

    with Client(address, authkey=authkey) as connection:
        connection.send(os.getpid())  # which process this connection is, for the executor
        context = connection.recv()
        while True:
            message = connection.recv()
            if message is None:
                return
            spec, deadline = message
            connection.send(evaluate_trial(context, spec, deadline))


if __name__ == "__main__":
    main()
