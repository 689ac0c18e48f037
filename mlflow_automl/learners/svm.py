"""Support vector machines (kernel and linear)."""

from __future__ import annotations

from sklearn import svm

from mlflow_automl.learners.base import CLASSIFICATION, Learner
from mlflow_automl.search.space import Categorical, Domain, Float


class LinearSVMLearner(Learner):
    """``LinearSVM`` -> sklearn ``LinearSVC`` (liblinear) in ``CalibratedClassifierCV`` for
    probabilities."""

    name = "LinearSVM"
    estimators = {CLASSIFICATION: svm.LinearSVC}
    onnx_compatible = True
    scaler = "standard"
    relative_cost = 0.5
    defaults = {"C": 1.0, "class_weight": None}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {"C": Float(1e-4, 1e4, log=True), "class_weight": Categorical((None, "balanced"))}


class SVMLearner(Learner):
    """``SVM`` -> sklearn ``SVC(probability=True)`` (libsvm; Platt scaling by internal 5-fold CV).

    Fitting is quadratic to cubic in the number of rows, hence the high relative cost.
    """

    name = "SVM"
    estimators = {CLASSIFICATION: svm.SVC}
    onnx_compatible = True
    scaler = "standard"
    relative_cost = 20.0
    defaults = {"C": 1.0, "kernel": "rbf", "gamma": "scale"}
    fixed = {"probability": True}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "C": Float(1e-3, 1e3, log=True),
            "kernel": Categorical(("rbf", "poly", "sigmoid")),
            "gamma": Categorical(("scale", "auto")),
        }
