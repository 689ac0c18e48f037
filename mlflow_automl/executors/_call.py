"""Entry point of a killable call (``killable.py``): ``python -m mlflow_automl.executors._call
CALL RESULT`` loads the pickled call from CALL, runs it, and writes ``(ok, value or exception)``
to RESULT (atomically: a killed process leaves no half-written result)."""

from __future__ import annotations

import os
import pickle
import sys
import traceback

import cloudpickle

from mlflow_automl.executors._worker import _die_with_parent


def main() -> None:
    parent = os.environ.pop("MLFLOW_AUTOML_PARENT_PID", None)
    if parent:
        _die_with_parent(int(parent))
    call, result = sys.argv[1], sys.argv[2]
    with open(call, "rb") as file:
        work = pickle.load(file)
    try:
        outcome = (True, work())
    except Exception as exc:  # handed to the caller, which raises it
        outcome = (False, exc)
    partial = result + ".partial"
    with open(partial, "wb") as file:
        try:
            cloudpickle.dump(outcome, file, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # an exception (or result) that does not pickle: its traceback does
            file.seek(0)
            file.truncate()
            text = "".join(traceback.format_exception(*sys.exc_info()))
            if not outcome[0]:
                text = "".join(traceback.format_exception(outcome[1]))
            cloudpickle.dump((False, RuntimeError(text)), file)
    os.replace(partial, result)


if __name__ == "__main__":
    main()
