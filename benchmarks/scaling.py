"""How the search scales out: local worker processes against Ray, and where the driver's
MLflow writes set the ceiling.

    python -m benchmarks.scaling              # everything (~15 min), writes SCALING.md/.json
    python -m benchmarks.scaling --budget 30  # shorter searches
    python -m benchmarks.scaling --steps searches  # re-measure one part, keep the others

Measured, on one machine (a real Ray cluster on loopback, nodes of 1 CPU each):

* the same search (10,000 rows of ggplot2's diamonds, regression, a 60 s budget, 1 core per
  trial, no early stopping) with local 1
  worker, local 2 workers, Ray 1 node, Ray 2 nodes: trials completed, best score, trials/min,
  and scaling efficiency (trials/min at 2 / (2 x trials/min at 1));
* Ray's overhead per trial over a local worker: the median of (submit-to-outcome wall time
  minus the trial's own time) over trivial trials, for Ray tasks (what the executor uses) and
  for a pool of Ray actors holding the data (the alternative the issue asked to measure);
* peak memory (PSS, so shared pages count once) of the whole process tree, driver and workers,
  with a 1M-row table and two trials at once, local workers against Ray (object store);
* the driver's MLflow write rate (child runs/s) on SQLite and on an ``mlflow server``: a child
  run written the way the engine does (create, one ``log_batch``, terminate) against one call
  per param/metric/tag; and from these, where the ceiling is at 10, 100 and 1,000 workers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from benchmarks.ray_cluster import running_cluster

HERE = Path(__file__).parent
BUDGET_S = 60
SEARCH_ROWS = 10_000
# 50,000 rows of diamonds (of 53,940): trials of seconds, where fitting, not the driver, decides
# the rate (the efficiency goal is for a CPU-bound dataset).
CPU_BOUND_ROWS = 50_000
N_TRIVIAL = 40
N_WRITES = 150
WORKERS = (10, 100, 1000)


def _diamonds() -> pd.DataFrame:
    from benchmarks.datasets import get

    return get("diamonds").load()


@contextmanager
def _store():
    with tempfile.TemporaryDirectory() as root:
        uri = f"sqlite:///{root}/mlflow.db"
        mlflow.set_tracking_uri(uri)
        os.environ["MLFLOW_TRACKING_URI"] = uri
        try:
            yield root
        finally:
            mlflow.set_tracking_uri(None)
            os.environ.pop("MLFLOW_TRACKING_URI", None)


# --- 1. the same search, four ways ----------------------------------------------------------------
def _search(frame: pd.DataFrame, budget_s: float, **settings: Any) -> dict[str, Any]:
    import mlflow_automl as automl

    with _store():
        config = automl.AutoMLConfig(
            "regression",
            training_data=frame,
            label_column_name="price",
            experiment_timeout_minutes=budget_s / 60,
            n_cross_validations=3,
            max_cores_per_iteration=1,
            enable_voting_ensemble=False,
            enable_stack_ensemble=False,
            model_explainability=False,
            enable_early_stopping=False,
            **settings,
        )
        started = time.time()
        run = automl.submit(config)
        wall = time.time() - started
        parent = mlflow.get_run(run.run_id)
        children = mlflow.search_runs(
            [parent.info.experiment_id],
            filter_string=f"tags.mlflow.parentRunId = '{run.run_id}'",
            output_format="list",
        )
    done = [c for c in children if c.info.status == "FINISHED"]
    search_s = (
        max(c.info.end_time for c in children) - min(c.info.start_time for c in children)
    ) / 1000
    durations = [(c.info.end_time - c.info.start_time) / 1000 for c in done]
    return {
        "trials_completed": len(done),
        "trials_failed": len(children) - len(done),
        "best_score": parent.data.metrics.get("best_score"),
        "search_seconds": round(search_s, 1),
        "trials_per_min": round(60 * len(done) / search_s, 2) if search_s else None,
        "median_trial_seconds": round(statistics.median(durations), 2) if durations else None,
        "wall_seconds": round(wall, 1),
        "nodes": len({c.data.tags.get("automl.node_id") for c in done} - {None}),
    }


def searches(budget_s: float, rows: int = SEARCH_ROWS) -> dict[str, Any]:
    # Early stopping off, so every setup searches for the whole budget. With 10,000 rows most
    # trials take a fraction of a second and the driver's per-trial work (proposing, writing
    # the child run) decides the rate; with more rows (--rows) trials are CPU-bound.
    diamonds = _diamonds()
    frame = diamonds.sample(rows, random_state=0, replace=rows > len(diamonds))
    frame = frame.reset_index(drop=True)
    results = {
        "rows": rows,
        "local 1 worker": _search(frame, budget_s, max_concurrent_iterations=1),
        "local 2 workers": _search(frame, budget_s, max_concurrent_iterations=2),
    }
    for n_nodes in (1, 2):
        with running_cluster(n_nodes) as cluster:
            os.environ["RAY_ADDRESS"] = cluster.address
            try:
                # concurrency not given: the cluster's CPUs (one per trial)
                results[f"Ray {n_nodes} node{'s' * (n_nodes > 1)}"] = _search(
                    frame, budget_s, compute_target="ray"
                )
            finally:
                os.environ.pop("RAY_ADDRESS", None)
    for kind, one, two in (
        ("local", "local 1 worker", "local 2 workers"),
        ("Ray", "Ray 1 node", "Ray 2 nodes"),
    ):
        rate1, rate2 = results[one]["trials_per_min"], results[two]["trials_per_min"]
        results[f"{kind} efficiency at 2"] = round(rate2 / (2 * rate1), 2) if rate1 else None
    results["load average (1 min) at the end"] = round(os.getloadavg()[0], 2)
    return results


# --- 2. overhead per trial ------------------------------------------------------------------------
def _trivial_context() -> Any:
    from mlflow_automl.evaluation.trial import TrialContext
    from mlflow_automl.featurize import plan_featurization

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    y = (X["a"] > 0).to_numpy().astype(int)
    rows = np.arange(60)
    return TrialContext(
        X=X,
        y=y,
        sample_weight=None,
        splits=[(rows[rows % 2 == 0], rows[rows % 2 == 1])],
        task="classification",
        n_classes=2,
        plan=plan_featurization(X),
        random_state=0,
        n_jobs=1,
    )


def _trivial_spec(i: int) -> Any:
    from mlflow_automl.evaluation.trial import TrialSpec

    return TrialSpec(i, "DecisionTree", {"max_depth": 1}, "bench")


def _overheads(executor: Any, context: Any) -> list[float]:
    """ms per trial beyond the trial's own time, sequential trials, after 3 warm-ups."""
    overheads = []
    with executor:
        executor.start(context)
        for i in range(N_TRIVIAL + 3):
            started = time.time()
            executor.submit(_trivial_spec(i), None)
            outcomes = []
            while not outcomes:
                outcomes = executor.wait(timeout=60)
            (outcome,) = outcomes
            assert outcome.ok, outcome.error
            if i >= 3:
                overheads.append(1000 * (time.time() - started - outcome.duration))
    return overheads


