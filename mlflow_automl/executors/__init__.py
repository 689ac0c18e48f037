"""Where trials run. An executor takes trial specs and hands back outcomes.

* ``inprocess``: in the calling process, one at a time; deadlines are checked between splits.
* ``local``: in worker processes on this machine; a trial past its deadline is stopped by
  killing its worker, which is then replaced.

* ``ray`` (``"ray"``, ``"ray:auto"``, ``"ray://host:port"``): as Ray tasks on a Ray cluster
  (:mod:`mlflow_automl.executors.ray`, imported only when asked for: Ray is an optional extra).
"""

from mlflow_automl.executors.base import TrialExecutor
from mlflow_automl.executors.inprocess import InProcessExecutor
from mlflow_automl.executors.local import LocalProcessExecutor

EXECUTORS: dict[str, type[TrialExecutor]] = {
    "inprocess": InProcessExecutor,
    "local": LocalProcessExecutor,
}


def is_ray_target(compute_target: str) -> bool:
    return compute_target in ("ray", "ray:auto") or compute_target.startswith("ray://")


def make_executor(
    compute_target: str, max_concurrency: int | None, cores_per_trial: int | None = None
) -> TrialExecutor:
    """``max_concurrency=None``: the executor's default (1, or what a Ray cluster's CPUs allow);
    ``cores_per_trial`` only matters to Ray, which schedules trials by CPUs."""
    if is_ray_target(compute_target):
        from mlflow_automl.executors.ray import RayExecutor, ray_address

        return RayExecutor(max_concurrency, ray_address(compute_target), cores_per_trial)
    try:
        executor_class = EXECUTORS[compute_target]
    except KeyError:
        raise ValueError(
            f"compute_target={compute_target!r} is unknown; choose one of "
            f"{', '.join(map(repr, sorted(EXECUTORS)))}, 'ray', 'ray:auto' or 'ray://host:port'"
        ) from None
    return executor_class(max_concurrency=max_concurrency or 1)


__all__ = [
    "EXECUTORS",
    "InProcessExecutor",
    "LocalProcessExecutor",
    "TrialExecutor",
    "is_ray_target",
    "make_executor",
]
