"""mlflow_automl side by side with FLAML (and AutoGluon when installed) at equal wall budget.

    pip install -e '.[bench]'
    python -m benchmarks.compare --budget 60 --frameworks mlflow_automl,flaml
    python -m benchmarks.compare --budget 10,60,300 --datasets iris,credit --out benchmarks/RESULTS
    python -m benchmarks.compare --frameworks mlflow_automl,flaml,autogluon \
        --python autogluon=/work/venvs/autogluon/bin/python --datasets regression

For every budget, dataset and framework: the dataset (``benchmarks/datasets.py``, all offline) is
split once with a fixed seed, 25 % held out (stratified for classification); the framework fits
on the rest in a fresh interpreter (``benchmarks/frameworks.py``) with the budget as its time
limit, optimizing the metric it is then scored with on the held-out rows, by scikit-learn, in
this process:

- binary: ROC AUC; multiclass: ROC AUC one-vs-rest, weighted by class frequency (Azure's
  ``AUC_weighted``); regression: R². Higher is better for all three. Accuracy, balanced
  accuracy and log loss (or RMSE and MAE) are kept in the JSON file as well.

Each framework runs in this interpreter unless ``--python NAME=PATH`` names another one (a
virtualenv of its own: AutoGluon pins pandas < 3); data passes as parquet files, so that
interpreter needs the framework, numpy, pandas and pyarrow, not mlflow_automl.

A crash or a run past ``2 x budget + 120 s`` is recorded as a failed row; the run goes on.
mlflow_automl logs to a SQLite store in a temporary folder (what users get; a copy of one whose
tables exist, unless ``--store fresh``) and reports the wall seconds it spent in MLflow calls
(``tracking %``). Results go to ``<out>.json`` (the record) and
``<out>.md`` after every row; ``--append`` adds this call to an existing record.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager, nullcontext, suppress
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.model_selection import train_test_split

from benchmarks import datasets as suite
from benchmarks import report
from benchmarks.frameworks import FRAMEWORKS

TEST_SIZE = 0.25
REPO = Path(__file__).resolve().parent.parent
OURS = "mlflow_automl"
METRICS = {
    suite.BINARY: "roc_auc",
    suite.MULTICLASS: "roc_auc_ovr_weighted",
    suite.REGRESSION: "r2",
}
_PACKAGES = (
    "mlflow-automl",
    "mlflow",
    "flaml",
    "autogluon.tabular",
    "scikit-learn",
    "lightgbm",
    "xgboost",
    "optuna",
    "pandas",
    "numpy",
)
_IMPORT_PROBE = """
import json, time
t0 = time.perf_counter(); import mlflow
t1 = time.perf_counter(); import mlflow_automl
t2 = time.perf_counter(); mlflow_automl.AutoMLConfig, mlflow_automl.submit
t3 = time.perf_counter()
print(json.dumps({"mlflow": t1 - t0, "mlflow_automl": t2 - t1, "mlflow_automl_submit": t3 - t2}))
"""
# Run with ``python -I -c`` in another interpreter: its versions of _PACKAGES, as JSON.
_VERSION_PROBE = """
import json, platform, sys
from importlib.metadata import PackageNotFoundError, version
found = {"python": platform.python_version()}
for package in sys.argv[1:]:
    try:
        found[package] = version(package)
    except PackageNotFoundError:
        found[package] = None