def _actor_overheads(context: Any) -> list[float]:
    """The alternative: actors that hold the data and keep their imports warm."""
    import ray

    from mlflow_automl.evaluation.trial import evaluate_trial

    @ray.remote(num_cpus=1)
    class TrialActor:
        def __init__(self, context: Any) -> None:
            self.context = context

        def run(self, spec: Any) -> Any:
            return evaluate_trial(self.context, spec)

    actor = TrialActor.remote(ray.put(context))
    overheads = []
    for i in range(N_TRIVIAL + 3):
        started = time.time()
        outcome = ray.get(actor.run.remote(_trivial_spec(i)))
        if i >= 3:
            overheads.append(1000 * (time.time() - started - outcome.duration))
    ray.kill(actor)
    return overheads


def overhead() -> dict[str, Any]:
    import ray

    from mlflow_automl.executors import LocalProcessExecutor
    from mlflow_automl.executors.ray import RayExecutor

    context = _trivial_context()
    local = _overheads(LocalProcessExecutor(1), context)
    with running_cluster(1) as cluster:
        ray.init(address=cluster.address, log_to_driver=False, logging_level="ERROR")
        tasks = _overheads(RayExecutor(1), context)
        actors = _actor_overheads(context)
    median = statistics.median
    return {
        "trials": N_TRIVIAL,
        "local worker ms (median)": round(median(local), 1),
        "Ray task ms (median)": round(median(tasks), 1),
        "Ray actor ms (median)": round(median(actors), 1),
        "Ray task over local ms": round(median(tasks) - median(local), 1),
        "Ray actor over local ms": round(median(actors) - median(local), 1),
    }


