"""The `mlflow-automl` command, run as a user runs it: a real subprocess on real files."""

from __future__ import annotations

import json
import subprocess
import sys

import mlflow
import yaml


def _cli(*args, cwd, env=None):
    return subprocess.run(
        [sys.executable, "-m", "mlflow_automl.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def test_help_lists_the_options(tmp_path):
    result = _cli("train", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for option in ("--task", "--data", "--label", "--timeout", "--metric", "--config"):
        assert option in result.stdout


def test_train_from_flags(tmp_path, penguins, monkeypatch):
    penguins.to_csv(tmp_path / "train.csv", index=False)
    result = _cli(
        "train",
        "--task",
        "classification",
        "--data",
        "train.csv",
        "--label",
        "species",
        "--metric",
        "AUC_weighted",
        "--iterations",
        "4",
        "--experiment-name",
        "cli",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Leaderboard:" in result.stdout and "AUC_weighted" in result.stdout
    run_id = result.stdout.split("AutoML run id:")[1].split()[0]
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")  # the default store, in cwd
    try:
        run = mlflow.get_run(run_id)
        assert run.data.tags["automl.task"] == "classification"
        children = mlflow.search_runs(
            [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run_id}'"
        )
        assert len(children) == 4
    finally:
        mlflow.set_tracking_uri(None)


def test_train_from_a_yaml_config_with_flag_override(tmp_path, diabetes):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    diabetes.to_parquet(data_dir / "diabetes.parquet")
    (data_dir / "automl.yaml").write_text(
        yaml.safe_dump(
            {
                "task": "regression",
                "training_data": "diabetes.parquet",  # relative to the YAML file
                "label_column_name": "target",
                "iterations": 10,
                "experiment_name": "cli-yaml",
                "blocked_models": ["KNN"],
            }
        )
    )
    result = _cli(
        "train", "--config", "data/automl.yaml", "--iterations", "3", "--quiet", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "ITER" not in result.stdout  # --quiet
    table = result.stdout.split("Leaderboard:")[1].split("AutoML run id:")[0]
    assert len([line for line in table.strip().splitlines()[1:] if line.strip()]) == 3


def test_bad_settings_are_usage_errors(tmp_path, penguins):
    penguins.to_csv(tmp_path / "train.csv", index=False)
    result = _cli(
        "train",
        "--task",
        "classification",
        "--data",
        "train.csv",
        "--label",
        "nope",
        "--iterations",
        "2",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "no column 'nope'" in result.stderr


def test_train_forecasting_from_flags_and_a_yaml_with_azure_names(tmp_path, visnights):
    two_regions = visnights[visnights.region.isin(["NSWMetro", "VICMetro"])]
    two_regions.to_csv(tmp_path / "trips.csv", index=False)
    (tmp_path / "automl.yaml").write_text(
        yaml.safe_dump(
            {
                "training_data": "trips.csv",
                "label_column_name": "trips",
                "freq": "QS",  # Azure's names
                "max_horizon": 8,
                "grain_column_names": ["region"],
                "experiment_name": "cli-forecast",
            }
        )
    )
    result = _cli(
        "train",
        "--config",
        "automl.yaml",
        "--task",
        "forecasting",
        "--time-column",
        "quarter",
        "--horizon",
        "4",  # wins over the file's max_horizon
        "--target-lags",
        "1,4",
        "--iterations",
        "2",
        "--quiet",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.split("AutoML run id:")[1].split()[0]
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        params = mlflow.get_run(run_id).data.params
        assert params["forecast_horizon"] == "4" and params["frequency"] == "QS"
        assert params["target_lags"] == "[1, 4]"
        assert json.loads(params["time_series_id_column_names"]) == ["region"]
    finally:
        mlflow.set_tracking_uri(None)


def test_forecasting_flags_are_checked(tmp_path, visnights):
    visnights.to_csv(tmp_path / "trips.csv", index=False)
    args = ["train", "--task", "forecasting", "--data", "trips.csv", "--label", "trips"]
    result = _cli(*args, "--time-column", "quarter", "--target-lags", "one", cwd=tmp_path)
    assert result.returncode == 2 and "--target-lags" in result.stderr
    result = _cli(*args, cwd=tmp_path)
    assert result.returncode == 2 and "time_column_name" in result.stderr