print(json.dumps(found))
"""


# --- one framework on one split -------------------------------------------------------------------
def run_framework(
    framework: str,
    dataset: suite.Dataset,
    train: pd.DataFrame,
    test: pd.DataFrame,
    budget: float,
    seed: int,
    python: str | None = None,
    store: Path | None = None,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fits ``framework`` in a fresh interpreter (``python``, default this one); returns its row
    (scored), failed or not. ``store``: an existing SQLite MLflow store, copied for this run
    (otherwise the run creates its own). ``settings``: keyword arguments for the framework's fit
    (for ours, more ``AutoMLConfig`` settings), to measure one change alone."""
    row: dict[str, Any] = {"framework": framework, "status": "ok"}
    if not FRAMEWORKS[framework].installed(python):
        return {**row, "status": "not installed"}
    with tempfile.TemporaryDirectory(prefix=f"bench-{framework}-") as tmp:
        work = Path(tmp)
        train.to_parquet(work / "train.parquet")
        test.drop(columns=[dataset.label]).to_parquet(work / "test.parquet")
        spec = {
            "framework": framework,
            "label": dataset.label,
            "task": dataset.task,
            "budget": budget,
            "seed": seed,
            "settings": settings or {},
        }
        (work / "spec.json").write_text(json.dumps(spec))
        if store is not None:
            shutil.copyfile(store, work / "mlflow.db")
        status, error, process_s = _run_worker(work, budget, python)
        row["process_s"] = round(process_s, 1)
        if status != "ok":
            return {**row, "status": status, "error": error}
        result = json.loads((work / "result.json").read_text())
        predictions = pd.read_parquet(work / "predictions.parquet")
    wall = result.pop("wall_s")
    row.update(
        wall_s=round(wall, 2),
        wall_ratio=round(wall / budget, 3),
        within_limit=wall <= report.wall_limit(budget),
        **result,
    )
    try:
        row.update(score_predictions(dataset, test[dataset.label], predictions))
    except ValueError as exc:  # e.g. NaN predictions
        row.update(status="failed", error=f"scoring: {exc}")
    return row


def _run_worker(work: Path, budget: float, python: str | None = None) -> tuple[str, str, float]:
    """Runs ``benchmarks.frameworks`` on ``work`` in its own process group; (status, error, s).

    By default in this interpreter with this checkout on the path (mlflow_automl as checked
    out); in a given one isolated (``-I``: its own installed packages only, the worker module
    run by its path).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_TRACKING_URI=f"sqlite:///{work / 'mlflow.db'}", MPLBACKEND="Agg")
    if python is None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "benchmarks.frameworks", str(work)]
    else:
        command = [python, "-I", str(REPO / "benchmarks" / "frameworks.py"), str(work)]
    started = time.perf_counter()
    with open(work / "worker.log", "w") as log:
        process = subprocess.Popen(
            command,
            cwd=work,  # artifacts (./mlruns, AutoGluon's folder) stay in the temporary folder
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its worker processes are stopped with it
        )
        try:
            code = process.wait(timeout=2 * budget + 120)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return (
                "timeout",
                f"killed after {2 * budget + 120:.0f} s",
                time.perf_counter() - started,
            )
    elapsed = time.perf_counter() - started
    if code != 0:
        lines = (work / "worker.log").read_text(errors="replace").strip().splitlines() or [""]
        errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception)\b", line)]
        return "failed", f"exit {code}: {(errors or lines)[-1]}", elapsed
    return "ok", "", elapsed


def score_predictions(
    dataset: suite.Dataset, y_true: pd.Series, predictions: pd.DataFrame
) -> dict[str, Any]:
    """The primary score and the secondary metrics of held-out predictions."""
    metric = METRICS[dataset.task]
    if dataset.task == suite.REGRESSION:
        y = y_true.to_numpy(dtype=np.float64)
        values = predictions["prediction"].to_numpy()
        return {
            "metric": metric,
            "score": float(skm.r2_score(y, values)),
            "rmse": float(np.sqrt(skm.mean_squared_error(y, values))),
            "mae": float(skm.mean_absolute_error(y, values)),
        }
    labels = y_true.astype(str).to_numpy()
    classes = sorted(set(labels) | set(predictions.columns))
    proba = predictions.reindex(columns=classes, fill_value=0.0).to_numpy(dtype=np.float64)
    totals = proba.sum(axis=1, keepdims=True)
    proba = np.where(totals > 0, proba / np.where(totals > 0, totals, 1), 1 / len(classes))
    if dataset.task == suite.BINARY:
        score = skm.roc_auc_score(labels == classes[1], proba[:, 1])
    else:
        score = skm.roc_auc_score(
            labels, proba, multi_class="ovr", average="weighted", labels=classes
        )
    predicted = np.asarray(classes)[proba.argmax(axis=1)]
    return {
        "metric": metric,
        "score": float(score),
        "accuracy": float(skm.accuracy_score(labels, predicted)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(labels, predicted)),
        "log_loss": float(skm.log_loss(labels, np.clip(proba, 1e-15, 1), labels=classes)),
    }


def make_store(path: Path, python: str | None = None) -> Path:
    """An empty SQLite MLflow store at ``path``, its tables created by the MLflow of ``python``
    (the interpreter that will log to it), as after a user's first run."""
    create = "import sys, mlflow; mlflow.MlflowClient(sys.argv[1]).search_experiments()"
    command = [python, "-I"] if python else [sys.executable]
    subprocess.run(
        [*command, "-c", create, f"sqlite:///{path}"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return path


def split(dataset: suite.Dataset, frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, ...]:
    frame = frame[frame[dataset.label].notna()].reset_index(drop=True)
    stratify = frame[dataset.label] if dataset.is_classification else None
    return tuple(train_test_split(frame, test_size=TEST_SIZE, random_state=seed, stratify=stratify))


# --- facts about the run --------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(ram, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_at_start": _load(),
    }


def versions(python: str | None = None) -> dict[str, str | None]:
    """Versions of the packages that matter, in this interpreter or in ``python``."""
    if python is not None:
        command = [python, "-I", "-c", _VERSION_PROBE, *_PACKAGES]
        output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
        return json.loads(output.stdout.strip().splitlines()[-1])
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in _PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


def import_seconds(repeats: int) -> dict[str, Any]:
    """Median import times in fresh interpreters: mlflow, then mlflow_automl, then its engine."""
    samples = []
    for _ in range(repeats):
        output = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        ).stdout
        samples.append(json.loads(output.strip().splitlines()[-1]))
    medians = {k: round(statistics.median(s[k] for s in samples), 3) for k in samples[0]}
    return {**medians, "repeats": repeats}


