"""AutoML as an MLproject entry point.

Any MLproject can run AutoML as a step by adding an entry point such as::

    automl:
      parameters:
        data: path
        label: string
        task: {type: string, default: classification}
        metric: {type: string, default: ""}
        timeout: {type: float, default: 1}
        model_name: {type: string, default: ""}
      command: >-
        python -m mlflow_automl.project --data {data} --label {label} --task {task}
        --metric {metric} --timeout {timeout} --model-name {model_name}

``mlflow run`` starts the entry point inside its run; AutoML nests under it, and the run gets
the step outputs as artifacts: ``outputs/metrics_output/metrics.json`` (every iteration's
metrics) and ``outputs/model_output/model.pkl`` (the fitted best model). With ``--model-name``
the best model is also registered under that name.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from mlflow_automl import tracking
from mlflow_automl.azureml.pipeline import METRICS_OUTPUT, MODEL_OUTPUT, write_automl_outputs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mlflow_automl.project", description=__doc__)
    parser.add_argument("--data", required=True, help="training data: a .csv or .parquet file")
    parser.add_argument("--label", required=True, help="label column")
    parser.add_argument("--task", default="classification")
    parser.add_argument("--metric", default="", help="primary metric (default: the task's)")
    parser.add_argument("--timeout", type=float, default=1.0, help="budget in minutes")
    parser.add_argument("--model-name", default="", help="register the best model under it")
    args = parser.parse_args(argv)

    from mlflow_automl.config import AutoMLConfig

    config = AutoMLConfig(
        task=args.task,
        training_data=args.data,
        label_column_name=args.label,
        primary_metric=args.metric or None,
        experiment_timeout_minutes=args.timeout,
    )
    with tracking.process_run() as run_id, tempfile.TemporaryDirectory() as tmp:
        metrics_dir, model_dir = Path(tmp) / METRICS_OUTPUT, Path(tmp) / MODEL_OUTPUT
        automl_run = write_automl_outputs(config, run_id, metrics_dir, model_dir)
        for folder in (metrics_dir, model_dir):
            uri = tracking.upload_dir(run_id, folder, f"outputs/{folder.name}")
            tracking.set_run_tags(run_id, {tracking.TAG_OUTPUT_PREFIX + folder.name: uri})
        if args.model_name:
            version = automl_run.register_model(args.model_name)
            print(f"Registered {args.model_name} version {version}")


if __name__ == "__main__":
    main()
