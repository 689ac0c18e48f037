"""Proof: for each learner family and task, the generated training script, run where
mlflow_automl cannot be imported, prints the trial's validation score (deterministic learners:
within 1e-6; every learner here is seeded, so all are held to 1e-6)."""

from __future__ import annotations

import pandas as pd
import pytest

from mlflow_automl import AutoMLConfig
from mlflow_automl.codegen import SCORING_SCRIPT, TRAINING_SCRIPT, fidelity, render
from mlflow_automl.featurize import FeaturizationConfig

pytestmark = pytest.mark.slow
EXACT = 1e-6

# One learner per family (linear, calibrated SGD, kernel SVM, neighbours, naive Bayes, trees,
# forests, boosting x3, the optional CatBoost, whose classifier the package extends) and task;
# benchmarks/codegen_fidelity.py runs all 29.
CASES = [
    ("classification", "LogisticRegression"),
    ("classification", "LinearSVMClassifier"),
    ("classification", "SVM"),
    ("classification", "MultinomialNaiveBayes"),
    ("classification", "RandomForest"),
    ("classification", "XGBoostClassifier"),
    ("classification", "CatBoost"),
    ("regression", "ElasticNet"),
    ("regression", "KNN"),
    ("regression", "DecisionTree"),
    ("regression", "LightGBM"),
    ("regression", "GradientBoosting"),
]
LABELS = {"classification": "species", "regression": "body_mass_g"}


def _config(task: str, path: str, **settings) -> AutoMLConfig:
    settings.setdefault("n_cross_validations", 3)
    return AutoMLConfig(
        task=task,
        training_data=path,
        label_column_name=LABELS[task],
        max_cores_per_iteration=1,
        **settings,
    )


def _prove(config, learner, paths, tmp_path, store) -> fidelity.Fidelity:
    outcome, spec = fidelity.evaluate(config, learner)
    result = fidelity.check(spec, outcome.metrics[config.metric], paths, tmp_path, store)
    assert result.error == ""
    assert result.difference <= EXACT, result
    return result


@pytest.mark.parametrize(("task", "learner"), CASES)
def test_script_reproduces_the_trial(task, learner, penguins_plus, tmp_path, script_store):
    _prove(_config(task, penguins_plus), learner, [penguins_plus], tmp_path, script_store)


def test_a_model_on_a_log_target_is_reproduced(
    penguins_plus, tmp_path, script_store, assert_formatted
):
    """target_transform=log1p: the script fits the same TransformedTargetRegressor and its
    score, on the original scale, is the trial's."""
    from mlflow_automl.learners import get_learner

    config = _config("regression", penguins_plus)
    learner = get_learner("LightGBM", "regression")
    params = learner.default_params("regression", 300, 8) | {"target_transform": "log1p"}
    outcome, spec = fidelity.evaluate(config, "LightGBM", params)
    files = render(spec)
    script = files[TRAINING_SCRIPT]
    assert "on_log_target(LGBMRegressor(**HYPERPARAMETERS))" in script
    assert "target_transform" not in script  # not a LightGBM argument
    assert_formatted(files, tmp_path / "files")
    result = fidelity.check(
        spec, outcome.metrics[config.metric], [penguins_plus], tmp_path, script_store
    )
    assert result.error == ""
    assert result.difference <= EXACT, result


def test_the_scoring_script_writes_one_label_per_row(penguins_plus, tmp_path, script_store):
    """CatBoost's classifier predicts a column of labels for three classes: the scoring
    script still writes one species name per row."""
    config = _config("classification", penguins_plus)
    _, spec = fidelity.evaluate(config, "CatBoost")
    files = render(spec)
    for name in (TRAINING_SCRIPT, SCORING_SCRIPT):
        (tmp_path / name).write_text(files[name])
    trained = fidelity.run_isolated([TRAINING_SCRIPT, penguins_plus], tmp_path, script_store)
    assert trained.returncode == 0, trained.stderr[-3000:]
    uri = trained.stdout.strip().splitlines()[-1].removeprefix("model: ")
    scored = fidelity.run_isolated(
        [SCORING_SCRIPT, uri, penguins_plus, "out.csv"], tmp_path, script_store
    )
    assert scored.returncode == 0, scored.stderr[-3000:]
    predicted = pd.read_csv(tmp_path / "out.csv")["prediction"]
    truth = pd.read_csv(penguins_plus)["species"]
    assert len(predicted) == len(truth) and set(predicted) <= set(truth)
    assert (predicted == truth).mean() > 0.9  # fitted on these rows


def test_the_script_runs_without_mlflow_automl(tmp_path, script_store):
    done = fidelity.run_isolated(
        ["-c", "import sklearn, lightgbm, xgboost, mlflow; import mlflow_automl"],
        tmp_path,
        script_store,
    )
    assert done.returncode != 0
    assert "No module named 'mlflow_automl'" in done.stderr


