"""The registry's names, lookups, errors, filters and ordering."""

import subprocess
import sys

import pytest

from mlflow_automl.evaluation.metrics import FORECASTING
from mlflow_automl.learners import (
    CLASSIFICATION,
    LEARNERS,
    REGRESSION,
    get_learner,
    learner_names,
    learners_for,
)

CLASSIFICATION_NAMES = {
    "LogisticRegression",
    "LightGBM",
    "GradientBoosting",
    "DecisionTree",
    "KNN",
    "LinearSVM",
    "SVM",
    "RandomForest",
    "ExtremeRandomTrees",
    "XGBoostClassifier",
    "AveragedPerceptronClassifier",
    "MultinomialNaiveBayes",
    "BernoulliNaiveBayes",
    "SGD",
    "LinearSVMClassifier",
}
REGRESSION_NAMES = {
    "ElasticNet",
    "LightGBM",
    "GradientBoosting",
    "DecisionTree",
    "KNN",
    "LassoLars",
    "SGD",
    "RandomForest",
    "ExtremeRandomTrees",
    "XGBoostRegressor",
    "OnlineGradientDescentRegressor",
    "FastLinearRegressor",
}


# Beyond Azure's lists: the optional CatBoost (the `catboost` extra).
OPTIONAL_TABULAR = {"CatBoost"}


def test_names_match_azure_lists():
    assert learner_names(CLASSIFICATION) == sorted(CLASSIFICATION_NAMES | OPTIONAL_TABULAR)
    assert learner_names(REGRESSION) == sorted(REGRESSION_NAMES | OPTIONAL_TABULAR)
    statistical = {"AutoArima", "Naive", "SeasonalNaive", "Average", "SeasonalAverage"}
    statistical |= {"ExponentialSmoothing", "Prophet"}
    tabular = CLASSIFICATION_NAMES | REGRESSION_NAMES | OPTIONAL_TABULAR
    assert set(LEARNERS) == tabular | statistical


