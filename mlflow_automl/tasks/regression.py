"""Regression: a numeric label, plain k-fold or holdout splits, point predictions."""

from __future__ import annotations

from mlflow_automl.model import AutoMLRegressor
from mlflow_automl.tasks.names import REGRESSION
from mlflow_automl.tasks.tabular import TabularTask


class RegressionTask(TabularTask):
    name = REGRESSION
    model_class = AutoMLRegressor
