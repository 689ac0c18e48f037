"""Classification: labels encoded as class codes, stratified splits, probabilities."""

from __future__ import annotations

from mlflow_automl.model import AutoMLClassifier
from mlflow_automl.tasks.names import CLASSIFICATION
from mlflow_automl.tasks.tabular import TabularTask


class ClassificationTask(TabularTask):
    name = CLASSIFICATION
    predicts_classes = True
    model_class = AutoMLClassifier
