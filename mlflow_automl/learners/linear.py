"""Linear learners: regularised GLMs and the SGD family.

Azure AutoML's nimbusml linear learners (AveragedPerceptron, OnlineGradientDescent, FastLinear)
map onto close scikit-learn equivalents; each class docstring names its mapping. Penalties are
scale dependent, so every linear learner declares a standard scaler.
"""

from __future__ import annotations

from typing import Any

from sklearn import linear_model

from mlflow_automl.learners.base import CLASSIFICATION, FORECASTING, REGRESSION, TABULAR, Learner
from mlflow_automl.search.space import Categorical, Domain, Float


class LogisticRegressionLearner(Learner):
    """``LogisticRegression`` -> sklearn ``LogisticRegression`` (lbfgs, L2)."""

    name = "LogisticRegression"
    portfolio = TABULAR
    estimators = {CLASSIFICATION: linear_model.LogisticRegression}
    onnx_compatible = True
    scaler = "standard"
    relative_cost = 0.5
    defaults = {"C": 1.0, "class_weight": None}
    fixed = {"max_iter": 1000}  # lbfgs' default 100 often stops short of convergence

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {"C": Float(1e-4, 1e4, log=True), "class_weight": Categorical((None, "balanced"))}


class ElasticNetLearner(Learner):
    """``ElasticNet`` -> sklearn ``ElasticNet``."""

    name = "ElasticNet"
    portfolio = TABULAR
    forecasting = True
    estimators = {REGRESSION: linear_model.ElasticNet}
    onnx_compatible = True
    scaler = "standard"
    relative_cost = 0.3
    defaults = {"alpha": 1.0, "l1_ratio": 0.5}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {"alpha": Float(1e-4, 1e2, log=True), "l1_ratio": Float(0.0, 1.0)}


class LassoLarsLearner(Learner):
    """``LassoLars`` -> sklearn ``LassoLars`` (whose ``fit`` takes no sample weights)."""

    name = "LassoLars"
    forecasting = True
    estimators = {REGRESSION: linear_model.LassoLars}
    onnx_compatible = True
    scaler = "standard"
    supports_sample_weight = False
    relative_cost = 0.3
    defaults = {"alpha": 1.0}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {"alpha": Float(1e-4, 1e2, log=True)}


class FastLinearRegressorLearner(Learner):
    """``FastLinearRegressor`` (nimbusml SDCA linear regression with L2) -> sklearn ``Ridge``.

    Both minimise squared error with an L2 penalty; Ridge solves it exactly instead of by SDCA.
    Azure lists FastLinearRegressor as not ONNX-convertible; ``Ridge`` converts.
    """

    name = "FastLinearRegressor"
    estimators = {REGRESSION: linear_model.Ridge}
    onnx_compatible = True
    scaler = "standard"
    relative_cost = 0.2
    defaults = {"alpha": 1.0}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {"alpha": Float(1e-4, 1e4, log=True)}


class _SGDFamily(Learner):
    """Shared space of the ``SGDClassifier`` / ``SGDRegressor`` based learners."""

    scaler = "standard"  # SGD's step sizes assume unit-variance features
    onnx_compatible = True
    relative_cost = 0.3
    defaults = {"alpha": 1e-4, "penalty": "l2"}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "alpha": Float(1e-7, 1e-1, log=True),
            "penalty": Categorical(("l2", "l1", "elasticnet")),
        }


class SGDLearner(_SGDFamily):
    """``SGD`` -> sklearn ``SGDClassifier`` (log_loss / modified_huber, which have probabilities)
    or ``SGDRegressor``.

    The classifier's library default loss, hinge, has no ``predict_proba``; its calibrated form
    is ``LinearSVMClassifier``, so the default here is ``log_loss``.
    """

    name = "SGD"
    forecasting = True
    estimators = {CLASSIFICATION: linear_model.SGDClassifier, REGRESSION: linear_model.SGDRegressor}
    _losses = {
        CLASSIFICATION: ("log_loss", "modified_huber"),
        REGRESSION: ("squared_error", "huber", "epsilon_insensitive"),
        FORECASTING: ("squared_error", "huber", "epsilon_insensitive"),
    }

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "loss": Categorical(self._losses[task]),
            **super().search_space(task, n_rows, n_features),
        }

    def library_defaults(self, task: str, n_rows: int, n_features: int) -> dict[str, Any]:
        return {**self.defaults, "loss": self._losses[task][0]}


class AveragedPerceptronClassifierLearner(_SGDFamily):
    """``AveragedPerceptronClassifier`` (nimbusml) -> sklearn ``SGDClassifier(loss="perceptron",
    average=True)`` in ``CalibratedClassifierCV`` for probabilities.

    Azure lists it as not ONNX-convertible; this equivalent converts.
    """

    name = "AveragedPerceptronClassifier"
    estimators = {CLASSIFICATION: linear_model.SGDClassifier}
    fixed = {"loss": "perceptron", "average": True}
    relative_cost = 0.4  # calibration fits three models


class LinearSVMClassifierLearner(_SGDFamily):
    """``LinearSVMClassifier`` (nimbusml, SGD-trained linear SVM) -> sklearn
    ``SGDClassifier(loss="hinge")`` in ``CalibratedClassifierCV`` for probabilities."""

    name = "LinearSVMClassifier"
    estimators = {CLASSIFICATION: linear_model.SGDClassifier}
    fixed = {"loss": "hinge"}
    relative_cost = 0.4


class OnlineGradientDescentRegressorLearner(_SGDFamily):
    """``OnlineGradientDescentRegressor`` (nimbusml) -> sklearn ``SGDRegressor(average=True)``.

    Both run averaged stochastic gradient descent on squared loss; ``eta0`` is the learning rate.
    Azure lists it as not ONNX-convertible; this equivalent converts.
    """

    name = "OnlineGradientDescentRegressor"
    estimators = {REGRESSION: linear_model.SGDRegressor}
    fixed = {"average": True}
    defaults = {**_SGDFamily.defaults, "eta0": 0.01}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        # eta0 above ~0.1 makes averaged SGD diverge on standardised data.
        return {
            **super().search_space(task, n_rows, n_features),
            "eta0": Float(1e-4, 0.1, log=True),
        }
