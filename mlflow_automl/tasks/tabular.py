"""What classification and regression share: a table of rows, featurized column by column."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlflow_automl.config import AutoMLConfig
from mlflow_automl.data import TrainingData, prepare_tabular_data
from mlflow_automl.ensemble import greedy_selection, score_predictions
from mlflow_automl.featurize import Guardrail, check_guardrails, plan_featurization
from mlflow_automl.inputs import typical_example
from mlflow_automl.insights.charts import Chart, charts_for
from mlflow_automl.model import tabular_pipeline
from mlflow_automl.tasks.base import Task, featurization_for


class TabularTask(Task):
    """Rows of features and a label; cross-validation or a train/validation split."""

    def prepare_data(self, config: AutoMLConfig) -> TrainingData:
        return prepare_tabular_data(config)

    def plan(self, config: AutoMLConfig, data: TrainingData) -> Any:
        plan = plan_featurization(data.X, featurization_for(config), self.name)
        plan.native_categoricals = not config.enable_onnx_compatible_models
        return plan

    def guardrails(self, data: TrainingData, plan: Any) -> list[Guardrail]:
        y = pd.Series(data.decode(data.y))
        return check_guardrails(data.X, y, self.predicts_classes, plan, data.n_dropped_label_rows)

    def parsed_date_columns(self, plan: Any) -> tuple[str, ...]:
        return tuple(plan.columns_of_type("DateTime"))

    def build_pipeline(
        self, plan: Any, learner: Any, params: dict[str, Any], random_state: int, n_jobs: int
    ) -> Any:
        return tabular_pipeline(plan, learner, params, self.name, random_state, n_jobs)

    def record_engineered_counts(self, plan: Any, pipeline: Any, ensemble: bool) -> None:
        first = pipeline.members[0][1] if ensemble else pipeline  # members share featurization
        plan.record_engineered_counts(first.named_steps["featurize"])

    def input_example(
        self, model: Any, data: TrainingData, kinds: dict[str, str], rows: np.ndarray
    ) -> pd.DataFrame:
        return typical_example(data.X.iloc[rows], kinds)  # not a real training record

    def ensemble_selection(
        self, config: AutoMLConfig, data: TrainingData
    ) -> tuple[Callable[..., np.ndarray], np.ndarray | None]:
        return greedy_selection, data.sample_weight

    def score_ensemble(self, data: TrainingData, predictions: np.ndarray) -> dict[str, float]:
        return score_predictions(self.name, data.y, predictions, data.sample_weight)

    def charts(self, data: TrainingData, predictions: np.ndarray) -> list[Chart]:
        rows = data.validation_rows
        weights = None if data.sample_weight is None else data.sample_weight[rows]
        classes = None if data.classes is None else list(data.classes)
        return charts_for(self.name, data.y[rows], predictions[rows], classes, weights)
