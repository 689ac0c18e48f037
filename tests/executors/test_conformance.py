"""The executor contract (`executors.base.TrialExecutor`), one suite every executor must pass.

Adding an executor is one line in ``EXECUTORS``. The suite drives an executor as the search
loop does (submit while ``n_running < max_concurrency``, then ``wait``) and checks what the loop
relies on: one outcome per submitted trial, a failing trial reported and not raised, timeouts
and deadlines ending a trial, the concurrency limit, and no process left after ``shutdown``.
No assertion needs a quiet machine: every wait has a generous bound and no duration is timed.
"""

from __future__ import annotations

import contextlib
import time

import psutil
import pytest

from mlflow_automl.evaluation.trial import (
    COMPLETED,
    FAILED,
    TIMED_OUT,
    TrialSpec,
)
from mlflow_automl.executors import InProcessExecutor, LocalProcessExecutor
from mlflow_automl.executors.ray import RayExecutor
from mlflow_automl.learners import get_learner

EXECUTORS = [
    pytest.param(InProcessExecutor, id="inprocess"),
    pytest.param(LocalProcessExecutor, id="local", marks=pytest.mark.slow),  # subprocesses
    # A real 2-node cluster on loopback (the `ray_cluster` fixture; see `on_its_cluster`).
    pytest.param(RayExecutor, id="ray", marks=pytest.mark.slow),
]
# Long enough for any trial here on a busy machine; a wait that reaches it is a hang.
PATIENCE_S = 300.0

pytestmark = pytest.mark.parametrize("executor_class", EXECUTORS)


@pytest.fixture(autouse=True)
def on_its_cluster(request, executor_class):
    """A cluster executor gets its cluster: the test process becomes a driver of the test's
    Ray cluster, which the executor's connection then reuses."""
    if executor_class is not RayExecutor:
        yield
        return
    import ray

    cluster = request.getfixturevalue("ray_cluster")
    ray.init(address=cluster.address, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def _quick(iteration: int, learner: str = "DecisionTree") -> TrialSpec:
    params = get_learner(learner, "classification").low_cost_params("classification", 1200, 64)
    return TrialSpec(iteration, learner, params, "low_cost")


def _slow(iteration: int) -> TrialSpec:
    """Seconds per split (a hard-margin RBF SVM on 1,200 digits): outlives a 0.2 s limit."""
    return TrialSpec(iteration, "SVM", {"C": 100.0, "gamma": 1.0}, "test")


def _run_all(executor, specs: list[TrialSpec], deadline=None, timeout=None) -> list:
    """The search loop's way: submit while there is room, wait, until every spec has ended."""
    pending, outcomes = list(specs), []
    most_running = 0
    waited = time.time() + PATIENCE_S
    while pending or executor.n_running:
        while pending and executor.n_running < executor.max_concurrency:
            executor.submit(pending.pop(0), deadline, timeout)
            most_running = max(most_running, executor.n_running)
        outcomes += executor.wait(timeout=10)
        assert time.time() < waited, "the executor did not hand back every outcome"
    assert most_running <= executor.max_concurrency
    return outcomes


def test_every_submitted_trial_gets_exactly_one_outcome(context, executor_class):
    specs = [_quick(0), _quick(1, "LogisticRegression"), _quick(2), _quick(3, "KNN")]
    with executor_class(max_concurrency=2) as executor:
        executor.start(context)
        outcomes = _run_all(executor, specs)
        assert executor.wait(timeout=0.1) == []  # nothing is handed back twice
    assert sorted(o.spec.iteration for o in outcomes) == [0, 1, 2, 3]
    for outcome in outcomes:
        assert outcome.status == COMPLETED, outcome.error
        assert outcome.predictions.shape == (len(context.y), 10)
        assert outcome.started_at <= outcome.ended_at


def test_one_at_a_time_outcomes_come_in_submission_order(context, executor_class):
    with executor_class(max_concurrency=1) as executor:
        executor.start(context)
        outcomes = _run_all(executor, [_quick(i) for i in range(3)])
    assert [o.spec.iteration for o in outcomes] == [0, 1, 2]


def test_the_concurrency_limit_is_kept_and_used(context, executor_class):
    with executor_class(max_concurrency=2) as executor:
        assert 1 <= executor.max_concurrency <= 2  # an executor may run fewer, never more
        executor.start(context)
        for i in range(executor.max_concurrency):
            executor.submit(_quick(i), None)
        assert executor.n_running == executor.max_concurrency
        outcomes = _run_all(executor, [])
    assert len(outcomes) == executor.max_concurrency


def test_a_failing_trial_is_reported_not_raised(context, executor_class):
    broken = TrialSpec(0, "DecisionTree", {"max_depth": -3}, "test")  # the learner refuses it
    with executor_class(max_concurrency=1) as executor:
        executor.start(context)
        failed, after = _run_all(executor, [broken, _quick(1)])
    assert failed.status == FAILED
    assert "max_depth" in failed.error
    assert after.status == COMPLETED, after.error  # the executor carries on


@pytest.mark.parametrize("limit", ["timeout", "deadline"])
def test_a_trial_past_its_limit_is_stopped_and_the_next_one_runs(context, executor_class, limit):
    with executor_class(max_concurrency=1) as executor:
        executor.start(context)
        if limit == "timeout":  # iteration_timeout_minutes: counts from the trial's start
            (stopped,) = _run_all(executor, [_slow(0)], timeout=0.2)
        else:  # the experiment's deadline
            (stopped,) = _run_all(executor, [_slow(0)], deadline=time.time() + 0.2)
        (after,) = _run_all(executor, [_quick(1)])
    assert stopped.status == TIMED_OUT
    assert stopped.spec.iteration == 0
    assert after.status == COMPLETED, after.error


def test_cancel_all_ends_every_running_trial_once(context, executor_class):
    with executor_class(max_concurrency=2) as executor:
        executor.start(context)
        for i in range(executor.max_concurrency):
            executor.submit(_quick(i), None)
        outcomes = executor.cancel_all("stopped by the test")
        assert executor.n_running == 0
        assert executor.wait(timeout=0.1) == []
    assert sorted(o.spec.iteration for o in outcomes) == list(range(executor.max_concurrency))
    assert {o.status for o in outcomes} <= {COMPLETED, TIMED_OUT}


def test_shutdown_leaves_no_process_behind(request, context, executor_class):
    # The test cluster's nodes are this process's children too, and they start (and replace
    # killed) workers of their own whenever they like: those belong to the cluster.
    nodes = set()
    if executor_class is RayExecutor:
        nodes = {node.pid for node in request.getfixturevalue("ray_cluster").nodes}
    me = psutil.Process()
    before = _descendants(me, nodes)
    executor = executor_class(max_concurrency=2)
    executor.start(context)
    executor.submit(_slow(0), None, 0.2)  # shut down in the middle of a trial
    started = _descendants(me, nodes) - before
    executor.shutdown()
    left = [pid for pid in started if psutil.pid_exists(pid) and _alive(pid)]
    assert left == []
    assert executor.n_running == 0


def _descendants(process: psutil.Process, outside: set[int]) -> set[int]:
    """The pids below ``process``, leaving out the trees under the pids in ``outside``."""
    found = set()
    with contextlib.suppress(psutil.NoSuchProcess):
        for child in process.children():
            if child.pid not in outside:
                found |= {child.pid} | _descendants(child, outside)
    return found


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
