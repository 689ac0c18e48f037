"""FeaturizationConfig customization, its validation, and the "off" mode."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlflow_automl.featurize import (
    BLOCKABLE_TRANSFORMERS,
    FeaturizationConfig,
    plan_featurization,
)


def _summary(plan):
    return {s.raw_feature_name: s for s in plan.summary}


def test_column_purpose_overrides_inference(titanic_like):
    X, y = titanic_like
    config = FeaturizationConfig(column_purposes={"Pclass": "Categorical"})
    config.add_column_purpose("Fare", "Ignore")
    config.add_column_purpose("PassengerId", "Numeric")
    plan = plan_featurization(X, config)
    summary = _summary(plan)
    assert plan.mode == "custom"
    assert summary["Pclass"].type_detected == "Categorical"
    assert summary["Pclass"].transformations == ["OneHotEncoder"]
    assert summary["Fare"].dropped and summary["Fare"].type_detected == "Ignore"
    assert not summary["PassengerId"].dropped
    transformer = plan.make_transformer()
    transformer.fit(X, y)
    names = set(transformer.get_feature_names_out())
    assert {"Pclass__1", "Pclass__2", "Pclass__3", "PassengerId"} <= names
    assert not any(n.startswith("Fare") for n in names)


def test_imputer_median_strategy(titanic_like):
    X, y = titanic_like
    config = FeaturizationConfig()
    config.add_transformer_params("Imputer", ["Age"], {"strategy": "median"})
    plan = plan_featurization(X[["Age", "Sex"]], config)
    assert _summary(plan)["Age"].transformations == ["MedianImputer", "MissingIndicator"]
    transformer = plan.make_transformer()
    out = transformer.fit_transform(X[["Age", "Sex"]], y)
    age = out[:, list(transformer.get_feature_names_out()).index("Age")]
    missing = X["Age"].isna().to_numpy()
    assert np.allclose(age[missing], X["Age"].median())


def test_constant_imputer_for_categorical(titanic_like):
    X, y = titanic_like
    config = FeaturizationConfig(
        transformer_params={
            "Imputer": [(["Embarked"], {"strategy": "constant", "fill_value": "U"})]
        }
    )
    plan = plan_featurization(X[["Embarked", "Fare"]], config)
    assert _summary(plan)["Embarked"].transformations == ["ConstantImputer", "OneHotEncoder"]
    transformer = plan.make_transformer()
    transformer.fit(X[["Embarked", "Fare"]], y)
    assert "Embarked__U" in transformer.get_feature_names_out()


def test_numeric_imputer_strategy_rejected_for_categorical(titanic_like):
    X, _ = titanic_like
    config = FeaturizationConfig()
    config.add_transformer_params("Imputer", ["Sex"], {"strategy": "mean"})
    with pytest.raises(ValueError, match="'Sex'"):
        plan_featurization(X, config)


def test_blocked_transformers(titanic_like):
    X, y = titanic_like
    config = FeaturizationConfig()
    config.add_blocked_transformers(["OneHotEncoder", "MissingIndicator", "TfIdf"])
    plan = plan_featurization(X, config)
    summary = _summary(plan)
    assert summary["Sex"].transformations == ["TargetEncoder"]
    assert "OneHotEncoder blocked" in summary["Sex"].reason
    assert summary["Age"].transformations == ["MeanImputer"]
    assert summary["Name"].dropped
    transformer = plan.make_transformer()
    transformer.fit(X, y)
    assert not any(
        "missing" in n or n.startswith("Name") for n in transformer.get_feature_names_out()
    )


def test_drop_columns(titanic_like):
    X, _ = titanic_like
    config = FeaturizationConfig(drop_columns=["Name"])
    config.add_drop_columns(["Cabin"])
    plan = plan_featurization(X, config)
    summary = _summary(plan)
    assert summary["Name"].dropped and summary["Cabin"].dropped
    assert "drop_columns" in summary["Cabin"].reason
    assert "Name" not in plan.feature_columns and "Cabin" not in plan.feature_columns


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda c: c.add_column_purpose("Age", "Integer"), "Integer"),
        (lambda c: c.add_transformer_params("Scaler", ["Age"], {}), "Scaler"),
        (lambda c: c.add_transformer_params("Imputer", ["Age"], {"method": "x"}), "method"),
        (lambda c: c.add_transformer_params("Imputer", ["Age"], {"strategy": "max"}), "max"),
        (
            lambda c: c.add_transformer_params("HashOneHotEncoder", ["Age"], {"number_of_bits": 0}),
            "0",
        ),
        (lambda c: c.add_transformer_params("TfIdf", ["Name"], {"ngram_range": (2, 1)}), "(2, 1)"),
        (lambda c: c.add_blocked_transformers(["LabelEncoder"]), "LabelEncoder"),
    ],
)
def test_config_rejects_bad_settings_immediately(build, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build(FeaturizationConfig())


def test_config_validation_names_unknown_columns(titanic_like):
    X, _ = titanic_like
    config = FeaturizationConfig(column_purposes={"Agee": "Numeric"}, drop_columns=["Cabn"])
    with pytest.raises(ValueError, match="'Agee'.*'Cabn'"):
        config.validate(list(X.columns))
    with pytest.raises(ValueError, match="'Agee'"):
        plan_featurization(X, config)
    params_only = FeaturizationConfig()
    params_only.add_transformer_params("Imputer", ["Fair"], {"strategy": "median"})
    with pytest.raises(ValueError, match="'Fair'"):
        plan_featurization(X, params_only)


def test_config_to_dict_is_json_and_case_insensitive_names():
    config = FeaturizationConfig(
        column_purposes={"a": "numeric"},
        transformer_params={"TfIdf": [(["t"], {"max_features": 10, "ngram_range": (1, 3)})]},
        blocked_transformers=["tfidf"],
        drop_columns=["d"],
    )
    as_dict = json.loads(json.dumps(config.to_dict()))
    assert as_dict == {
        "column_purposes": {"a": "Numeric"},
        "transformer_params": {"TfIdf": [[["t"], {"max_features": 10, "ngram_range": [1, 3]}]]},
        "blocked_transformers": ["TfIdf"],
        "drop_columns": ["d"],
    }
    assert set(config.blocked_transformers) <= set(BLOCKABLE_TRANSFORMERS)


def test_tfidf_params_are_applied(titanic_like):
    X, y = titanic_like
    config = FeaturizationConfig()
    config.add_transformer_params("TfIdf", ["Name"], {"max_features": 7, "ngram_range": (1, 1)})
    plan = plan_featurization(X[["Name", "Fare"]], config)
    transformer = plan.make_transformer()
    transformer.fit(X[["Name", "Fare"]], y)
    plan.record_engineered_counts(transformer)
    assert _summary(plan)["Name"].engineered_feature_count == 7


@pytest.mark.parametrize("bad", ["on", "Auto-ish", None, {"mode": "auto"}])
def test_invalid_featurization_value(breast_cancer, bad):
    X, _ = breast_cancer
    with pytest.raises(ValueError, match="featurization"):
        plan_featurization(X, bad)


def test_off_mode_rejects_non_numeric_columns_naming_all(titanic_like):
    X, _ = titanic_like
    with pytest.raises(ValueError) as excinfo:
        plan_featurization(X, "off")
    message = str(excinfo.value)
    for column in ("Name", "Sex", "Ticket", "Cabin", "Embarked", "Boarded", "Ship"):
        assert repr(column) in message
    assert "'Age'" not in message


def test_off_mode_passes_numbers_through_with_nan(titanic_like):
    X, y = titanic_like
    X = X[["PassengerId", "Age", "Fare"]].assign(Flag=X["Sex"] == "male")
    plan = plan_featurization(X, "off")
    assert plan.mode == "off" and plan.has_missing_values
    assert {s.type_detected for s in plan.summary} == {"Numeric"}
    assert all(s.transformations == ["PassThrough"] for s in plan.summary)
    out = plan.make_transformer().fit_transform(X, y)
    expected = X.astype(float).to_numpy()
    np.testing.assert_array_equal(out, expected)
    assert np.isnan(out[:, 1]).any()
