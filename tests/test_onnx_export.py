"""Whole-model ONNX export: featurizer + scaler + learner, raw columns in, parity checked."""

from __future__ import annotations

import mlflow
import numpy as np
import onnxruntime
import pandas as pd
import pytest

from mlflow_automl.ensemble import (
    META_LEARNERS,
    StackEnsemble,
    VotingEnsemble,
    fit_stack,
    make_meta_learner,
)
from mlflow_automl.featurize.config import FeaturizationConfig
from mlflow_automl.featurize.plan import plan_featurization
from mlflow_automl.learners.registry import LEARNERS, get_learner
from mlflow_automl.model import build_pipeline, fit_pipeline, predict_scores, wrap_fitted
from mlflow_automl.onnx_export import (
    convert_model,
    onnx_compatible_featurization,
    onnx_inputs,
    onnx_signature,
)

CLASSIFICATION, REGRESSION = "classification", "regression"
ODD_NAMES = {"bill_length_mm": "bill length (mm)", "island": "island/name", "sex": "sex?"}


def fit_model(X: pd.DataFrame, y: pd.Series, task: str, name: str, featurization="auto"):
    """Build and fit a model exactly as the engine does."""
    if task == CLASSIFICATION:
        classes, codes = np.unique(y.astype(str), return_inverse=True)
    else:
        classes, codes = None, y.to_numpy(dtype=np.float64)
    plan = plan_featurization(X, featurization, task)
    learner = get_learner(name, task)
    params = learner.default_params(task, len(X), X.shape[1])
    pipeline = build_pipeline(plan, learner, params, task, random_state=0)
    fit_pipeline(pipeline, learner, X, codes, None)
    return wrap_fitted(pipeline, task, classes, list(X.columns), name, params)


def float32_rows(X: pd.DataFrame) -> pd.DataFrame:
    """What the graph sees of numeric columns."""
    numeric = X.select_dtypes("number").columns
    return X.astype({c: np.float32 for c in numeric}).astype({c: np.float64 for c in numeric})


def run(export, X: pd.DataFrame, string_columns: set) -> list[np.ndarray]:
    session = onnxruntime.InferenceSession(
        export.model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, onnx_inputs(X, export.input_names, string_columns))


def numeric_split(frame: pd.DataFrame):
    X, y = frame.drop(columns="target"), frame["target"]
    X = X.copy()
    X.iloc[::9, 1] = np.nan  # exercises the imputer and its missing indicator
    return X.iloc[:300], y.iloc[:300], X.iloc[300:], y.iloc[300:]


def onnx_cases() -> list[tuple[str, str]]:
    return [
        (task, name)
        for task in (CLASSIFICATION, REGRESSION)
        for name, learner in LEARNERS.items()
        if task in learner.tasks and learner.onnx_compatible
    ]


