"""The cores other processes leave free: measured from real CPU times, next to real busy
processes."""

from __future__ import annotations

import os
import sys

import pytest

from benchmarks.time_budget import busy_processes
from mlflow_automl import AutoMLConfig
from mlflow_automl.machine import CpuSample, free_cores, free_cores_between


def test_busy_neighbours_on_every_core_leave_one():
    cores = os.cpu_count() or 1
    with busy_processes(cores):
        assert free_cores() == 1
        sample = CpuSample.now()
        sum(i * i for i in range(300_000))  # this process's own work is not a neighbour's
        assert free_cores(since=sample) == 1


def test_a_sample_reads_the_machines_and_this_processs_cpu_time():
    first = CpuSample.now()
    sum(i * i for i in range(1_000_000))
    second = CpuSample.now()
    assert second.own > first.own and second.machine_busy >= second.own - first.own - 0.05
    assert second.wall > first.wall


@pytest.mark.parametrize(
    ("machine_busy", "own", "expected"),
    [
        (0.05, 0.0, 4),  # quiet
        (1.0, 1.0, 4),  # this process's own work, e.g. the input checks
        (1.0, 0.0, 3),  # one neighbour keeps a core busy
        (0.6, 0.0, 3),  # a core more than half busy is not free
        (0.4, 0.0, 4),  # one at least half idle is
        (9.0, 0.0, 1),  # every core busy: still one thread
    ],
)
def test_free_cores_between_two_samples(machine_busy, own, expected):
    start = CpuSample(machine_busy=10.0, own=2.0, wall=100.0)
    end = CpuSample(machine_busy=10.0 + machine_busy, own=2.0 + own, wall=101.0)
    assert free_cores_between(start, end, cores=4) == expected


def test_without_psutil_every_core_counts(monkeypatch):
    monkeypatch.setitem(sys.modules, "psutil", None)  # a platform where it cannot be imported
    assert CpuSample.now() is None
    assert free_cores(cores=3) == 3


def _config(data, **settings) -> AutoMLConfig:
    return AutoMLConfig(
        task="regression", training_data=data, label_column_name="target", **settings
    )


def test_threads_per_trial_are_the_free_cores_shared_out(diabetes):
    config = _config(diabetes)
    assert config.cores_per_iteration == os.cpu_count()  # not measured yet: every core
    config.available_cores = 1
    assert config.cores_per_iteration == 1
    config = _config(diabetes, max_concurrent_iterations=2)
    config.available_cores = 5
    assert config.cores_per_iteration == 2
    config = _config(diabetes, max_cores_per_iteration=3)
    config.available_cores = 1
    assert config.cores_per_iteration == 3  # the user's setting wins
