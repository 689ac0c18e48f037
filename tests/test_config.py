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


# --- Azure's names, and settings checked against the installed libraries ----------------------
AZURE_ENSEMBLE_SETTINGS = {
    "stack_meta_learner_type": "LogisticRegressionCV",
    "stack_meta_learner_train_percentage": 0.3,
    "stack_meta_learner_kwargs": {
        "refit": True,
        "fit_intercept": False,
        "class_weight": "balanced",
        "multi_class": "auto",
        "n_jobs": -1,
    },
}


@pytest.mark.slow  # a whole experiment or a chart set per case: seconds each
def test_azure_document_ensemble_settings_end_to_end(sqlite_store, breast_cancer):
    """The Azure document's own example: scikit-learn >= 1.8 has no multi_class, whose 'auto'
    is now its only behaviour; it is dropped with a warning and a tag, and a model comes back
    with the stack ensemble built from the other keywords."""
    with pytest.warns(UserWarning, match="multi_class"):
        config = AutoMLConfig(
            task="classification",
            primary_metric="AUC_weighted",
            training_data=breast_cancer,
            label_column_name="target",
            n_cross_validations=5,
            iterations=4,
            allowed_models=["LogisticRegression", "LightGBM", "RandomForest"],
            model_explainability=False,
            **AZURE_ENSEMBLE_SETTINGS,
        )
    assert "multi_class" not in config.stack_meta_learner_kwargs
    assert config.stack_meta_learner_kwargs["class_weight"] == "balanced"
    import mlflow_automl as automl

    run = automl.submit(config, experiment_name="azure-ensemble")
    assert run.run.info.status == "FINISHED"
    assert "multi_class" in run.run.data.tags["automl.dropped_settings"]
    children = mlflow.search_runs(
        [run.run.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{run.run_id}'",
        output_format="list",
    )
    assert "StackEnsemble" in {c.data.tags["automl.learner"] for c in children}
    _, model = run.get_output()
    features = breast_cancer.drop(columns="target").iloc[:20]
    assert set(model.predict(features)) <= {"malignant", "benign"}


@pytest.mark.parametrize(
    ("azure", "ours", "value", "other"),
    [
        ("freq", "frequency", "QS", "MS"),
        ("target_aggregation_function", "target_aggregate_function", "mean", "sum"),
        ("short_series_handling_configuration", "short_series_handling_config", "drop", "pad"),
        ("max_horizon", "forecast_horizon", 4, 8),
        ("grain_column_names", "time_series_id_column_names", ["region"], ["state"]),
    ],
)
def test_azure_forecasting_names_are_accepted(visnights, azure, ours, value, other):
    settings = {
        "training_data": visnights,
        "label_column_name": "trips",
        "time_column_name": "quarter",
    }
    config = AutoMLConfig(task="forecasting", **settings, **{azure: value})
    assert config.get(ours) == value
    assert azure not in config.loggable_settings()
    # both names with the same value are one setting; different values are an error
    assert AutoMLConfig(task="forecasting", **settings, **{azure: value, ours: value}).get(ours)
    with pytest.raises(AutoMLConfigError, match=f"{azure}=.*{ours}="):
        AutoMLConfig(task="forecasting", **settings, **{azure: value, ours: other})


def test_onnx_is_refused_for_forecasting(visnights):
    with pytest.raises(AutoMLConfigError, match="enable_onnx_compatible_models.*forecasting"):
        AutoMLConfig(
            task="forecasting",
            training_data=visnights,
            label_column_name="trips",
            time_column_name="quarter",
            enable_onnx_compatible_models=True,
        )


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("experiment_timeout_minutes", float("inf")),
        ("experiment_timeout_minutes", float("nan")),
        ("experiment_timeout_hours", 1e300),
        ("iteration_timeout_minutes", 1e-6),
        ("experiment_exit_score", float("nan")),
        ("max_cores_per_iteration", 0),
        ("random_seed", 2**32),
    ],
)
def test_numeric_settings_must_be_usable(penguins, setting, value):
    with pytest.raises(AutoMLConfigError, match=f"{setting}="):
        AutoMLConfig(task="classification", **base(penguins, **{setting: value}))


def test_unused_run_configuration_is_dropped_with_a_warning(penguins):
    with pytest.warns(UserWarning, match="run_configuration"):
        config = AutoMLConfig(task="classification", **base(penguins), run_configuration={"a": 1})
    assert "run_configuration" in config.dropped_settings


def test_fold_models_need_folds(penguins, visnights):
    """final_model='fold_models' asks for models of cross-validation folds: where trials get
    none, or a fold model would forecast from the wrong origin, the setting is refused."""
    config = AutoMLConfig(task="classification", **base(penguins, final_model="fold_models"))
    assert config.final_model == "fold_models"
    with pytest.raises(AutoMLConfigError, match="final_model='fold_models'.*validation_size"):
        AutoMLConfig(
            task="classification", **base(penguins, final_model="fold_models", validation_size=0.2)
        )
    with pytest.raises(AutoMLConfigError, match="final_model='fold_models'.*forecasting"):
        AutoMLConfig(
            task="forecasting",
            training_data=visnights,
            label_column_name="trips",
            time_column_name="quarter",
            final_model="fold_models",
        )
    with pytest.raises(AutoMLConfigError, match="final_model.*'refit', 'fold_models', 'auto'"):
        AutoMLConfig(task="classification", **base(penguins, final_model="bagged"))


def test_stack_passthrough_is_checked_before_any_run(penguins, visnights):
    """A stack on the features: its LightGBM default takes LightGBM keywords; forecasting and
    ONNX-only experiments, where it cannot work, refuse it by name."""
    config = AutoMLConfig(
        task="classification",
        **base(penguins, stack_passthrough=True, stack_meta_learner_kwargs={"num_leaves": 7}),
    )
    assert config.stack_passthrough is True
    with pytest.raises(AutoMLConfigError, match="LogisticRegressionCV has no parameter"):
        AutoMLConfig(
            task="classification", **base(penguins, stack_meta_learner_kwargs={"num_leaves": 7})
        )
    with pytest.raises(AutoMLConfigError, match="stack_passthrough.*forecasting"):
        AutoMLConfig(
            task="forecasting",
            training_data=visnights,
            label_column_name="trips",
            time_column_name="quarter",
            stack_passthrough=True,
        )
    with pytest.raises(AutoMLConfigError, match="stack_passthrough and enable_onnx"):
        AutoMLConfig(
            task="classification",
            **base(penguins, stack_passthrough=True, enable_onnx_compatible_models=True),
        )
