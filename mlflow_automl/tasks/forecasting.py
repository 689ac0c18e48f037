"""Forecasting: time series, rolling-origin folds, forecasters, bagged ensemble selection."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlflow_automl.config import AutoMLConfig
from mlflow_automl.ensemble import bagged_greedy_selection, score_predictions
from mlflow_automl.evaluation.metrics import compute_metrics
from mlflow_automl.featurize import Guardrail
from mlflow_automl.forecasting.charts import forecasting_charts
from mlflow_automl.forecasting.data import (
    ForecastingData,
    ForecastingPlan,
    plan_forecasting,
    prepare_forecasting_data,
)
from mlflow_automl.forecasting.model import AutoMLForecaster, prepare_for_logging
from mlflow_automl.insights.charts import Chart
from mlflow_automl.tasks.base import Task, featurization_for
from mlflow_automl.tasks.names import FORECASTING


class ForecastingTask(Task):
    """Series over time: the data carries its own guardrails (repairs), windows and scales."""

    name = FORECASTING
    onnx_export = False  # ONNX models are made for classification and regression only
    # Feature importance of forecasters (lags of a recursive model, per-series statistical
    # models) is not computed yet.
    explainable = False
    takes_forecasting_settings = True
    split_fallback = False
    prefers_combination = True
    shares_featurized_splits = False
    code_kind = "forecasters"
    model_class = AutoMLForecaster

    def prepare_data(self, config: AutoMLConfig) -> ForecastingData:
        return prepare_forecasting_data(config)

    def plan(self, config: AutoMLConfig, data: ForecastingData) -> ForecastingPlan:
        return plan_forecasting(data, featurization_for(config))

    def guardrails(self, data: ForecastingData, plan: Any) -> list[Guardrail]:
        return list(data.guardrails)  # time-series checks and repairs, from data preparation

    def parsed_date_columns(self, plan: Any) -> tuple[str, ...]:
        return ()  # the time column is the forecaster's own, not a featurized date

    def build_pipeline(
        self,
        plan: ForecastingPlan,
        learner: Any,
        params: dict[str, Any],
        random_state: int,
        n_jobs: int,
    ) -> Any:
        return plan.make_forecaster(learner, params, random_state, n_jobs)

    def record_engineered_counts(
        self, plan: ForecastingPlan, pipeline: Any, ensemble: bool
    ) -> None:
        plan.record_engineered_counts(pipeline)

    def input_example(
        self, model: Any, data: ForecastingData, kinds: dict[str, str], rows: np.ndarray
    ) -> pd.DataFrame:
        return prepare_for_logging(model, data)

    def ensemble_selection(
        self, config: AutoMLConfig, data: ForecastingData
    ) -> tuple[Callable[..., np.ndarray], np.ndarray | None]:
        # A few correlated windows, where plain selection overfits: bagged selection, recent
        # windows weighing more (forecasting refuses weight_column_name).
        select = functools.partial(bagged_greedy_selection, seed=config.random_seed)
        return select, data.recency_weights()

    def score_ensemble(self, data: ForecastingData, predictions: np.ndarray) -> dict[str, float]:
        """Every metric, with each row's MASE denominator."""
        scale = getattr(data, "metric_scale", None)
        if scale is None:
            return score_predictions(self.name, data.y, predictions, data.sample_weight)
        rows = np.flatnonzero(np.isfinite(predictions))
        return compute_metrics(self.name, data.y[rows], predictions[rows], scale=scale[rows])

    def charts(self, data: ForecastingData, predictions: np.ndarray) -> list[Chart]:
        return forecasting_charts(data, predictions)