@pytest.mark.parametrize(
    "settings",
    [
        {
            "validation_size": 0.25,
            "n_cross_validations": None,
            "primary_metric": "norm_macro_recall",
        },
        {"weight_column_name": "weight", "primary_metric": "precision_score_weighted"},
        {"featurization": "hashing", "primary_metric": "average_precision_score_weighted"},
    ],
    ids=["holdout", "weights", "hashing"],
)
def test_splits_weights_and_hashing(settings, penguins_plus, tmp_path, script_store):
    if settings.get("featurization") == "hashing":
        featurization = FeaturizationConfig()
        featurization.add_blocked_transformers(["TargetEncoder"])
        settings = {**settings, "featurization": featurization}
    config = _config("classification", penguins_plus, **settings)
    _prove(config, "LightGBM", [penguins_plus], tmp_path, script_store)


def test_user_folds(penguins_plus, tmp_path, script_store):
    """cv_split_column_names: the script takes the folds from the same columns."""
    frame = pd.read_csv(penguins_plus)
    for k in range(3):
        frame[f"fold{k}"] = (frame.index % 3 != k).astype(int)
    path = tmp_path / "folds.csv"
    frame.to_csv(path, index=False)
    config = _config(
        "regression",
        str(path),
        n_cross_validations=None,
        cv_split_column_names=["fold0", "fold1", "fold2"],
        primary_metric="r2_score",
    )
    _prove(config, "XGBoostRegressor", [str(path)], tmp_path / "run", script_store)


def test_separate_validation_file_and_weighted_spearman(penguins_plus, tmp_path, script_store):
    frame = pd.read_csv(penguins_plus)
    train, valid = tmp_path / "train.csv", tmp_path / "valid.csv"
    frame.iloc[:250].to_csv(train, index=False)
    frame.iloc[250:].to_csv(valid, index=False)
    config = _config(
        "regression",
        str(train),
        n_cross_validations=None,
        validation_data=str(valid),
        weight_column_name="weight",
        primary_metric="spearman_correlation",
    )
    _prove(config, "RandomForest", [str(train), str(valid)], tmp_path / "run", script_store)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_code_is_plain_and_tidy(task, penguins_plus, tmp_path, assert_formatted):
    """No import of this package, one hyperparameter dict, comments that say where each step
    came from, and laid out as ruff formats it (so it is tidy where ruff is not installed)."""
    _, spec = fidelity.evaluate(_config(task, penguins_plus), "LightGBM")
    files = render(spec)
    script = files[TRAINING_SCRIPT]
    assert "mlflow_automl" not in script
    assert script.count("HYPERPARAMETERS = {") == 1
    assert "target encoding: 120 levels" in script
    assert "date/time" in script and "TfidfVectorizer" in script
    assert_formatted(files, tmp_path)


@pytest.mark.parametrize(
    ("task", "settings"),
    [
        ("classification", {"primary_metric": "AUC_weighted"}),
        ("regression", {"validation_size": 0.25, "n_cross_validations": None}),
        ("classification", {"primary_metric": "AUC_weighted", "final_model": "fold_models"}),
    ],
    ids=["classification-cv", "regression-holdout", "classification-fold-models"],
)
def test_ensembles_reproduce_their_scores(
    task, settings, penguins_plus, tmp_path, script_store, assert_formatted
):
    """Voting: members' out-of-fold predictions averaged with the selection weights; stack: the
    meta-learner cross-validated on them (CV) or trained on a share of the validation rows."""
    config = _config(task, penguins_plus, **settings)
    linear = "LogisticRegression" if task == "classification" else "ElasticNet"
    # A regression member fitted on log1p(y), as a skewed target's search may choose.
    overrides = {} if task == "classification" else {"LightGBM": {"target_transform": "log1p"}}
    learners = ["LightGBM", "RandomForest", "KNN", linear]
    ensembles = fidelity.evaluate_ensembles(config, learners, overrides)
    assert [spec.learner for _, spec in ensembles] == ["VotingEnsemble", "StackEnsemble"]
    for score, spec in ensembles:
        files = render(spec)
        assert "mlflow_automl" not in files[TRAINING_SCRIPT]
        assert "MEMBERS = {" in files[TRAINING_SCRIPT]
        assert ("on_log_target(LGBMRegressor" in files[TRAINING_SCRIPT]) == bool(overrides)
        # Fold models: the voting ensemble's members per fold, averaged; a stack refits.
        fold_models = config.final_model == "fold_models" and spec.learner == "VotingEnsemble"
        assert spec.fold_models == fold_models
        assert ("model = FoldAverage([fit_final(" in files[TRAINING_SCRIPT]) == fold_models
        assert_formatted(files, tmp_path / f"{spec.learner}-files")
        result = fidelity.check(spec, score, [penguins_plus], tmp_path / spec.learner, script_store)
        assert result.error == ""
        assert result.difference <= EXACT, result