def _load() -> str:
    with suppress(OSError):
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    return "-"


# --- the command ----------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--budget", default="60", help="seconds; several: 10,60,300")
    parser.add_argument("--frameworks", default="mlflow_automl,flaml", help=", ".join(FRAMEWORKS))
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="the interpreter of a framework (repeatable), e.g. "
        "autogluon=/work/venvs/autogluon/bin/python; default: this one",
    )
    parser.add_argument(
        "--datasets",
        default=None,
        help="names, or a task (binary, multiclass, regression); default: the whole suite",
    )
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "RESULTS"))
    parser.add_argument("--append", action="store_true", help="add to the existing record")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--import-repeats", type=int, default=3)
    parser.add_argument("--note", default="", help="written to the results (e.g. machine load)")
    parser.add_argument(
        "--store",
        choices=("existing", "fresh"),
        default="existing",
        help="mlflow_automl logs to a copy of an existing SQLite store (default), or creates a "
        "fresh one inside its budget, as a user's very first run does",
    )
    parser.add_argument(
        "--busy",
        type=int,
        default=0,
        help="processes that each keep a core busy throughout (issue 19's goals: 0 and 1)",
    )
    parser.add_argument(
        "--settings",
        type=json.loads,
        default={},
        help="more AutoMLConfig settings for mlflow_automl, as JSON, to measure one change alone: "
        '\'{"blocked_models": ["CatBoost"]}\'',
    )
    parser.add_argument(
        "--flaml-settings",
        type=json.loads,
        default={},
        help="more keyword arguments for FLAML's fit, as JSON; e.g. an estimator_list without "
        "catboost, whose trials overrun FLAML's budget on small tables",
    )
    args = parser.parse_args(argv)
    args.budgets = [float(b) for b in args.budget.split(",")]
    args.framework_list = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = [f for f in args.framework_list if f not in FRAMEWORKS]
    if unknown:
        parser.error(f"unknown frameworks {unknown}; choose from {', '.join(FRAMEWORKS)}")
    args.interpreters = {}
    for item in args.python:
        name, _, path = item.partition("=")
        if name not in FRAMEWORKS or not path:
            parser.error(
                f"--python {item!r}: expected NAME=PATH with NAME in {', '.join(FRAMEWORKS)}"
            )
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            parser.error(f"--python {item!r}: {path} is not an executable file")
        args.interpreters[name] = path
    names = args.datasets.split(",") if args.datasets else [d.name for d in suite.SUITE]
    tasks = {suite.BINARY, suite.MULTICLASS, suite.REGRESSION}
    try:
        args.dataset_list = [
            dataset
            for name in (n.strip() for n in names)
            for dataset in (
                [d for d in suite.SUITE if d.task == name] if name in tasks else [suite.get(name)]
            )
        ]
    except KeyError as exc:
        parser.error(str(exc.args[0]))
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out.with_suffix(".json"), out.with_suffix(".md")
    document = {"runs": []}
    if args.append and json_path.exists():
        document = json.loads(json_path.read_text())
    run: dict[str, Any] = {
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "python -m benchmarks.compare " + shlex.join(argv or sys.argv[1:]),
        "note": args.note,
        "machine": machine(),
        "versions": versions(),
        "interpreters": {
            name: {"python": path, "versions": versions(path)}
            for name, path in args.interpreters.items()
            if name in args.framework_list
        },
        "import_seconds": import_seconds(args.import_repeats) if args.import_repeats else None,
        "settings": {
            "seed": args.seed,
            "test_size": TEST_SIZE,
            "frameworks": args.frameworks,
            "busy_processes": args.busy,
            "store": args.store,
            "mlflow_automl_settings": args.settings,
            "flaml_settings": args.flaml_settings,
        },
        "metrics": {task: name for task, name in METRICS.items()},
        "budgets": args.budgets,
        "datasets": [],
        "results": [],
        "summary": {},
    }
    document["runs"].append(run)
    splits = {}
    for dataset in args.dataset_list:
        frame = dataset.load()
        splits[dataset.name] = split(dataset, frame, args.seed)
        run["datasets"].append(
            {
                "name": dataset.name,
                "task": dataset.task,
                "source": dataset.source,
                "description": dataset.description,
                **suite.traits(dataset, frame),
            }
        )
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp, _busy(args.busy):
        store = None
        if args.store == "existing" and OURS in args.framework_list:
            store = make_store(Path(tmp) / "mlflow.db", args.interpreters.get(OURS))
        _measure(args, run, splits, document, json_path, md_path, store)
    print(f"\nwrote {md_path} and {json_path}")
    return run