# --- 3. memory with a 1M-row table ----------------------------------------------------------------
def _million_rows() -> pd.DataFrame:
    base = _diamonds()
    rng = np.random.default_rng(0)
    frame = base.iloc[rng.integers(0, len(base), 1_000_000)].reset_index(drop=True)
    for column in frame.select_dtypes("number").columns:
        frame[column] = frame[column] + rng.normal(0, 0.01 * frame[column].std(), len(frame))
    return frame


def _tree_pss_mb(roots: list[int]) -> float:
    import psutil

    pids = set()
    for root in roots:
        try:
            process = psutil.Process(root)
            pids |= {process.pid, *(p.pid for p in process.children(recursive=True))}
        except psutil.NoSuchProcess:
            continue
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total / 2**20


def _peak_while(roots: Any, work: Any) -> float:
    peak, done = [0.0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_pss_mb(roots()))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        work()
    finally:
        done.set()
        sampler.join()
    return round(peak[0])


def memory() -> dict[str, Any]:
    import ray

    from mlflow_automl.config import AutoMLConfig
    from mlflow_automl.evaluation.trial import TrialContext, TrialSpec
    from mlflow_automl.executors import LocalProcessExecutor
    from mlflow_automl.executors.ray import RayExecutor
    from mlflow_automl.featurize import plan_featurization
    from mlflow_automl.tasks import prepare_training_data

    frame = _million_rows()
    config = AutoMLConfig(
        "regression", training_data=frame, label_column_name="price", n_cross_validations=2
    )
    data = prepare_training_data(config)
    context = TrialContext(
        X=data.X,
        y=data.y,
        sample_weight=None,
        splits=data.splits,
        task="regression",
        n_classes=None,
        plan=plan_featurization(data.X),
        random_state=0,
        n_jobs=1,
    )
    table_mb = round(data.X.memory_usage(deep=True).sum() / 2**20)
    specs = [TrialSpec(i, "ElasticNet", {}, "bench") for i in range(2)]

    def run_two(executor: Any) -> None:
        with executor:
            executor.start(context)
            for spec in specs:
                executor.submit(spec, None)
            done = []
            while len(done) < 2:
                done += executor.wait(timeout=300)
            assert all(o.ok for o in done), [o.error for o in done]

    baseline = round(_tree_pss_mb([os.getpid()]))
    local = _peak_while(lambda: [os.getpid()], lambda: run_two(LocalProcessExecutor(2)))
    with running_cluster(2) as cluster:
        ray.init(address=cluster.address, log_to_driver=False, logging_level="ERROR")
        roots = [os.getpid(), *(p.pid for p in cluster._nodes)]
        ray_idle = round(_tree_pss_mb(roots))
        on_ray = _peak_while(lambda: roots, lambda: run_two(RayExecutor(2)))
    return {
        "rows": len(frame),
        "table MB (features, in memory)": table_mb,
        "driver before MB": baseline,
        "local 2 workers peak MB (driver + workers)": local,
        "Ray 2 nodes idle MB (driver + every Ray process)": ray_idle,
        "Ray 2 nodes peak MB (driver + every Ray process)": on_ray,
        "Ray peak over idle MB": on_ray - ray_idle,
    }


# --- 4. the driver's MLflow write rate ------------------------------------------------------------
_PARAMS = {f"param_{i}": i * 0.5 for i in range(10)}
_METRICS = {f"metric_{i}": i * 0.1 for i in range(10)}
_TAGS = {f"automl.tag_{i}": f"value {i}" for i in range(8)}


