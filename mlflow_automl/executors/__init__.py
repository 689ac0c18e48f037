"""Where trials run. An executor takes trial specs and hands back outcomes.

* ``inprocess``: in the calling process, one at a time; deadlines are checked between splits.
* ``local``: in worker processes on this machine; a trial past its deadline is stopped by
  killing its worker, which is then replaced.

A Ray executor plugs in behind the same interface (``TrialExecutor``).
"""

from mlflow_automl.executors.base import TrialExecutor
from mlflow_automl.executors.inprocess import InProcessExecutor
from mlflow_automl.executors.local import LocalProcessExecutor

EXECUTORS: dict[str, type[TrialExecutor]] = {
    "inprocess": InProcessExecutor,
    "local": LocalProcessExecutor,
}


def make_executor(compute_target: str, max_concurrency: int) -> TrialExecutor:
    try:
        executor_class = EXECUTORS[compute_target]
    except KeyError:
        raise ValueError(
            f"compute_target={compute_target!r} is unknown; choose one of {sorted(EXECUTORS)}"
        ) from None
    return executor_class(max_concurrency=max_concurrency)


__all__ = [
    "EXECUTORS",
    "InProcessExecutor",
    "LocalProcessExecutor",
    "TrialExecutor",
    "make_executor",
]
