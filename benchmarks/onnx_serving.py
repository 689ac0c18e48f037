"""ONNX vs. Python: single-row latency, batch throughput and parity of exported models.

    python -m benchmarks.onnx_serving [--batch-rows 10000] [--repeats 300]

For each dataset, the models the engine can output are fitted exactly as it fits them (a
boosted model, KNN, and voting / stack ensembles over four members), converted with
:func:`mlflow_automl.onnx_export.convert_model`, and timed two ways, raw ``DataFrame`` in and
prediction out, the conversion of the input included:

* **direct** — ``model.predict_proba(df)`` / ``model.predict(df)`` vs. an onnxruntime session fed
  with :func:`mlflow_automl.onnx_export.onnx_inputs` (what a service embedding the model runs),
  both on one thread (the learners are fitted with ``n_jobs=1``);
* **pyfunc** — both saved as MLflow models and loaded with ``mlflow.pyfunc.load_model`` (what
  ``mlflow models serve`` runs).

Single-row latency is the median over ``--repeats`` calls with one row each; batch throughput
is rows per second on ``--batch-rows`` rows (best of three). Parity is the max absolute
difference of probabilities (classification) or predictions relative to their scale
(regression) over the whole dataset. Figures go to ``benchmarks/onnx_serving.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pandas as pd
from sklearn import datasets

from mlflow_automl.ensemble import StackEnsemble, VotingEnsemble, fit_stack
from mlflow_automl.featurize.plan import plan_featurization
from mlflow_automl.learners.registry import get_learner
from mlflow_automl.model import build_pipeline, fit_pipeline, predict_scores, wrap_fitted
from mlflow_automl.onnx_export import convert_model, onnx_inputs, onnx_signature

RESULTS = Path(__file__).with_name("onnx_serving")


def _penguins() -> tuple[pd.DataFrame, str, str]:
    from palmerpenguins import load_penguins

    return load_penguins(), "species", "classification"


DATASETS = {
    "breast_cancer": lambda: (
        datasets.load_breast_cancer(as_frame=True).frame,
        "target",
        "classification",
    ),
    "penguins": _penguins,  # categoricals and missing values
    "diabetes": lambda: (datasets.load_diabetes(as_frame=True).frame, "target", "regression"),
}
MEMBERS = {
    "classification": ["LightGBM", "LogisticRegression", "RandomForest", "XGBoostClassifier"],
    "regression": ["LightGBM", "ElasticNet", "ExtremeRandomTrees", "XGBoostRegressor"],
}


def _fit(X: pd.DataFrame, y: np.ndarray, task: str, name: str, classes: Any) -> Any:
    plan = plan_featurization(X, "auto", task)
    learner = get_learner(name, task)
    params = learner.default_params(task, len(X), X.shape[1])
    pipeline = build_pipeline(plan, learner, params, task, random_state=0)
    fit_pipeline(pipeline, learner, X, y, None)
    return wrap_fitted(pipeline, task, classes, list(X.columns), name, params)


def build_models(frame: pd.DataFrame, label: str, task: str) -> dict[str, Any]:
    """A boosted model, KNN, and voting / stack ensembles, as the engine fits them."""
    frame = frame.dropna(subset=[label])
    X = frame.drop(columns=label)
    if task == "classification":
        classes, y = np.unique(frame[label].astype(str), return_inverse=True)
        n_classes = len(classes)
    else:
        classes, y, n_classes = None, frame[label].to_numpy(dtype=np.float64), None
    members = [_fit(X, y, task, name, classes) for name in MEMBERS[task]]
    pairs = [(m.learner_name, m.pipeline_) for m in members]
    predictions = [predict_scores(m.pipeline_, X, n_classes) for m in members]
    meta = fit_stack(predictions, y, task).meta_learner
    ensembles = {
        "VotingEnsemble": VotingEnsemble.from_fitted(pairs, [0.4, 0.2, 0.2, 0.2], task, n_classes),
        "StackEnsemble": StackEnsemble.from_fitted(pairs, meta, task, n_classes),
    }
    models = {"LightGBM": members[0], "KNN": _fit(X, y, task, "KNN", classes)}
    for name, ensemble in ensembles.items():
        models[name] = wrap_fitted(ensemble, task, classes, list(X.columns), name, {})
    return models


def _median_latency(predict: Any, rows: list[pd.DataFrame]) -> float:
    for row in rows[:5]:
        predict(row)  # warm-up: lazy initialisation, caches
    times = []
    for row in rows:
        started = time.perf_counter()
        predict(row)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def _throughput(predict: Any, batch: pd.DataFrame) -> float:
    best = min(_timed(predict, batch) for _ in range(3))
    return len(batch) / best


def _timed(predict: Any, batch: pd.DataFrame) -> float:
    started = time.perf_counter()
    predict(batch)
    return time.perf_counter() - started


def _onnx_predictor(export: Any, X: pd.DataFrame) -> Any:
    """Raw DataFrame -> onnxruntime outputs, the feed built as the engine builds it."""
    options = onnxruntime.SessionOptions()
    # One thread, like the Python model's learners (n_jobs=1): the same cores on both sides.
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        export.model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    strings = {c for c in export.input_names if X[c].dtype.kind not in "biuf"}

    def predict(df: pd.DataFrame) -> Any:
        return session.run(None, onnx_inputs(df, export.input_names, strings))

    return predict


def _save_pyfunc_pair(model: Any, export: Any, X: pd.DataFrame, folder: Path) -> tuple[Any, Any]:
    import mlflow

    example = X.iloc[:5]
    mlflow.sklearn.save_model(
        model, folder / "python", serialization_format="cloudpickle", input_example=example
    )
    mlflow.onnx.save_model(export.model, folder / "onnx", signature=onnx_signature(export))
    return (
        mlflow.pyfunc.load_model(str(folder / "python")),
        mlflow.pyfunc.load_model(str(folder / "onnx")),
    )


def measure(name: str, batch_rows: int, repeats: int) -> list[dict[str, Any]]:
    frame, label, task = DATASETS[name]()
    models = build_models(frame, label, task)
    X = frame.dropna(subset=[label]).drop(columns=label).reset_index(drop=True)
    rng = np.random.default_rng(0)
    # MLflow's tensor-schema enforcement reads ``column[0]``: rows need a default index.
    rows = [X.iloc[[i]].reset_index(drop=True) for i in rng.integers(0, len(X), repeats)]
    batch = X.iloc[rng.integers(0, len(X), batch_rows)].reset_index(drop=True)
    results = []
    for model_name, model in models.items():
        export = convert_model(model, X)
        if export.model is None:
            results.append({"dataset": name, "model": model_name, "error": export.error})
            continue
        python = model.predict_proba if task == "classification" else model.predict
        onnx_predict = _onnx_predictor(export, X)
        row = {
            "dataset": name,
            "rows": len(X),
            "task": task,
            "model": model_name,
            "parity_max_abs_diff": export.max_abs_diff,
            "parity_error": export.error,
            "latency_python_ms": 1e3 * _median_latency(python, rows),
            "latency_onnx_ms": 1e3 * _median_latency(onnx_predict, rows),
            "throughput_python_rows_s": _throughput(python, batch),
            "throughput_onnx_rows_s": _throughput(onnx_predict, batch),
        }
        with tempfile.TemporaryDirectory() as tmp:
            py_pyfunc, onnx_pyfunc = _save_pyfunc_pair(model, export, X, Path(tmp))
            row["pyfunc_latency_python_ms"] = 1e3 * _median_latency(py_pyfunc.predict, rows)
            row["pyfunc_latency_onnx_ms"] = 1e3 * _median_latency(onnx_pyfunc.predict, rows)
            row["pyfunc_throughput_python_rows_s"] = _throughput(py_pyfunc.predict, batch)
            row["pyfunc_throughput_onnx_rows_s"] = _throughput(onnx_pyfunc.predict, batch)
        row["latency_speedup"] = row["latency_python_ms"] / row["latency_onnx_ms"]
        row["throughput_ratio"] = row["throughput_onnx_rows_s"] / row["throughput_python_rows_s"]
        row["pyfunc_latency_speedup"] = (
            row["pyfunc_latency_python_ms"] / row["pyfunc_latency_onnx_ms"]
        )
        row["pyfunc_throughput_ratio"] = (
            row["pyfunc_throughput_onnx_rows_s"] / row["pyfunc_throughput_python_rows_s"]
        )
        results.append(row)
        print(
            f"{name:14s} {model_name:15s} latency {row['latency_python_ms']:7.2f} -> "
            f"{row['latency_onnx_ms']:6.3f} ms ({row['latency_speedup']:5.1f}x)  "
            f"throughput x{row['throughput_ratio']:.2f}  parity {export.max_abs_diff:.1e}",
            flush=True,
        )
    return results


def _markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "# ONNX vs. Python: latency, throughput, parity",
        "",
        f"Measured {meta['date']} on {meta['machine']} ({meta['cores']} cores); "
        f"batch {meta['batch_rows']} rows, latency median of {meta['repeats']} single-row calls. "
        "Raw DataFrame in, prediction out, input conversion included. Versions: "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
        + ".",
        "",
        "| dataset | model | latency Python ms | latency ONNX ms | speed-up | "
        "throughput Python rows/s | throughput ONNX rows/s | ratio | pyfunc speed-up | "
        "pyfunc throughput ratio | parity |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['dataset']} | {r['model']} | conversion failed: {r['error']} |")
            continue
        lines.append(
            f"| {r['dataset']} | {r['model']} | {r['latency_python_ms']:.2f} | "
            f"{r['latency_onnx_ms']:.3f} | {r['latency_speedup']:.1f}x | "
            f"{r['throughput_python_rows_s']:,.0f} | {r['throughput_onnx_rows_s']:,.0f} | "
            f"{r['throughput_ratio']:.2f}x | {r['pyfunc_latency_speedup']:.1f}x | "
            f"{r['pyfunc_throughput_ratio']:.2f}x | {r['parity_max_abs_diff']:.1e} |"
        )
    lines += [
        "",
        "Parity: max |ONNX - Python| of class probabilities (classification) or predictions "
        "(regression; divided by max(1, max |prediction|) it is the relative figure) on every "
        "row of the dataset. KNN: ONNX computes every distance with dense operators "
        "(no ball tree), so its batch throughput can fall below scikit-learn's.",
    ]
    return "\n".join(lines) + "\n"


def _versions() -> dict[str, str]:
    import lightgbm
    import mlflow
    import onnx
    import skl2onnx
    import sklearn
    import xgboost

    return {
        "mlflow": mlflow.__version__,
        "scikit-learn": sklearn.__version__,
        "lightgbm": lightgbm.__version__,
        "xgboost": xgboost.__version__,
        "onnx": onnx.__version__,
        "skl2onnx": skl2onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--batch-rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    results = []
    for name in args.datasets.split(","):
        results += measure(name, args.batch_rows, args.repeats)
    meta = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}",
        "cores": os.cpu_count(),
        "batch_rows": args.batch_rows,
        "repeats": args.repeats,
        "versions": _versions(),
    }
    args.out.with_suffix(".json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=2, default=str)
    )
    args.out.with_suffix(".md").write_text(_markdown(results, meta))
    print(f"wrote {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