def _rate_batched(n: int) -> float:
    from mlflow_automl import tracking

    tracker = tracking.ExperimentTracker.start("writes", settings={}, tags={})
    started = time.time()
    for i in range(n):
        now = time.time()
        tracker._log_trial(i, _PARAMS, _METRICS, _TAGS, now, now, True)
    rate = n / (time.time() - started)
    tracker.finish("FINISHED")
    return rate


def _rate_one_call_each(n: int) -> float:
    client = mlflow.MlflowClient()
    experiment = client.create_experiment(f"calls-{time.time()}")
    started = time.time()
    for _ in range(n):
        run_id = client.create_run(experiment).info.run_id
        for key, value in _PARAMS.items():
            client.log_param(run_id, key, value)
        for key, value in _METRICS.items():
            client.log_metric(run_id, key, value)
        for key, value in _TAGS.items():
            client.set_tag(run_id, key, value)
        client.set_terminated(run_id)
    return n / (time.time() - started)


@contextmanager
def _server():
    from benchmarks.ray_cluster import free_port

    with tempfile.TemporaryDirectory() as root:
        port = free_port()
        command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--workers", "1"]
        command += ["--backend-store-uri", f"sqlite:///{root}/server.db"]
        command += ["--artifacts-destination", f"{root}/artifacts"]
        with open(f"{root}/server.log", "w") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(240):
                try:
                    with urllib.request.urlopen(f"{url}/health", timeout=2):
                        break
                except OSError:
                    time.sleep(0.5)
            mlflow.set_tracking_uri(url)
            yield url
        finally:
            mlflow.set_tracking_uri(None)
            process.terminate()
            process.wait(timeout=30)


