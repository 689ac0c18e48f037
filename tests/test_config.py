"""AutoMLConfig: declared rules, conflicts and clear errors, all before any work starts."""

from __future__ import annotations

import mlflow
import pytest

from mlflow_automl import AutoMLConfig, AutoMLConfigError


def base(penguins, **overrides):
    settings = {
        "training_data": penguins,
        "label_column_name": "species",
        "experiment_timeout_minutes": 1,
    }
    settings.update(overrides)
    return settings


def test_settings_dict_as_kwargs(penguins):
    settings = {"primary_metric": "AUC_weighted", "n_cross_validations": 5, "iterations": 4}
    config = AutoMLConfig(task="classification", **base(penguins), **settings)
    assert config.metric == "AUC_weighted"
    assert config.n_cross_validations == 5
    assert config.timeout_seconds == 60


def test_hours_variant_and_defaults(diabetes):
    config = AutoMLConfig(
        task="regression",
        training_data=diabetes,
        label_column_name="target",
        experiment_timeout_hours=0.5,
        iteration_timeout_minutes=2,
    )
    assert config.timeout_seconds == 1800
    assert config.iteration_timeout_seconds == 120
    assert config.metric == "normalized_root_mean_squared_error"
    assert config.featurization == "auto"
    assert config.enable_early_stopping is True


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"task": "clustering"}, "task='clustering'"),
        ({"task": "forecasting"}, "needs time_column_name"),
        ({"primary_metric": "r2_score"}, "does not fit task 'classification'"),
        ({"blocked_models": ["XGBoost"]}, "Unknown model 'XGBoost'"),
        ({"allowed_models": ["LightGBM"], "blocked_models": ["SVM"]}, "allowed_models and blocked"),
        ({"n_cross_validations": 3, "validation_size": 0.2}, "validation_size and n_cross"),
        ({"experiment_timeout_minutes": -1}, "experiment_timeout_minutes=-1"),
        ({"experiment_timeout_hours": 1}, "experiment_timeout_minutes and experiment_timeout_h"),
        ({"iterations": 0}, "iterations=0"),
        ({"n_cross_validations": 1}, "n_cross_validations=1"),
        ({"featurization": "on"}, "featurization='on'"),
        ({"experiment_timout_minutes": 3}, "Did you mean 'experiment_timeout_minutes'"),
        ({"label_column_name": None}, "label_column_name is required"),
        ({"validation_size": 1.5}, "validation_size=1.5"),
    ],
)
def test_rules_raise_clear_errors(penguins, overrides, fragment):
    settings = {"task": "classification", **base(penguins)}
    settings.update(overrides)
    with pytest.raises(AutoMLConfigError, match=None) as info:
        AutoMLConfig(**settings)
    assert fragment in str(info.value)


def test_unknown_model_lists_valid_names(penguins):
    with pytest.raises(AutoMLConfigError) as info:
        AutoMLConfig(task="classification", blocked_models=["XGBoostRegressor"], **base(penguins))
    message = str(info.value)
    assert "XGBoostRegressor" in message
    assert "XGBoostClassifier" in message and "LightGBM" in message


def test_validation_data_with_cross_validation_conflicts(penguins):
    with pytest.raises(AutoMLConfigError, match="validation_data and n_cross_validations"):
        AutoMLConfig(
            task="classification", validation_data=penguins, n_cross_validations=3, **base(penguins)
        )


def test_deprecated_x_y_are_accepted(breast_cancer):
    X = breast_cancer.drop(columns="target")
    with pytest.warns(DeprecationWarning):
        config = AutoMLConfig(task="classification", X=X, y=breast_cancer["target"], iterations=2)
    assert config.label_column_name == "label"
    assert "label" in config.training_data.columns


def test_mlflow_dataset_supplies_its_targets(penguins):
    dataset = mlflow.data.from_pandas(penguins, targets="species", name="penguins")
    config = AutoMLConfig(task="classification", training_data=dataset, iterations=2)
    assert config.training_data is dataset


def test_repr_and_loggable_settings(penguins):
    config = AutoMLConfig(task="classification", **base(penguins))
    assert "training_data" not in config.loggable_settings()
    assert config.loggable_settings()["experiment_timeout_seconds"] == 60
    assert "task='classification'" in repr(config)
