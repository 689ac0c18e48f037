"""Each task's strategy: data and splits, metric set, ensemble rule, model wrapper, charts."""

from __future__ import annotations

import numpy as np
import pytest

import mlflow_automl as automl
from mlflow_automl.ensemble import bagged_greedy_selection, greedy_selection
from mlflow_automl.evaluation.metrics import metrics_for_task
from mlflow_automl.forecasting.data import ForecastingData, ForecastingPlan
from mlflow_automl.forecasting.model import AutoMLForecaster
from mlflow_automl.learners import get_learner
from mlflow_automl.model import AutoMLClassifier, AutoMLRegressor, build_pipeline, wrap_fitted
from mlflow_automl.tasks import (
    CLASSIFICATION,
    FORECASTING,
    REGRESSION,
    TASKS,
    Task,
    get_task,
    prepare_training_data,
)
from mlflow_automl.tasks.forecasting import ForecastingTask
from mlflow_automl.tasks.tabular import TabularTask


def _config(task: str, frame, label: str, **settings) -> automl.AutoMLConfig:
    return automl.AutoMLConfig(task=task, training_data=frame, label_column_name=label, **settings)


def test_one_strategy_object_per_task_name():
    assert TASKS == (CLASSIFICATION, REGRESSION, FORECASTING)
    for name in TASKS:
        task = get_task(name)
        assert isinstance(task, Task) and task.name == name
        assert get_task(name) is task  # stateless: one shared instance
    assert isinstance(get_task(CLASSIFICATION), TabularTask)
    assert isinstance(get_task(REGRESSION), TabularTask)
    assert isinstance(get_task(FORECASTING), ForecastingTask)


def test_an_unknown_task_is_refused_with_the_valid_names():
    with pytest.raises(ValueError, match="Unknown task 'ranking'.*classification, regression"):
        get_task("ranking")
    with pytest.raises(automl.AutoMLConfigError, match="task.*classification"):
        automl.AutoMLConfig(task="ranking", training_data=None, label_column_name="y")


def test_the_tasks_are_defined_once():
    from mlflow_automl import config, learners
    from mlflow_automl.evaluation import metrics

    assert learners.TASKS is TASKS and config.TASKS is TASKS
    assert (metrics.CLASSIFICATION, metrics.REGRESSION, metrics.FORECASTING) == TASKS
    assert not hasattr(config, "SUPPORTED_TASKS")  # a second list whose check never fired


def test_each_task_declares_its_metric_set_and_primary_metrics():
    for name in TASKS:
        task = get_task(name)
        assert task.metrics == metrics_for_task(name)
        assert set(task.primary_metrics) <= set(task.metrics)
    assert "AUC_weighted" in get_task(CLASSIFICATION).metrics
    assert "normalized_mean_absolute_error" in get_task(FORECASTING).primary_metrics


def test_each_task_declares_what_it_allows():
    classification, regression, forecasting = map(get_task, TASKS)
    assert classification.predicts_classes and not regression.predicts_classes
    assert not forecasting.predicts_classes
    assert classification.onnx_export and regression.onnx_export and not forecasting.onnx_export
    assert forecasting.takes_forecasting_settings and not regression.takes_forecasting_settings
    # A forecaster fitted on an earlier window forecasts from the wrong origin.
    assert regression.split_fallback and not forecasting.split_fallback
    assert forecasting.prefers_combination and not classification.prefers_combination


def test_classification_prepares_encoded_labels_and_stratified_folds(penguins):
    config = _config(CLASSIFICATION, penguins, "species", n_cross_validations=3)
    data = prepare_training_data(config)
    assert list(data.classes) == ["Adelie", "Chinstrap", "Gentoo"]
    shares = np.bincount(data.y) / len(data.y)
    for _, valid in data.splits:  # stratified: each fold keeps the class shares
        np.testing.assert_allclose(np.bincount(data.y[valid]) / len(valid), shares, atol=0.02)
    task = get_task(CLASSIFICATION)
    assert task.stratify(data.y) is data.y
    assert get_task(REGRESSION).stratify(data.y) is None


