"""Naive Bayes learners."""

from __future__ import annotations

from sklearn import naive_bayes

from mlflow_automl.learners.base import CLASSIFICATION, Learner
from mlflow_automl.search.space import Categorical, Domain, Float


class MultinomialNaiveBayesLearner(Learner):
    """``MultinomialNaiveBayes`` -> sklearn ``MultinomialNB``.

    It needs non-negative (count-like) input, hence the min-max scaler.
    """

    name = "MultinomialNaiveBayes"
    estimators = {CLASSIFICATION: naive_bayes.MultinomialNB}
    onnx_compatible = True
    scaler = "minmax"
    relative_cost = 0.1
    defaults = {"alpha": 1.0, "fit_prior": True}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {"alpha": Float(1e-3, 1e2, log=True), "fit_prior": Categorical((True, False))}


class BernoulliNaiveBayesLearner(Learner):
    """``BernoulliNaiveBayes`` -> sklearn ``BernoulliNB``; after standard scaling, ``binarize``
    thresholds each feature just above its mean."""

    name = "BernoulliNaiveBayes"
    estimators = {CLASSIFICATION: naive_bayes.BernoulliNB}
    onnx_compatible = True
    scaler = "standard"
    relative_cost = 0.1
    # Not 0.0: a mean-imputed value scales to the mean (0 +- 1e-16), so a threshold of exactly 0
    # splits those rows by rounding noise, and ONNX's float32 graph rounds them differently.
    defaults = {"alpha": 1.0, "binarize": 1e-3, "fit_prior": True}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "alpha": Float(1e-3, 1e2, log=True),
            "binarize": Float(1e-3, 1.0),
            "fit_prior": Categorical((True, False)),
        }