def _busy(n: int) -> AbstractContextManager[None]:
    if not n:
        return nullcontext()
    from benchmarks.time_budget import busy_processes  # imports mlflow_automl: only when asked

    return busy_processes(n)


def _measure(
    args: argparse.Namespace,
    run: dict[str, Any],
    splits: dict[str, tuple[pd.DataFrame, ...]],
    document: dict[str, Any],
    json_path: Path,
    md_path: Path,
    store: Path | None,
) -> None:
    """Every (budget, dataset, framework) in turn; the files are rewritten after each row."""
    for budget in args.budgets:
        for dataset in args.dataset_list:
            train, test = splits[dataset.name]
            for framework in args.framework_list:
                python = args.interpreters.get(framework)
                row = run_framework(
                    framework,
                    dataset,
                    train,
                    test,
                    budget,
                    args.seed,
                    python,
                    store if framework == OURS else None,
                    {OURS: args.settings, "flaml": args.flaml_settings}.get(framework),
                )
                row = {"budget_s": budget, "dataset": dataset.name, "task": dataset.task, **row}
                run["results"].append(row)
                _print_row(row)
                rows = [r for r in run["results"] if r["budget_s"] == budget]
                run["summary"][str(budget)] = report.summarize(rows, args.framework_list)
                run["machine"]["load_at_end"] = _load()
                _write(document, json_path, md_path)


def _write(document: dict[str, Any], json_path: Path, md_path: Path) -> None:
    json_path.write_text(json.dumps(document, indent=2, default=_plain) + "\n")
    md_path.write_text(report.render(document))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _print_row(row: dict[str, Any]) -> None:
    score = row.get("score")
    print(
        f"{row['budget_s']:>6g} s  {row['dataset']:<14} {row['framework']:<14} "
        f"{row['status']:<8} score={'-' if score is None else f'{score:.4f}'} "
        f"wall={row.get('wall_s', '-')} s trials={row.get('trials', '-')} "
        f"best={row.get('best_learner', '-')} at {row.get('best_reached_s', '-')} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
