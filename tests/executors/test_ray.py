"""The Ray executor, against a real Ray cluster on loopback (``ray_cluster`` in conftest.py: a
head and a worker node, 1 CPU each): the executor contract, trials on both nodes, timeouts,
a node dying mid-trial, and whole experiments (and a continued one) on the cluster."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import mlflow
import numpy as np
import pytest

from mlflow_automl import AutoMLConfig
from mlflow_automl.config import AutoMLConfigError
from mlflow_automl.evaluation.trial import COMPLETED, FAILED, TIMED_OUT, TrialSpec
from mlflow_automl.executors import make_executor
from mlflow_automl.learners import get_learner

ray = pytest.importorskip("ray")

from mlflow_automl.executors.ray import RayExecutor  # noqa: E402

pytestmark = pytest.mark.timeout(600)

TAG_NODE = "automl.node_id"
TAG_WORKER = "automl.worker_id"


@pytest.fixture
def connected(ray_cluster):
    """The test process is a driver of the test cluster (the executor reuses the connection)."""
    ray.init(address=ray_cluster.address, log_to_driver=False, logging_level="ERROR")
    yield ray_cluster
    ray.shutdown()


def _spec(iteration, learner="DecisionTree"):
    params = get_learner(learner, "classification").low_cost_params("classification", 1200, 64)
    return TrialSpec(iteration, learner, params, "low_cost")


# An SVM with these settings takes tens of seconds per split on digits: a trial that runs long.
_SLOW = {"C": 100.0, "gamma": 1.0}


def _drain(executor, n, timeout=180):
    outcomes, deadline = [], time.time() + timeout
    while len(outcomes) < n and time.time() < deadline:
        outcomes += executor.wait(timeout=5)
    return outcomes


# --- without a cluster ----------------------------------------------------------------------------
@pytest.mark.slow
def test_asking_for_ray_without_ray_installed_is_a_clear_error():
    """A driver whose ``import ray`` fails (as when the extra is not installed)."""
    script = (
        "import sys; sys.modules['ray'] = None\n"
        "import pandas as pd\n"
        "from mlflow_automl import AutoMLConfig\n"
        "from mlflow_automl.executors import make_executor\n"
        "frame = pd.DataFrame({'x': range(20), 'y': [0, 1] * 10})\n"
        "for target in ('ray', 'ray:auto', 'ray://127.0.0.1:10001'):\n"
        "    try:\n"
        "        AutoMLConfig('classification', training_data=frame, label_column_name='y',\n"
        "                     compute_target=target)\n"
        "    except ValueError as exc:\n"
        "        print(exc)\n"
        "try:\n"
        "    make_executor('ray', None)\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4, result.stdout
    for line in lines[:3]:
        assert "compute_target=" in line and "needs Ray, which is not installed" in line
    assert all("pip install 'mlflow-automl[ray]'" in line for line in lines)


@pytest.mark.parametrize("target", ["cpu-cluster", "ray://nohost", "ray:", 3])
def test_unknown_or_malformed_targets_are_rejected(penguins, target):
    with pytest.raises(AutoMLConfigError, match="compute_target="):
        AutoMLConfig(
            "classification",
            training_data=penguins,
            label_column_name="species",
            compute_target=target,
        )


def test_ray_targets_are_accepted(penguins):
    for target in ("ray", "ray:auto", "ray://10.0.0.5:10001"):
        config = AutoMLConfig(
            "classification",
            training_data=penguins,
            label_column_name="species",
            compute_target=target,
        )
        assert config.compute_target == target


def test_a_ray_target_allows_more_trials_in_flight_than_local_cores(penguins):
    settings = {"training_data": penguins, "label_column_name": "species"}
    config = AutoMLConfig(
        "classification", compute_target="ray", max_concurrent_iterations=500, **settings
    )
    assert config.max_concurrent_iterations == 500
    with pytest.raises(AutoMLConfigError, match="max_concurrent_iterations=500 must be at most"):
        AutoMLConfig("classification", max_concurrent_iterations=500, **settings)


# --- the executor on a real cluster ---------------------------------------------------------------
@pytest.mark.slow
def test_trials_complete_on_both_nodes_and_name_them(connected, context):
    with make_executor("ray", None) as executor:
        assert isinstance(executor, RayExecutor)
        executor.start(context)
        assert executor.max_concurrency == 2  # the cluster's CPUs, one per trial
        outcomes, iteration = [], 0
        # Trials in flight on both 1-CPU nodes at once; Ray places them.
        while iteration < 8:
            while executor.n_running < executor.max_concurrency and iteration < 8:
                executor.submit(_spec(iteration), deadline=None)
                iteration += 1
            outcomes += executor.wait(timeout=60)
        outcomes += _drain(executor, 8 - len(outcomes))
    assert sorted(o.spec.iteration for o in outcomes) == list(range(8))
    assert all(o.status == COMPLETED for o in outcomes), [o.error for o in outcomes]
    assert all(0.2 < o.metrics["accuracy"] <= 1 for o in outcomes)
    alive = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert {o.node_id for o in outcomes} == alive and len(alive) == 2
    assert all(o.worker_id for o in outcomes)


@pytest.mark.slow
def test_a_ray_client_address_runs_trials_and_disconnects(ray_cluster, context):
    with make_executor(f"ray://127.0.0.1:{ray_cluster.client_port}", 2) as executor:
        executor.start(context)
        executor.submit(_spec(0), deadline=None)
        executor.submit(TrialSpec(1, "SVM", _SLOW, "test"), deadline=time.time() + 2)
        outcomes = _drain(executor, 2, timeout=120)
    by_iteration = {o.spec.iteration: o for o in outcomes}
    assert by_iteration[0].status == COMPLETED, by_iteration[0].error
    assert by_iteration[0].node_id and by_iteration[0].worker_id
    assert by_iteration[1].status == TIMED_OUT
    assert not ray.is_initialized()


@pytest.mark.slow
def test_a_trial_past_its_deadline_is_cancelled_and_the_next_one_runs(connected, context):
    with RayExecutor(max_concurrency=1) as executor:
        executor.start(context)
        started = time.time()
        executor.submit(TrialSpec(0, "SVM", _SLOW, "test"), deadline=time.time() + 1.0)
        (outcome,) = _drain(executor, 1, timeout=60)
        assert outcome.status == TIMED_OUT
        assert time.time() - started < 10
        executor.submit(_spec(1), deadline=None)
        (after,) = _drain(executor, 1)
    assert after.status == COMPLETED, after.error


@pytest.mark.slow
def test_an_iteration_timeout_counts_and_cancel_all_stops_every_trial(connected, context):
    with RayExecutor(max_concurrency=2) as executor:
        executor.start(context)
        executor.submit(TrialSpec(0, "SVM", _SLOW, "test"), deadline=None, timeout=1.0)
        executor.submit(TrialSpec(1, "SVM", _SLOW, "test"), deadline=None)
        (timed_out,) = _drain(executor, 1, timeout=60)
        assert timed_out.spec.iteration == 0 and timed_out.status == TIMED_OUT
        assert executor.n_running == 1
        cancelled = executor.cancel_all("stopped by the test")
        assert [o.spec.iteration for o in cancelled] == [1]
        assert cancelled[0].status == TIMED_OUT and "stopped by the test" in cancelled[0].error
        assert executor.n_running == 0


@pytest.mark.slow
def test_wait_returns_when_the_wakeup_fd_is_readable(connected, context):
    read, write = os.pipe()
    try:
        with RayExecutor(max_concurrency=1) as executor:
            executor.wakeup_fd = read
            executor.start(context)
            executor.submit(TrialSpec(0, "SVM", _SLOW, "test"), deadline=None)
            threading.Timer(1.0, os.write, (write, b"x")).start()
            started = time.time()
            assert executor.wait(timeout=60) == []
            assert time.time() - started < 10
    finally:
        os.close(read)
        os.close(write)


@pytest.mark.slow
def test_a_node_dying_mid_trial_fails_that_trial_only(ray_cluster, context):
    extra = ray_cluster.add_node()
    ray.init(address=ray_cluster.address, log_to_driver=False, logging_level="ERROR")
    try:
        doomed = extra.node_id
        with RayExecutor(max_concurrency=3) as executor:
            executor.start(context)
            for i in range(3):  # one long trial per node
                executor.submit(TrialSpec(i, "SVM", _SLOW, "test"), deadline=time.time() + 90)
            _wait_for_running_task_on(doomed)
            ray_cluster.kill_node(extra)
            outcomes = _drain(executor, 3, timeout=120)
    finally:
        ray.shutdown()
    assert sorted(o.spec.iteration for o in outcomes) == [0, 1, 2]
    lost = [o for o in outcomes if o.status == FAILED]
    assert len(lost) == 1, [(o.status, o.error) for o in outcomes]
    assert "Ray: NodeDiedError" in lost[0].error or "Worker" in lost[0].error, lost[0].error
    assert lost[0].node_id == doomed


def _wait_for_running_task_on(node_id: str, timeout: float = 60) -> None:
    from ray.util.state import list_tasks

    deadline = time.time() + timeout
    while time.time() < deadline:
        running = list_tasks(
            filters=[("node_id", "=", node_id), ("state", "=", "RUNNING")], timeout=5
        )
        if any(t.name == "mlflow_automl_trial" for t in running):
            return
        time.sleep(0.2)
    raise AssertionError(f"no trial ran on node {node_id}")


# --- whole experiments ----------------------------------------------------------------------------
def _children(run_id):
    runs = mlflow.search_runs(
        [mlflow.get_run(run_id).info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{run_id}'",
        output_format="list",
    )
    return [r for r in runs if r.data.tags.get("automl.origin") != "ensemble"]


@pytest.mark.slow
def test_an_experiment_on_the_cluster_tags_child_runs_and_keeps_its_budget(
    ray_cluster, sqlite_store, breast_cancer, monkeypatch
):
    from mlflow_automl import submit

    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.address)
    budget_s = 40
    config = AutoMLConfig(
        "classification",
        training_data=breast_cancer,
        label_column_name="target",
        compute_target="ray",
        experiment_timeout_minutes=budget_s / 60,
        n_cross_validations=3,
        enable_stack_ensemble=False,
        model_explainability=False,
    )
    started = time.time()
    run = submit(config)
    elapsed = time.time() - started
    assert elapsed <= budget_s * 1.05 + 5, elapsed
    assert not ray.is_initialized()  # the executor's own connection was closed
    parent = mlflow.get_run(run.run_id)
    assert parent.info.status == "FINISHED"
    children = _children(run.run_id)
    assert len(children) >= 4
    nodes = {c.data.tags.get(TAG_NODE) for c in children if c.info.status == "FINISHED"}
    assert len(nodes) == 2 and None not in nodes, nodes
    assert all(c.data.tags.get(TAG_WORKER) for c in children if c.info.status == "FINISHED")
    _, model = run.get_output()
    features = breast_cancer.drop(columns="target").head(5)
    assert len(model.predict(features)) == 5

    # Continued in the same run, still on Ray: new iterations after the earlier ones.
    before = {int(c.data.tags["automl.iteration"]) for c in children}
    again = run.continue_experiment(training_data=breast_cancer, iterations=len(before) + 3)
    assert again.run_id == run.run_id
    after = _children(run.run_id)
    new = [c for c in after if int(c.data.tags["automl.iteration"]) > max(before)]
    assert len(new) >= 1
    assert all(c.data.tags.get(TAG_NODE) for c in new if c.info.status == "FINISHED")
    assert mlflow.get_run(run.run_id).info.status == "FINISHED"


@pytest.mark.slow
def test_killing_a_node_mid_search_loses_no_child_run(
    ray_cluster, sqlite_store, breast_cancer, monkeypatch
):
    from mlflow_automl import submit

    extra = ray_cluster.add_node()
    killed = {}

    def kill_once_a_trial_runs_there() -> None:
        from ray.util.state import list_tasks

        deadline = time.time() + 60
        while time.time() < deadline and "node" not in killed:
            try:
                node = extra.node_id
                running = list_tasks(
                    address=ray_cluster.dashboard_url,
                    filters=[("node_id", "=", node), ("state", "=", "RUNNING")],
                    timeout=5,
                )
                if any(t.name == "mlflow_automl_trial" for t in running):
                    ray_cluster.kill_node(extra)
                    killed["node"] = node
            except Exception:  # the state API is not ready yet: ask again
                time.sleep(0.2)

    killer = threading.Thread(target=kill_once_a_trial_runs_there)
    config = AutoMLConfig(
        "classification",
        training_data=breast_cancer,
        label_column_name="target",
        compute_target="ray:auto",
        experiment_timeout_minutes=1,
        n_cross_validations=5,
        allowed_models=["SVM", "RandomForest", "LogisticRegression"],
        enable_stack_ensemble=False,
        model_explainability=False,
    )
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.address)  # what "auto" connects to
    killer.start()
    started = time.time()
    try:
        run = submit(config)
    finally:
        elapsed = time.time() - started
        killer.join()
    assert elapsed <= 60 * 1.05 + 5, elapsed  # the budget holds with a node lost
    assert "node" in killed, "no trial ran on the extra node"
    assert mlflow.get_run(run.run_id).info.status == "FINISHED"
    children = _children(run.run_id)
    iterations = sorted(int(c.data.tags["automl.iteration"]) for c in children)
    assert iterations == list(range(len(iterations)))  # every started trial has its child run
    lost = [c for c in children if c.data.tags.get(TAG_NODE) == killed["node"]]
    failed = [c for c in lost if c.info.status == "FAILED"]
    assert failed, [(c.info.status, c.data.tags.get("automl.error")) for c in lost]
    assert all(c.data.tags["automl.error"].startswith("Ray: ") for c in failed)
    _, model = run.get_output()
    assert len(model.predict(breast_cancer.drop(columns="target").head(3))) == 3


# --- forecasting's per-series fits ----------------------------------------------------------------
@pytest.mark.slow
def test_per_series_fits_of_a_ray_trial_fan_out_over_the_cluster(connected, visnights_data):
    """A trial on Ray (the task sets the fan-out flag, as ``_run_trial`` does) fits its 20
    series as Ray tasks on both nodes, with the forecasts of a local fit."""
    from ray import cloudpickle  # Ray pickles with its own copy

    from mlflow_automl.executors.ray import FANOUT_ENV
    from mlflow_automl.forecasting.statistical import ExponentialSmoothingModel

    data, plan = visnights_data
    forecaster = plan.make_forecaster(get_learner("ExponentialSmoothing", "forecasting"), {})
    forecaster.model = _NodeRecordingModel(**forecaster.model.get_params())
    X, y = data.X, data.y
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the model class, for workers
    try:

        @ray.remote(num_cpus=1, max_retries=0)
        def fit_as_a_trial(estimator):
            os.environ[FANOUT_ENV] = "1"
            return estimator.fit(X, y)

        fitted = ray.get(fit_as_a_trial.remote(forecaster))
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    nodes = {m.node_ for m in fitted.models_.values() if isinstance(m, _NodeRecordingModel)}
    assert nodes == {n["NodeID"] for n in ray.nodes() if n["Alive"]} and len(nodes) == 2
    assert isinstance(forecaster.model, ExponentialSmoothingModel)
    local = forecaster.fit(X, y)  # no flag in this process: fitted here, one series at a time
    assert fitted.models_.keys() == local.models_.keys()
    steps = np.arange(1, 9)
    for key, model in local.models_.items():
        np.testing.assert_allclose(fitted.models_[key].predict(steps), model.predict(steps))


def _recording_base():
    from mlflow_automl.forecasting.statistical import ExponentialSmoothingModel

    return ExponentialSmoothingModel


class _NodeRecordingModel(_recording_base()):
    """Holt-Winters that remembers the Ray node it was fitted on."""

    def fit(self, y, **kwargs):
        super().fit(y, **kwargs)
        self.node_ = ray.get_runtime_context().get_node_id()
        return self