def test_catboost_is_left_out_when_its_package_is_missing():
    """A process where ``import catboost`` fails, as without the extra: the package imports,
    CatBoost is not offered, naming it says how to install it, and ONNX export still works."""
    script = (
        "import sys; sys.modules['catboost'] = None\n"
        "import numpy as np\n"
        "from sklearn.linear_model import Ridge\n"
        "from mlflow_automl.learners import learners_for\n"
        "from mlflow_automl.learners.onnx import to_onnx\n"
        "print(sorted(x.name for x in learners_for('regression')))\n"
        "try:\n"
        "    learners_for('regression', allowed=['LightGBM', 'CatBoost'])\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
        "X = np.arange(20.0).reshape(10, 2)\n"
        "print(type(to_onnx(Ridge().fit(X, X[:, 0]), X)).__name__)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    offered, refused, exported = result.stdout.strip().splitlines()
    assert "'LightGBM'" in offered and "CatBoost" not in offered
    assert "CatBoost" in refused and "pip install 'mlflow-automl[catboost]'" in refused
    assert exported == "ModelProto"


def test_shared_names_are_one_learner_for_both_tasks():
    for name in CLASSIFICATION_NAMES & REGRESSION_NAMES:
        assert get_learner(name, CLASSIFICATION) is get_learner(name, REGRESSION)
        assert LEARNERS[name].tasks - {"forecasting"} == {CLASSIFICATION, REGRESSION}


def test_get_learner_unknown_name_lists_valid_names():
    valid = ", ".join(sorted(REGRESSION_NAMES | OPTIONAL_TABULAR))
    message = f"Unknown model 'XGBoostClassifier' for task 'regression'. Valid names: {valid}"
    with pytest.raises(ValueError) as error:
        get_learner("XGBoostClassifier", REGRESSION)
    assert str(error.value) == message


def test_unknown_task_is_rejected():
    with pytest.raises(ValueError, match="Unknown task 'ranking'"):
        learner_names("ranking")
    with pytest.raises(ValueError, match="does not support task 'regression'"):
        LEARNERS["SVM"].make_estimator(REGRESSION, {})


@pytest.mark.parametrize("argument", ["allowed", "blocked"])
def test_learners_for_rejects_unknown_names(argument):
    with pytest.raises(ValueError, match="Unknown model 'Foo' for task 'classification'.*LightGBM"):
        learners_for(CLASSIFICATION, **{argument: ["LightGBM", "Foo"]})


@pytest.mark.parametrize("task", [CLASSIFICATION, REGRESSION, FORECASTING])
def test_learners_for_orders_portfolio_first_then_by_relative_cost(task):
    chosen = learners_for(task)
    assert {learner.name for learner in chosen} == set(learner_names(task))
    portfolio = [learner for learner in chosen if task in learner.portfolio]
    assert chosen[: len(portfolio)] == portfolio
    expected = {
        CLASSIFICATION: ["LightGBM", "XGBoostClassifier", "RandomForest", "ExtremeRandomTrees"],
        REGRESSION: ["LightGBM", "XGBoostRegressor", "RandomForest", "ExtremeRandomTrees"],
        FORECASTING: ["Naive", "SeasonalNaive", "ExponentialSmoothing", "LightGBM"],
    }[task] + {CLASSIFICATION: ["LogisticRegression"], REGRESSION: ["ElasticNet"]}.get(task, [])
    assert {learner.name for learner in portfolio} == set(expected)
    for group in (portfolio, chosen[len(portfolio) :]):
        costs = [learner.relative_cost for learner in group]
        assert costs == sorted(costs)
    last = {CLASSIFICATION: "SVM", REGRESSION: "CatBoost", FORECASTING: "Prophet"}
    assert chosen[-1].name == last[task]


def test_learners_for_allowed_and_blocked():
    chosen = learners_for(CLASSIFICATION, allowed=["SVM", "LightGBM", "KNN"], blocked=["KNN"])
    assert [learner.name for learner in chosen] == ["LightGBM", "SVM"]
    assert learners_for(REGRESSION, allowed=["KNN"], blocked=["KNN"]) == []


def test_learners_for_capability_filters():
    onnx = learners_for(CLASSIFICATION, onnx_only=True)
    assert onnx and all(learner.onnx_compatible for learner in onnx)
    assert "GradientBoosting" not in {learner.name for learner in onnx}

    weighted = {learner.name for learner in learners_for(REGRESSION, need_sample_weight=True)}
    assert {"KNN", "LassoLars"}.isdisjoint(weighted) and "LightGBM" in weighted

    missing = learners_for(REGRESSION, need_missing=True)
    assert "XGBoostRegressor" in {learner.name for learner in missing}
    assert all(learner.handles_missing for learner in missing)


def test_fit_params():
    assert LEARNERS["LightGBM"].fit_params(None) == {}
    assert LEARNERS["LightGBM"].fit_params([1.0, 2.0]) == {"sample_weight": [1.0, 2.0]}
    with pytest.raises(ValueError, match="KNN does not support sample_weight"):
        LEARNERS["KNN"].fit_params([1.0])


def test_spaces_are_data_size_aware():
    lgbm = LEARNERS["LightGBM"]
    small = lgbm.search_space(REGRESSION, 50, 5)
    assert small["n_estimators"].high == 50 and small["num_leaves"].high == 50
    assert lgbm.search_space(REGRESSION, 10**7, 5)["n_estimators"].high == 32768
    assert lgbm.low_cost_params(REGRESSION, 50, 5)["n_estimators"] == 4
    assert lgbm.default_params(REGRESSION, 50, 5)["n_estimators"] == 50  # 100 clipped
    assert LEARNERS["KNN"].search_space(CLASSIFICATION, 20, 3)["n_neighbors"].high == 10


def test_make_estimator_merges_fixed_params_and_wraps_margin_models():
    lgbm = LEARNERS["LightGBM"].make_estimator(CLASSIFICATION, {"n_estimators": 7}, 3, 1)
    assert lgbm.get_params()["n_estimators"] == 7
    assert lgbm.get_params()["random_state"] == 3 and lgbm.get_params()["verbosity"] == -1
    calibrated = LEARNERS["LinearSVM"].make_estimator(CLASSIFICATION, {})
    assert type(calibrated).__name__ == "CalibratedClassifierCV"
    assert calibrated.cv == 3 and calibrated.estimator.random_state == 0
