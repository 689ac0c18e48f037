"""Does an experiment end when its budget says? Wall time vs. experiment_timeout_minutes.

    python -m benchmarks.time_budget --minutes 2 --datasets digits,diabetes

Each run logs to a throw-away SQLite store; the figures go to ``benchmarks/time_budget.md``
(Markdown) and ``benchmarks/time_budget.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import mlflow
from sklearn import datasets

import mlflow_automl as automl

DATASETS = {
    "digits": ("classification", lambda: datasets.load_digits(as_frame=True).frame, "target"),
    "breast_cancer": (
        "classification",
        lambda: datasets.load_breast_cancer(as_frame=True).frame,
        "target",
    ),
    "wine": ("classification", lambda: datasets.load_wine(as_frame=True).frame, "target"),
    "diabetes": ("regression", lambda: datasets.load_diabetes(as_frame=True).frame, "target"),
}


def measure(name: str, minutes: float) -> dict:
    task, load, label = DATASETS[name]
    frame = load()
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tracking_uri(f"sqlite:///{Path(tmp) / 'mlflow.db'}")
        config = automl.AutoMLConfig(
            task=task,
            training_data=frame,
            label_column_name=label,
            experiment_timeout_minutes=minutes,
            enable_early_stopping=False,
        )
        started = time.time()
        run = automl.submit(config, experiment_name=f"budget-{name}")
        wall = time.time() - started
        board = run.get_leaderboard()
        metric = board.columns[3]
        result = {
            "dataset": name,
            "rows": len(frame),
            "budget_s": minutes * 60,
            "wall_s": round(wall, 1),
            "overrun_s": round(wall - minutes * 60, 1),
            "iterations": len(board),
            "metric": metric,
            "best": round(float(board[metric].iloc[0]), 4),
            "best_pipeline": board["pipeline"].iloc[0],
        }
    mlflow.set_tracking_uri(None)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--datasets", default="digits,diabetes")
    args = parser.parse_args()
    results = [measure(name, args.minutes) for name in args.datasets.split(",")]
    here = Path(__file__).parent
    header = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "mlflow_automl": automl.__version__,
        "mlflow": mlflow.__version__,
    }
    (here / "time_budget.json").write_text(json.dumps({**header, "results": results}, indent=2))
    lines = [
        "# Time budget: wall time vs. experiment_timeout_minutes",
        "",
        *(f"- {k}: {v}" for k, v in header.items()),
        "",
        "| dataset | rows | budget (s) | wall (s) | overrun (s) | iterations | metric | best "
        "| pipeline |",
        "|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {r['dataset']} | {r['rows']} | {r['budget_s']:.0f} | {r['wall_s']} | "
            f"{r['overrun_s']} | {r['iterations']} | {r['metric']} | {r['best']} | "
            f"{r['best_pipeline']} |"
            for r in results
        ),
        "",
    ]
    (here / "time_budget.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