@pytest.mark.parametrize("onnx", [False, True])
def test_a_tabular_plan_gives_category_codes_unless_models_must_convert(penguins, onnx):
    """CatBoost's ONNX export takes numeric features only: with ONNX-compatible models it gets
    the encoded columns, and its model converts."""
    config = _config(CLASSIFICATION, penguins, "species", enable_onnx_compatible_models=onnx)
    task = get_task(CLASSIFICATION)
    plan = task.plan(config, prepare_training_data(config))
    assert plan.native_categoricals is not onnx
    assert plan.categorical_code_count() == (0 if onnx else 2)  # island, sex


def test_regression_prepares_float_labels_and_plain_folds(diabetes):
    data = prepare_training_data(_config(REGRESSION, diabetes, "target", n_cross_validations=4))
    assert data.classes is None and data.y.dtype == np.float64
    assert len(data.splits) == 4 and data.strategy.kind == "cross_validation"


def test_forecasting_prepares_rolling_origin_windows_and_its_plan(visnights):
    config = _config(
        FORECASTING,
        visnights,
        "trips",
        time_column_name="quarter",
        time_series_id_column_names=["region"],
        forecast_horizon=8,
    )
    task = get_task(FORECASTING)
    data = task.prepare_data(config)
    assert isinstance(data, ForecastingData) and data.strategy.kind == "rolling_origin"
    assert isinstance(task.plan(config, data), ForecastingPlan)
    names = [g.name for g in task.guardrails(data, None)]
    assert "Frequency detection" in names  # the repairs made while preparing the series
    assert task.parsed_date_columns(None) == ()


def test_the_task_picks_the_pipeline_and_the_model_wrapper(diabetes):
    config = _config(REGRESSION, diabetes, "target", n_cross_validations=3)
    task = get_task(REGRESSION)
    data = task.prepare_data(config)
    plan = task.plan(config, data)
    learner = get_learner("ElasticNet", REGRESSION)
    params = learner.low_cost_params(REGRESSION, data.n_rows, data.X.shape[1])
    pipeline = build_pipeline(plan, learner, params, REGRESSION, 0).fit(data.X, data.y)
    assert [name for name, _ in pipeline.steps][0] == "featurize"
    model = wrap_fitted(pipeline, REGRESSION, None, list(data.X.columns), "ElasticNet", params)
    assert type(model) is AutoMLRegressor
    assert get_task(CLASSIFICATION).model_class is AutoMLClassifier
    assert get_task(FORECASTING).model_class is AutoMLForecaster


def test_forecasting_builds_a_forecaster_from_its_plan(visnights_data):
    data, plan = visnights_data
    learner = get_learner("Naive", FORECASTING)
    forecaster = build_pipeline(plan, learner, {}, FORECASTING, 0)
    assert forecaster is not None and not hasattr(forecaster, "named_steps")


def test_the_ensemble_rule_is_the_tasks(penguins, visnights_data):
    config = _config(CLASSIFICATION, penguins, "species")
    data = prepare_training_data(config)
    select, weights = get_task(CLASSIFICATION).ensemble_selection(config, data)
    assert select is greedy_selection and weights is data.sample_weight
    forecasting, _ = visnights_data
    select, weights = get_task(FORECASTING).ensemble_selection(config, forecasting)
    assert select.func is bagged_greedy_selection and select.keywords == {"seed": 0}
    np.testing.assert_array_equal(weights, forecasting.recency_weights())


def test_ensembles_are_scored_with_the_tasks_metrics(visnights_data):
    data, _ = visnights_data
    perfect = data.y.astype(float).copy()
    metrics = get_task(FORECASTING).score_ensemble(data, perfect)
    assert set(metrics) == set(metrics_for_task(FORECASTING))
    assert metrics["mean_absolute_scaled_error"] == 0.0  # scaled by each row's denominator


def test_each_task_draws_its_chart_set(penguins, visnights_data):
    data = prepare_training_data(_config(CLASSIFICATION, penguins, "species"))
    proba = np.eye(3)[data.y]
    names = {c.name for c in get_task(CLASSIFICATION).charts(data, proba)}
    assert "confusion_matrix" in names
    forecasting, _ = visnights_data
    names = {c.name for c in get_task(FORECASTING).charts(forecasting, forecasting.y.copy())}
    assert {"forecast_vs_actual", "error_by_horizon"} <= names
