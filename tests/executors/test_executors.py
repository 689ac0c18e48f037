"""Executors: the in-process and worker-process executors honour the same contract."""

from __future__ import annotations

import os
import time
from multiprocessing.connection import wait
from pathlib import Path

import numpy as np
import pytest

from mlflow_automl.evaluation.trial import COMPLETED, TIMED_OUT, TrialContext, TrialSpec
from mlflow_automl.executors import InProcessExecutor, LocalProcessExecutor, make_executor
from mlflow_automl.learners import get_learner


def _spec(iteration, learner):
    params = get_learner(learner, "classification").low_cost_params("classification", 1200, 64)
    return TrialSpec(iteration, learner, params, "low_cost")


@pytest.mark.parametrize("executor_class", [InProcessExecutor, LocalProcessExecutor])
def test_trials_complete_with_out_of_fold_predictions(context, executor_class):
    with executor_class(max_concurrency=1) as executor:
        executor.start(context)
        executor.submit(_spec(0, "DecisionTree"), deadline=None)
        outcomes = []
        while not outcomes:
            outcomes = executor.wait(timeout=60)
    (outcome,) = outcomes
    assert outcome.status == COMPLETED, outcome.error
    assert outcome.predictions.shape == (len(context.y), 10)
    assert np.allclose(outcome.predictions.sum(axis=1), 1)
    assert 0.2 < outcome.metrics["accuracy"] <= 1  # well above chance (0.1)


def test_a_trial_past_its_deadline_is_stopped_and_the_worker_replaced(context):
    slow = TrialSpec(0, "SVM", {"C": 100.0, "gamma": 1.0}, "test")
    with LocalProcessExecutor(max_concurrency=1) as executor:
        executor.start(context)
        started = time.time()
        executor.submit(slow, deadline=time.time() + 0.2)
        (outcome,) = executor.wait(timeout=30)
        assert outcome.status == TIMED_OUT
        assert time.time() - started < 10
        executor.submit(_spec(1, "DecisionTree"), deadline=None)  # the new worker carries on
        (after,) = executor.wait(timeout=60)
    assert after.status == COMPLETED, after.error


def test_two_workers_run_side_by_side(context):
    with LocalProcessExecutor(max_concurrency=2) as executor:
        executor.start(context)
        executor.submit(_spec(0, "DecisionTree"), None)
        executor.submit(_spec(1, "LogisticRegression"), None)
        assert executor.n_running == 2
        done = []
        while len(done) < 2:
            done += executor.wait(timeout=60)
    assert sorted(o.spec.iteration for o in done) == [0, 1]
    assert all(o.status == COMPLETED for o in done)


def test_unknown_compute_target():
    with pytest.raises(ValueError, match="compute_target='cpu-cluster' is unknown.*'ray'"):
        make_executor("cpu-cluster", 1)


def _group_members(group: int) -> list[int]:
    """Live processes in a process group (Linux /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")
def test_stopping_a_trial_also_stops_the_processes_it_started(visnights_data):
    """A per-series model fitted over joblib processes: stopping the trial kills them too,
    instead of leaving them to compute a dead trial's fits on the cores the search needs."""
    data, plan = visnights_data
    context = TrialContext(
        X=data.X,
        y=data.y,
        sample_weight=None,
        splits=data.splits,
        task="forecasting",
        n_classes=None,
        plan=plan,
        random_state=0,
        n_jobs=2,
        metric_scale=data.metric_scale,
    )
    spec = TrialSpec(0, "AutoArima", {"max_fits": 20, "seasonal": "stl"}, "test")
    with LocalProcessExecutor(max_concurrency=1) as executor:
        executor.start(context)
        executor.submit(spec, deadline=None)
        group = executor._workers[0].process.pid
        waited = time.time() + 60
        while len(_group_members(group)) < 3 and time.time() < waited:  # worker + 2 fitters
            time.sleep(0.1)
        assert len(_group_members(group)) >= 3, "the trial did not start its fitting processes"
        (outcome,) = executor.cancel_all("stopped by the test")
        assert outcome.status == TIMED_OUT
        waited = time.time() + 10
        while _group_members(group) and time.time() < waited:
            time.sleep(0.1)
        assert _group_members(group) == []


@pytest.mark.skipif(not hasattr(os, "getsid"), reason="POSIX sessions and process groups")
def test_workers_lead_a_process_group_in_the_callers_session(context):
    # A session of its own would be a scheduling autogroup of its own on Linux, where a
    # trial's OpenMP threads slowed 200-fold next to one busy process.
    with LocalProcessExecutor(max_concurrency=1) as executor:
        executor.start(context)
        pid = executor._workers[0].process.pid
        assert os.getpgid(pid) == pid
        assert os.getsid(pid) == os.getsid(0)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_workers_spin_briefly_at_openmp_barriers(context):
    # libgomp's default 300,000 spins took a LightGBM fit from 0.15 s to 20-40 s next to a
    # busy process of another session; the package sets a short spin that workers inherit.
    with LocalProcessExecutor(max_concurrency=1) as executor:
        executor.start(context)
        executor.submit(_spec(0, "DecisionTree"), deadline=None)  # the worker is running now
        pid = executor._workers[0].process.pid
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        while not executor.wait(timeout=60):
            pass
    assert f"GOMP_SPINCOUNT={os.environ['GOMP_SPINCOUNT']}".encode() in environ
    assert int(os.environ["GOMP_SPINCOUNT"]) <= 1000


def test_low_cost_trials_run_here_until_a_worker_is_ready(context):
    """A worker's imports take seconds on a busy machine; low-cost trials on a small table do
    not wait for them: they run in this process (their featurized splits are kept here), and
    once a worker has knocked, the next trial goes to it."""
    here = TrialContext(**{**context.__dict__, "_featurized": {}})
    with LocalProcessExecutor(max_concurrency=1) as executor:
        executor.start(here)
        firsts = []
        for iteration in (0, 1):
            executor.submit(_spec(iteration, "DecisionTree"), deadline=None)
            assert executor.n_running == 1
            (outcome,) = executor.wait(timeout=0)
            assert outcome.status == COMPLETED, outcome.error
            assert len(here._featurized) == len(here.splits)  # evaluated in this process
            firsts.append(outcome)
        here._featurized.clear()
        # The worker knocks once its imports are done.
        assert wait([executor._listener._listener._socket], timeout=60)
        executor.submit(_spec(2, "DecisionTree"), deadline=None)
        outcomes = []
        while not outcomes:
            outcomes = executor.wait(timeout=60)
        assert outcomes[0].status == COMPLETED, outcomes[0].error
        assert here._featurized == {}  # evaluated by a worker
    for first in firsts:
        np.testing.assert_allclose(outcomes[0].predictions, first.predictions)


def test_only_low_cost_trials_run_here(context):
    here = TrialContext(**{**context.__dict__, "_featurized": {}})
    tuned = TrialSpec(0, "DecisionTree", _spec(0, "DecisionTree").params, "tpe")
    with LocalProcessExecutor(max_concurrency=1) as executor:
        executor.start(here)
        executor.submit(tuned, deadline=None)
        outcomes = []
        while not outcomes:
            outcomes = executor.wait(timeout=60)
        assert outcomes[0].status == COMPLETED, outcomes[0].error
        assert here._featurized == {}  # a worker ran it, however long its imports took