@pytest.mark.parametrize(("task", "name"), onnx_cases())
def test_numeric_pipeline_converts_with_parity(task, name, breast_cancer, diabetes):
    X_train, y_train, X_valid, _ = numeric_split(
        breast_cancer if task == CLASSIFICATION else diabetes
    )
    model = fit_model(X_train, y_train, task, name)

    export = convert_model(model, X_valid)

    assert export.error is None, export.error
    assert export.input_names == {c: c for c in X_train.columns}
    outputs = run(export, X_valid, set())
    if task == CLASSIFICATION:
        assert export.max_abs_diff <= 1e-5
        proba = model.predict_proba(float32_rows(X_valid))
        np.testing.assert_allclose(outputs[1], proba, atol=1e-5)
        clear = np.abs(proba[:, 1] - 0.5) > 1e-5
        labels = model.classes_[proba.argmax(axis=1)]  # the label output holds user labels
        np.testing.assert_array_equal(outputs[0][clear], labels[clear])
    else:
        predicted = model.predict(float32_rows(X_valid))
        assert export.max_abs_diff <= 1e-5 * max(1.0, np.abs(predicted).max())
        np.testing.assert_allclose(outputs[0].ravel(), predicted, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("task", [CLASSIFICATION, REGRESSION])
def test_unconvertible_learner_is_an_error_not_an_exception(task, breast_cancer, diabetes):
    X_train, y_train, X_valid, _ = numeric_split(
        breast_cancer if task == CLASSIFICATION else diabetes
    )
    model = fit_model(X_train, y_train, task, "GradientBoosting")

    export = convert_model(model, X_valid)

    assert export.model is None and export.max_abs_diff is None
    assert "is not convertible" in export.error and "GradientBoosting" in export.error


@pytest.mark.parametrize("codes", [True, False])
def test_catboost_on_category_codes_is_refused_and_on_encodings_converts(penguins, codes):
    """CatBoost's own export takes numeric features only: reading the categories itself it is
    refused by name; with the plan's encodings (enable_onnx_compatible_models) it converts."""
    X, y = penguins.drop(columns="species"), penguins["species"]
    classes, labels = np.unique(y.astype(str), return_inverse=True)
    plan = plan_featurization(X, "auto", CLASSIFICATION)
    plan.native_categoricals = codes
    learner = get_learner("CatBoost", CLASSIFICATION)
    pipeline = build_pipeline(plan, learner, {"n_estimators": 20}, CLASSIFICATION, 0)
    fit_pipeline(pipeline, learner, X, labels, None)
    model = wrap_fitted(pipeline, CLASSIFICATION, classes, list(X.columns), "CatBoost", {})

    export = convert_model(model, X)

    if codes:
        assert export.model is None
        assert "CatBoost reading categorical columns itself is not convertible" in export.error
    else:
        assert export.error is None, export.error
        proba = model.predict_proba(float32_rows(X))
        np.testing.assert_allclose(run(export, X, {"island", "sex"})[1], proba, atol=1e-4)


@pytest.mark.parametrize("name", ["LogisticRegression", "LightGBM", "XGBoostClassifier"])
def test_categorical_columns_with_missing_values(name, penguins):
    X, y = penguins.drop(columns="species"), penguins["species"]
    assert X["sex"].isna().any()
    model = fit_model(X, y, CLASSIFICATION, name)

    export = convert_model(model, X)

    assert export.error is None, export.error
    assert export.max_abs_diff <= 1e-4
    proba = model.predict_proba(float32_rows(X))
    np.testing.assert_allclose(run(export, X, {"island", "sex"})[1], proba, atol=1e-4)


def test_odd_column_names_are_the_onnx_input_names(penguins):
    X = penguins.drop(columns="species").rename(columns=ODD_NAMES)
    model = fit_model(X, penguins["species"], CLASSIFICATION, "LightGBM")

    export = convert_model(model, X)

    assert export.error is None, export.error
    assert export.input_names == {c: c for c in X.columns}
    assert [i.name for i in export.model.graph.input] == list(X.columns)


def test_text_and_target_encoded_columns(penguins):
    words = ["big bird", "small bird swims", "the penguin dives deep", "cold ice, fish!"]
    X = penguins.drop(columns=["sex"]).assign(
        note=[None if i % 11 == 0 else words[i % 4] for i in range(len(penguins))]
    )
    y = penguins["sex"].fillna("female")
    config = FeaturizationConfig()
    config.add_column_purpose("note", "Text")
    config.add_blocked_transformers(["OneHotEncoder"])  # species and island -> TargetEncoder
    model = fit_model(X, y, CLASSIFICATION, "LogisticRegression", config)
    kinds = {spec.raw: spec.kind for spec in plan_featurization(X, config).specs}
    assert kinds["note"] == "text" and kinds["island"] == "target"

    export = convert_model(model, X)

    assert export.error is None, export.error
    assert export.max_abs_diff <= 1e-4


def test_multiclass_target_encoder_is_unconvertible(penguins):
    X = penguins.drop(columns="species")
    config = FeaturizationConfig()
    config.add_blocked_transformers(["OneHotEncoder"])
    model = fit_model(X, penguins["species"], CLASSIFICATION, "LogisticRegression", config)

    export = convert_model(model, X)

    assert export.model is None
    assert export.error.startswith("TargetEncoder is not convertible")


def test_datetime_and_hashed_columns_are_unconvertible(penguins):
    X = penguins.drop(columns="species").assign(
        when=pd.date_range("2020-01-01", periods=len(penguins), freq="37h")
    )
    assert not onnx_compatible_featurization(plan_featurization(X, "auto", CLASSIFICATION))
    model = fit_model(X, penguins["species"], CLASSIFICATION, "LogisticRegression")
    export = convert_model(model, X)
    assert export.model is None and "DateTimeFeaturizer is not convertible" in export.error

    config = FeaturizationConfig()
    config.add_transformer_params("HashOneHotEncoder", ["island"], {"number_of_bits": 3})
    X = X.drop(columns="when")
    assert not onnx_compatible_featurization(plan_featurization(X, config, CLASSIFICATION))
    model = fit_model(X, penguins["species"], CLASSIFICATION, "LogisticRegression", config)
    export = convert_model(model, X)
    assert export.model is None and "HashingEncoder is not convertible" in export.error


def test_compatible_featurization_plans(penguins, diabetes):
    assert onnx_compatible_featurization(plan_featurization(penguins, "auto", CLASSIFICATION))
    assert onnx_compatible_featurization(plan_featurization(diabetes, "off", REGRESSION))


def test_parity_miss_is_reported_with_the_model(breast_cancer):
    X_train, y_train, X_valid, _ = numeric_split(breast_cancer)
    model = fit_model(X_train, y_train, CLASSIFICATION, "LogisticRegression")

    export = convert_model(model, X_valid, tolerance=0.0)

    assert export.model is not None and export.max_abs_diff > 0
    assert export.error.startswith("ONNX parity") and "exceeds" in export.error


def test_mlflow_onnx_pyfunc_scores_a_raw_dataframe(penguins, tmp_path):
    X = penguins.drop(columns="species").rename(columns=ODD_NAMES)
    model = fit_model(X, penguins["species"], CLASSIFICATION, "LightGBM")
    export = convert_model(model, X)
    assert export.error is None, export.error
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    try:
        with mlflow.start_run():
            info = mlflow.onnx.log_model(
                export.model, name="onnx_model", signature=onnx_signature(export, X)
            )
        loaded = mlflow.pyfunc.load_model(info.model_uri)
        # Raw rows as a user has them: NaN in strings and numbers, the target column included.
        raw = penguins.rename(columns=ODD_NAMES).sample(frac=1.0, random_state=0)
        predicted = loaded.predict(raw.reset_index(drop=True))
    finally:
        mlflow.set_tracking_uri(None)

    proba = model.predict_proba(float32_rows(raw))
    assert raw["sex?"].isna().any()
    np.testing.assert_allclose(predicted["probabilities"], proba, atol=1e-4)
    # the label output carries the user's labels, not class codes
    np.testing.assert_array_equal(predicted["label"].ravel(), model.classes_[proba.argmax(axis=1)])


# -- ensembles ------------------------------------------------------------------------------------

ENSEMBLE_MEMBERS = {
    CLASSIFICATION: ["LightGBM", "LogisticRegression", "RandomForest", "XGBoostClassifier"],
    REGRESSION: ["LightGBM", "ElasticNet", "ExtremeRandomTrees", "XGBoostRegressor"],
}


def ensemble_case(frame: pd.DataFrame, label: str, task: str):
    """Members fitted on even rows as the engine would; odd rows held out for parity."""
    X, y = frame.drop(columns=label), frame[label]
    X_fit, y_fit, X_valid = X.iloc[::2], y.iloc[::2], X.iloc[1::2]
    members = [fit_model(X_fit, y_fit, task, name) for name in ENSEMBLE_MEMBERS[task]]
    codes = (
        np.unique(y_fit.astype(str), return_inverse=True)[1]
        if task == CLASSIFICATION
        else y_fit.to_numpy(dtype=np.float64)
    )
    return X_fit, codes, X_valid, members


def wrap_ensemble(ensemble, task: str, members, X_fit):
    return wrap_fitted(
        ensemble, task, getattr(members[0], "classes_", None), list(X_fit.columns), "Ensemble", {}
    )


def check_onnx_matches(model, export, X_valid, string_columns):
    assert export.error is None, export.error
    outputs = run(export, X_valid, string_columns)
    if model.task == CLASSIFICATION:
        assert export.max_abs_diff <= 1e-5
        proba = model.predict_proba(float32_rows(X_valid))
        np.testing.assert_allclose(outputs[1], proba, atol=1e-5)
        np.testing.assert_array_equal(outputs[0], model.classes_[proba.argmax(axis=1)])
    else:
        predicted = model.predict(float32_rows(X_valid))
        assert export.max_abs_diff <= 1e-5 * max(1.0, np.abs(predicted).max())
        np.testing.assert_allclose(outputs[0].ravel(), predicted, rtol=1e-5)


@pytest.fixture(scope="module")
def penguin_species(penguins):
    return ensemble_case(penguins, "species", CLASSIFICATION)


@pytest.fixture(scope="module")
def penguin_mass(penguins):
    return ensemble_case(penguins.dropna(subset=["body_mass_g"]), "body_mass_g", REGRESSION)


@pytest.fixture(scope="module")
def cancer_binary(breast_cancer):
    return ensemble_case(breast_cancer, "target", CLASSIFICATION)


@pytest.mark.parametrize("case", ["cancer_binary", "penguin_species", "penguin_mass"])
def test_voting_ensemble_converts_with_parity(case, request):
    X_fit, _, X_valid, members = request.getfixturevalue(case)
    task = members[0].task
    n_classes = None if task == REGRESSION else len(members[0].classes_)
    # A zero weight leaves that member out of the graph altogether.
    weights = [0.4, 0.3, 0.0, 0.3]
    ensemble = VotingEnsemble.from_fitted(
        [(m.learner_name, m.pipeline_) for m in members], weights, task, n_classes
    )
    model = wrap_ensemble(ensemble, task, members, X_fit)

    export = convert_model(model, X_valid)

    check_onnx_matches(model, export, X_valid, set(X_valid.select_dtypes(exclude="number")))
    assert not any(n.name.startswith("member2_") for n in export.model.graph.node)


def stack_cases() -> list[tuple[str, str]]:
    """Every meta-learner type, on each case whose task it fits."""
    cases = []
    for meta in META_LEARNERS:
        for case, task in (
            ("cancer_binary", CLASSIFICATION),
            ("penguin_species", CLASSIFICATION),
            ("penguin_mass", REGRESSION),
        ):
            try:
                make_meta_learner(task, meta)
            except ValueError:  # not a meta-learner for this task
                continue
            cases.append((case, meta))
    return cases


@pytest.mark.parametrize(("case", "meta_type"), stack_cases())
def test_stack_ensemble_converts_with_parity(case, meta_type, request):
    X_fit, codes, X_valid, members = request.getfixturevalue(case)
    task = members[0].task
    n_classes = None if task == REGRESSION else len(members[0].classes_)
    # The meta-learner learns from the members' predictions, as fit_stack does in the engine.
    predictions = [predict_scores(m.pipeline_, X_fit, n_classes) for m in members]
    meta = fit_stack(predictions, codes, task, meta_type).meta_learner
    pairs = [(m.learner_name, m.pipeline_) for m in members]
    model = wrap_ensemble(
        StackEnsemble.from_fitted(pairs, meta, task, n_classes), task, members, X_fit
    )

    export = convert_model(model, X_valid)

    check_onnx_matches(model, export, X_valid, set(X_valid.select_dtypes(exclude="number")))
