"""The ``mlflow-automl`` command line.

``mlflow-automl train --task classification --data train.csv --label Survived --timeout 2``
runs an experiment (``--task forecasting --time-column date --horizon 14``: a forecasting one);
``--config automl.yaml`` reads settings from a YAML file (any ``AutoMLConfig`` setting, Azure's
names included, plus ``experiment_name``), and flags given on the command line win.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from mlflow_automl.cli.history import history


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlflow-automl")
def main() -> None:
    """Automated machine learning on MLflow: every trial a child run, the best model logged."""


main.add_command(history)


@main.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="YAML file of AutoMLConfig settings (and experiment_name).",
)
@click.option(
    "--task",
    type=click.Choice(["classification", "regression", "forecasting"]),
    help="What to predict.",
)
@click.option("--data", "training_data", help="Training data: a .csv or .parquet file.")
@click.option("--label", "label_column_name", help="Name of the label column.")
@click.option("--metric", "primary_metric", help="Primary metric, e.g. AUC_weighted.")
@click.option(
    "--timeout", "experiment_timeout_minutes", type=float, help="Experiment budget in minutes."
)
@click.option("--iterations", type=int, help="Maximum number of trials.")
@click.option(
    "--iteration-timeout",
    "iteration_timeout_minutes",
    type=float,
    help="Limit for one trial, in minutes.",
)
@click.option(
    "--exit-score",
    "experiment_exit_score",
    type=float,
    help="Stop once the primary metric reaches this value.",
)
@click.option("--validation-data", help="Separate validation data file.")
@click.option("--validation-size", type=float, help="Fraction of rows held out for validation.")
@click.option("--n-cross-validations", type=int, help="Number of cross-validation folds.")
@click.option("--weight-column", "weight_column_name", help="Sample-weight column.")
@click.option("--allowed-models", help="Comma-separated learner names to use exclusively.")
@click.option("--blocked-models", help="Comma-separated learner names never to use.")
@click.option("--featurization", type=click.Choice(["auto", "off"]), help="Featurization mode.")
@click.option("--max-concurrent-iterations", type=int, help="Trials run at the same time.")
@click.option("--seed", "random_seed", type=int, help="Random seed.")
@click.option(
    "--cv-split-columns",
    "cv_split_column_names",
    help="Comma-separated fold columns: 1 = training row, 0 = validation row of that fold.",
)
@click.option("--positive-label", help="Binary classification: the positive class.")
@click.option("--time-column", "time_column_name", help="Forecasting: the time column.")
@click.option(
    "--series-id-columns",
    "time_series_id_column_names",
    help="Forecasting: comma-separated columns that identify each series.",
)
@click.option("--horizon", "forecast_horizon", type=int, help="Forecasting: periods ahead.")
@click.option("--frequency", help="Forecasting: pandas frequency alias (default: inferred).")
@click.option("--target-lags", help="Forecasting: 'auto' or comma-separated lags.")
@click.option(
    "--target-rolling-window-size", help="Forecasting: 'auto' or a window of periods (>= 2)."
)
@click.option("--feature-lags", help="Forecasting: 'auto' or comma-separated lags of features.")
@click.option("--seasonality", help="Forecasting: 'auto' or the season length in periods.")
@click.option(
    "--short-series-handling",
    "short_series_handling_config",
    type=click.Choice(["auto", "pad", "drop"]),
    help="Forecasting: what to do with series too short to validate.",
)
@click.option(
    "--target-aggregate-function",
    type=click.Choice(["sum", "mean", "min", "max"]),
    help="Forecasting: aggregate duplicate / off-grid timestamps.",
)
@click.option(
    "--holidays-country",
    "country_or_region_for_holidays",
    help="Forecasting: ISO country code for holiday features.",
)
@click.option("--cv-step-size", help="Forecasting: 'auto' or periods between folds.")
@click.option(
    "--drop-columns", "drop_column_names", help="Forecasting: comma-separated columns to ignore."
)
@click.option("--experiment-name", help="MLflow experiment to log into (default: automl).")
@click.option("--run-name", help="Name of the AutoML run.")
@click.option(
    "--tracking-uri",
    help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or sqlite:///mlflow.db).",
)
@click.option("--quiet", is_flag=True, help="Print only the leaderboard and the run id.")
@click.option(
    "--resume",
    "resume_run_id",
    metavar="RUN_ID",
    help="Continue this ended AutoML run (same run, its settings; give --timeout and/or "
    "--iterations for the new budget, --data when its data was not a file).",
)
def train(
    config_file: str | None,
    experiment_name: str | None,
    run_name: str | None,
    tracking_uri: str | None,
    quiet: bool,
    resume_run_id: str | None,
    **flags: Any,
) -> None:
    """Run an AutoML experiment and print its leaderboard."""
    from mlflow_automl.config import AutoMLConfigError

    if resume_run_id:
        run = _resume(resume_run_id, tracking_uri, quiet, config_file, experiment_name, flags)
        _print_result(run)
        return
    settings = _settings_from(config_file, flags)
    experiment_name = experiment_name or settings.pop("experiment_name", None)
    settings.pop("experiment_name", None)
    try:
        import mlflow_automl as automl
        from mlflow_automl import tracking

        if tracking_uri:
            tracking.set_tracking_uri(tracking_uri)
        config = automl.AutoMLConfig(**settings)
        run = automl.submit(
            config, experiment_name=experiment_name, show_output=not quiet, run_name=run_name
        )
    except AutoMLConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    _print_result(run)


_RESUME_FLAGS = ("training_data", "experiment_timeout_minutes", "iterations")


def _resume(
    run_id: str,
    tracking_uri: str | None,
    quiet: bool,
    config_file: str | None,
    experiment_name: str | None,
    flags: dict[str, Any],
) -> Any:
    """``train --resume RUN_ID``: the run keeps its settings; only the budget is new."""
    from mlflow_automl.config import AutoMLConfigError

    others = [k for k, v in flags.items() if v is not None and k not in _RESUME_FLAGS]
    if config_file or experiment_name or others:
        given = ", ".join(others + ["--config"] * bool(config_file))
        raise click.UsageError(
            f"--resume continues a run with its own settings; only --data, --timeout and "
            f"--iterations can be given (got: {given or '--experiment-name'})."
        )
    from mlflow_automl import tracking
    from mlflow_automl.azureml.automl_run import AutoMLRun

    if tracking_uri:
        tracking.set_tracking_uri(tracking_uri)
    try:
        return AutoMLRun(run_id).continue_experiment(
            training_data=flags.get("training_data"),
            experiment_timeout_minutes=flags.get("experiment_timeout_minutes"),
            iterations=flags.get("iterations"),
            show_output=not quiet,
        )
    except AutoMLConfigError as exc:
        raise click.UsageError(str(exc)) from exc


def _print_result(run: Any) -> None:
    board = run.get_leaderboard()
    shown = board.iloc[:, :6]
    click.echo("\nLeaderboard:")
    click.echo(shown.head(15).to_string(index=False))
    click.echo(f"\nAutoML run id: {run.run_id}")
    click.echo(f"Best model: {run.model_uri}")


_LIST_FLAGS = (
    "allowed_models",
    "blocked_models",
    "cv_split_column_names",
    "time_series_id_column_names",
    "drop_column_names",
)
_AUTO_OR_INT_FLAGS = (
    "target_lags",
    "feature_lags",
    "target_rolling_window_size",
    "seasonality",
    "cv_step_size",
)
_LAG_FLAGS = ("target_lags", "feature_lags")  # these take several integers


def _auto_or_ints(name: str, value: str | None) -> Any:
    """'auto', one integer, or (target lags) a comma-separated list of integers."""
    if value is None or value.strip() == "auto":
        return value and "auto"
    try:
        numbers = [int(v) for v in _split(value) or []]
    except ValueError:
        numbers = []
    if not numbers:
        flag = "--" + name.replace("_", "-")
        raise click.BadParameter(f"{value!r} is not 'auto' or integers", param_hint=flag)
    return numbers if name in _LAG_FLAGS and len(numbers) > 1 else numbers[0]


@main.command()
@click.option(
    "--tracking-uri",
    help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or sqlite:///mlflow.db).",
)
@click.option("--run-id", help="Only this AutoML run's journal.")
def sync(tracking_uri: str | None, run_id: str | None) -> None:
    """Write the child runs an outage of the tracking server kept in the local journal."""
    from mlflow_automl import tracking
    from mlflow_automl.tracking.journal import journal_dir

    if tracking_uri:
        tracking.set_tracking_uri(tracking_uri)
    try:
        result = tracking.sync_journal(run_id)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{result.written} journaled write(s) written to {tracking.tracking_uri()} "
        f"from {result.files} journal file(s) in {journal_dir()}."
    )


def _settings_from(config_file: str | None, flags: dict[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if config_file:
        import yaml

        from mlflow_automl.config import AutoMLConfigError, resolve_aliases

        loaded = yaml.safe_load(Path(config_file).read_text()) or {}
        if not isinstance(loaded, dict):
            raise click.UsageError(f"{config_file}: expected a mapping of settings.")
        # Azure's names in the file become ours, so that a flag overrides either spelling.
        try:
            settings.update(resolve_aliases(loaded))
        except AutoMLConfigError as exc:
            raise click.UsageError(f"{config_file}: {exc}") from exc
        # Data paths in the file are relative to the file, like in an MLproject.
        for key in ("training_data", "validation_data"):
            value = settings.get(key)
            if isinstance(value, str) and not Path(value).is_absolute():
                settings[key] = str(Path(config_file).parent / value)
    for key in _LIST_FLAGS:
        flags[key] = _split(flags.get(key))
    for key in _AUTO_OR_INT_FLAGS:
        flags[key] = _auto_or_ints(key, flags.get(key))
    settings.update({k: v for k, v in flags.items() if v is not None})
    return settings


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
