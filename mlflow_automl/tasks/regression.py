"""Regression: a numeric label, plain k-fold or holdout splits, point predictions."""

from __future__ import annotations

from mlflow_automl.config import AutoMLConfig
from mlflow_automl.data import TrainingData
from mlflow_automl.featurize.target import transforms_for
from mlflow_automl.model import AutoMLRegressor
from mlflow_automl.tasks.names import REGRESSION
from mlflow_automl.tasks.tabular import TabularTask


class RegressionTask(TabularTask):
    name = REGRESSION
    model_class = AutoMLRegressor

    def target_transforms(self, config: AutoMLConfig, data: TrainingData) -> tuple[str, ...]:
        return transforms_for(data.y, enabled=config.target_transform == "auto")