def writes() -> dict[str, Any]:
    results = {}
    with _store():
        results["SQLite"] = {
            "engine's way (create + log_batch + terminate)": round(_rate_batched(N_WRITES), 1),
            "one call per param/metric/tag": round(_rate_one_call_each(N_WRITES // 3), 1),
        }
    with _server():
        results["mlflow server"] = {
            "engine's way (create + log_batch + terminate)": round(_rate_batched(N_WRITES), 1),
            "one call per param/metric/tag": round(_rate_one_call_each(N_WRITES // 3), 1),
        }
    return results


def ceiling(results: dict[str, Any]) -> dict[str, Any]:
    """Runs/s the driver must write at N workers (N x one worker's trial rate in the Ray
    2-node search), against what one writer thread manages; the share of its time that takes."""
    per_worker = results["searches"]["Ray 2 nodes"]["trials_per_min"] / 2 / 60
    overhead_ms = max(results["overhead"]["Ray task ms (median)"], 0.1)
    table = {}
    for n in WORKERS:
        demand = n * per_worker
        row = {"child runs/s needed": round(demand, 1)}
        for store, rates in results["writes"].items():
            rate = rates["engine's way (create + log_batch + terminate)"]
            row[f"{store} writer busy"] = f"{100 * demand / rate:.0f}%"
        row["driver scheduling busy"] = f"{100 * demand * overhead_ms / 1000:.0f}%"
        table[f"{n} workers"] = row
    return {
        "trials per second per worker (Ray 2 nodes search)": round(per_worker, 3),
        "table": table,
    }


# --- report ---------------------------------------------------------------------------------------
def _search_table(search: dict[str, Any], budget_s: float, title: str = "") -> list[str]:
    lines = [
        f"## {title}The same search: diamonds ({search.get('rows', SEARCH_ROWS):,} rows), "
        f"regression, {budget_s:.0f} s",
        "",
        "| setup | trials completed | failed | best normalized RMSE | trials/min "
        "| median trial s | nodes | wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in search.items():
        if isinstance(r, dict):
            best = r["best_score"]
            lines.append(
                f"| {name} | {r['trials_completed']} | {r['trials_failed']} "
                f"| {best if best is None else round(best, 4)} | {r['trials_per_min']} "
                f"| {r['median_trial_seconds']} | {r['nodes']} | {r['wall_seconds']} |"
            )
    return lines + [
        "",
        "Scaling efficiency (trials/min at 2 / (2 x trials/min at 1)): "
        f"local {search['local efficiency at 2']}, Ray {search['Ray efficiency at 2']} "
        f"(goal >= 0.8; load average at the end {search.get('load average (1 min) at the end')}).",
        "",
    ]


def _markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Scaling out: local workers and Ray",
        "",
        f"Run {results['date']} with `python -m benchmarks.scaling` on {results['machine']}.",
        "The Ray cluster is two 1-CPU nodes on loopback on the same 2 cores, so '2 nodes' gains",
        "only what a second core gives, and the driver (MLflow writes) shares those cores.",
        "Load average at the end of the searches: "
        f"{results['searches'].get('load average (1 min) at the end', 'not recorded')}.",
        "See the module docstring for what each figure measures.",
        "",
        *_search_table(results["searches"], results["budget_s"]),
        *(
            _search_table(results["cpu_bound"], results["budget_s"], "CPU-bound: ")
            if "cpu_bound" in results
            else []
        ),
        "",
        "## Overhead per trial (trivial trials, median, ms beyond the trial's own time)",
        "",
        "| measure | ms |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in results["overhead"].items()],
        "",
        "Goal: Ray <= 50 ms per trial. The executor uses Ray tasks; actors holding the data were",
        "measured as the alternative.",
        "",
        "## Peak memory with a 1M-row table (two trials at once; PSS, MB)",
        "",
        "| measure | MB |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in results["memory"].items()],
        "",
        "## The driver's MLflow write rate (child runs/s, one writer thread)",
        "",
        "| store | engine's way (create + log_batch + terminate) | one call per value |",
        "|---|---|---|",
    ]
    for store, rates in results["writes"].items():
        values = list(rates.values())
        lines.append(f"| {store} | {values[0]} | {values[1]} |")
    ceiling_ = results["ceiling"]
    lines += [
        "",
        "## Where the ceiling is (on paper, from the parts above)",
        "",
        "Each worker finishes "
        f"{ceiling_['trials per second per worker (Ray 2 nodes search)']} trials/s (the Ray",
        "2-node search above); N workers need N times that many child runs/s written by the",
        "driver's single writer thread (and scheduled: the overhead per trial); above 100% that",
        "part is the bottleneck.",
        "",
        "| workers | child runs/s needed | "
        + " | ".join(
            k for k in next(iter(ceiling_["table"].values())) if k != "child runs/s needed"
        )
        + " |",
        "|---|---|" + "---|" * (len(next(iter(ceiling_["table"].values()))) - 1),
    ]
    for name, row in ceiling_["table"].items():
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row.values()) + " |")
    lines += ["", *_reading(results), ""]
    return "\n".join(lines)


def _efficiency_reading(search: dict[str, Any], cpu: dict[str, Any] | None) -> list[str]:
    short = (
        f"on {search.get('rows', SEARCH_ROWS):,} rows (median trial "
        f"{search['local 1 worker']['median_trial_seconds']} s) Ray "
        f"{search['Ray efficiency at 2']}, local {search['local efficiency at 2']}: the driver's "
        "per-trial work (MLflow writes, proposing) competes with the two workers for the same "
        "2 cores"
    )
    if cpu is None:
        return [f"- **Scaling efficiency at 2** (goal >= 0.8): {short}."]
    met = (cpu["Ray efficiency at 2"] or 0) >= 0.8
    return [
        f"- **Scaling efficiency at 2 on a CPU-bound search ({cpu['rows']:,} rows, median "
        f"trial {cpu['local 1 worker']['median_trial_seconds']} s): Ray "
        f"{cpu['Ray efficiency at 2']}, local {cpu['local efficiency at 2']}** (goal >= 0.8: "
        f"{'met' if met else 'NOT met'} by Ray). One run per setup."
        + (
            " Above 1 because trials differ in length: with one worker a long trial holds the "
            "only slot while short ones wait, with two the short ones pass it, so trial counts "
            "overstate the gain; what the goal guards against (per-trial overhead eating the "
            "second worker) is not there."
            if (cpu["Ray efficiency at 2"] or 0) > 1
            else ""
        )
        + f" With short trials, {short}."
    ]


def _reading(results: dict[str, Any]) -> list[str]:
    """What the figures say against the issue's goals."""
    over = results["overhead"]
    search = results["searches"]
    memory_, writes_ = results["memory"], results["writes"]
    sqlite, server = writes_["SQLite"], writes_["mlflow server"]
    way, each = list(sqlite)  # the two ways of writing a child run
    return [
        "## Reading",
        "",
        f"- **Overhead per trial: {over['Ray task over local ms']} ms over a local worker** "
        f"({over['Ray task ms (median)']} ms in all; goal <= 50 ms): "
        f"{'met' if over['Ray task over local ms'] <= 50 else 'NOT met'}. A pool of actors "
        f"holding the data took {over['Ray actor ms (median)']} ms; trials are Ray tasks (each "
        "worker process caches the context after its first trial), as an actor pool would "
        "need its own scheduling of trials onto actors for a few ms per trial.",
        *_efficiency_reading(search, results.get("cpu_bound")),
        "- **0 child runs lost when a node dies**: shown by the test "
        "`tests/executors/test_ray.py::test_killing_a_node_mid_search_loses_no_child_run` "
        "(every iteration has its child run; the lost trials are FAILED with `Ray: ...`).",
        f"- **Memory (1M rows, {memory_['table MB (features, in memory)']} MB of features)**: "
        f"Ray's own processes (GCS, raylets, dashboard, agents) take "
        f"{memory_['Ray 2 nodes idle MB (driver + every Ray process)']} MB before any trial; "
        f"two trials add {memory_['Ray peak over idle MB']} MB (the object-store copy, once, "
        "plus each worker's featurized training matrices, which every executor makes per "
        "trial). Local workers receive a pickled copy each: "
        f"{memory_['local 2 workers peak MB (driver + workers)']} MB at the peak in all.",
        f"- **The driver's writes are the ceiling.** One writer thread records "
        f"{sqlite[way]} child runs/s on SQLite and {server[way]} on a server here; writing "
        f"each value in its own call instead of one `log_batch` gives {sqlite[each]} and "
        f"{server[each]}, so batching within a run (what the engine does) is worth "
        f"{sqlite[way] / sqlite[each]:.1f}x / {server[way] / server[each]:.1f}x. MLflow has no "
        "call that creates many runs at once, so beyond ~10 workers of short trials the "
        "next steps are several writer threads against a server (it serves requests "
        "concurrently) and longer trials (bigger data, more folds), not more workers.",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds per search")
    parser.add_argument(
        "--cpu-rows", type=int, default=CPU_BOUND_ROWS, help="rows of the CPU-bound searches"
    )
    parser.add_argument(
        "--steps",
        default="overhead,memory,writes,searches,cpu_bound",
        help="re-measure only these",
    )
    args = parser.parse_args(argv)
    only = args.steps.split(",")
    earlier = HERE / "SCALING.json"
    results: dict[str, Any] = json.loads(earlier.read_text()) if earlier.exists() else {}
    results.update(
        date=date.today().isoformat(),
        machine=f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        budget_s=args.budget,
    )
    steps = {
        "overhead": overhead,
        "memory": memory,
        "writes": writes,
        "searches": lambda: searches(args.budget),
        "cpu_bound": lambda: searches(args.budget, args.cpu_rows),
    }
    for name, step in steps.items():
        if name not in only:
            continue
        started = time.time()
        results[name] = step()
        print(f"{name} ({time.time() - started:.0f} s): {json.dumps(results[name])}", flush=True)
        (HERE / "SCALING.json").write_text(json.dumps(results, indent=2) + "\n")  # so far
    results["ceiling"] = ceiling(results)
    (HERE / "SCALING.json").write_text(json.dumps(results, indent=2) + "\n")
    (HERE / "SCALING.md").write_text(_markdown(results))


if __name__ == "__main__":
    main()
