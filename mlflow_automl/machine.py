"""The cores that the machine's other processes leave free, for the threads of a trial.

LightGBM, XGBoost and CatBoost synchronise their OpenMP threads at every histogram and split,
so a thread that shares its core with a busy process stalls the others. On 2 cores next to one
busy process, 200 LightGBM trees on diamonds (53,940 x 9) took 0.40 s on one thread and 0.91 s
on two (XGBoost 0.39 / 1.06 s; ames 0.21 / 0.68 s); on the quiet machine two threads won (0.21 /
0.33 s). So a trial gets the cores that are free when the experiment starts, not every core.

Measured from the system's CPU times (``psutil``) over the first moments of ``submit``, less this
process's own CPU time, so the input checks running meanwhile do not count as a neighbour.
(``search.budget.slowdown`` reads the load average instead: it scales fixed costs.)
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

# Shorter windows see a scheduler tick or two: too few to tell a busy core from a quiet one.
MIN_SAMPLE_SECONDS = 0.1


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far by the whole machine and by this process, at a wall time."""

    machine_busy: float
    own: float
    wall: float

    @classmethod
    def now(cls) -> CpuSample | None:
        """``None`` where psutil is missing or cannot read the CPU times."""
        try:
            import psutil

            times = psutil.cpu_times()
            own = psutil.Process().cpu_times()
        except (ImportError, OSError, AttributeError):
            return None
        idle = times.idle + getattr(times, "iowait", 0.0)
        busy = sum(times) - idle - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
        return cls(busy, own.user + own.system, time.perf_counter())


def free_cores(since: CpuSample | None = None, cores: int | None = None) -> int:
    """The cores that other processes left idle since ``since`` (a sample taken earlier; waits
    until :data:`MIN_SAMPLE_SECONDS` have passed), between 1 and ``cores`` (default:
    ``os.cpu_count()``); all of them where the CPU times cannot be read."""
    cores = cores or os.cpu_count() or 1
    start = since or CpuSample.now()
    if start is None:
        return cores
    time.sleep(max(0.0, start.wall + MIN_SAMPLE_SECONDS - time.perf_counter()))
    end = CpuSample.now()
    return cores if end is None else free_cores_between(start, end, cores)


def free_cores_between(start: CpuSample, end: CpuSample, cores: int) -> int:
    """The cores left idle between two samples by every process but this one, between 1 and
    ``cores``. A core counts as free when at least half of it was idle."""
    seconds = max(end.wall - start.wall, 1e-9)
    neighbours = max(0.0, (end.machine_busy - start.machine_busy) - (end.own - start.own))
    return max(1, min(cores, math.floor(cores - neighbours / seconds + 0.5)))
