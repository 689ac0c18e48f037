"""Decision trees and bagged tree ensembles (scikit-learn).

Tree size is searched through ``max_leaf_nodes``: a tree on ``n_rows`` rows cannot have more
leaves than rows, so the library default ``None`` (grow fully) is exactly ``max_leaf_nodes=n_rows``
and clips into the space without changing the model. scikit-learn >= 1.4 trees fit on NaN.
"""

from __future__ import annotations

import math
from typing import Any

from sklearn import ensemble, tree

from mlflow_automl.learners.base import (
    CLASSIFICATION,
    FORECASTING,
    REGRESSION,
    TABULAR,
    Learner,
    size_cap,
)
from mlflow_automl.search.space import Categorical, Domain, Float, Int
from mlflow_automl.tasks import get_task

_CRITERIA = {CLASSIFICATION: ("gini", "entropy"), REGRESSION: ("squared_error", "friedman_mse")}
_CRITERIA[FORECASTING] = _CRITERIA[REGRESSION]  # a regressor on engineered features


def _sqrt_fraction(n_features: int) -> float:
    """``max_features="sqrt"`` as the fraction that scikit-learn turns back into isqrt(n)."""
    n = max(1, n_features)
    return (math.isqrt(n) + 0.5) / n


class _TreeLearner(Learner):
    """Space and defaults shared by single trees and forests."""

    onnx_compatible = True
    handles_missing = True

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "max_leaf_nodes": Int(4, size_cap(n_rows, 32768, 4), log=True),
            "max_features": Float(0.1, 1.0),
            "criterion": Categorical(_CRITERIA[task]),
        }

    def library_defaults(self, task: str, n_rows: int, n_features: int) -> dict[str, Any]:
        return {"max_leaf_nodes": n_rows, "max_features": 1.0, "criterion": _CRITERIA[task][0]}


class DecisionTreeLearner(_TreeLearner):
    """``DecisionTree`` -> sklearn ``DecisionTreeClassifier`` / ``DecisionTreeRegressor``."""

    name = "DecisionTree"
    forecasting = True
    estimators = {
        CLASSIFICATION: tree.DecisionTreeClassifier,
        REGRESSION: tree.DecisionTreeRegressor,
    }
    relative_cost = 0.2
    low_cost = {"max_leaf_nodes": 4}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            **super().search_space(task, n_rows, n_features),
            "min_samples_leaf": Int(1, max(1, min(128, n_rows // 4)), log=True),
        }

    def library_defaults(self, task: str, n_rows: int, n_features: int) -> dict[str, Any]:
        return {**super().library_defaults(task, n_rows, n_features), "min_samples_leaf": 1}


class _ForestLearner(_TreeLearner):
    """FLAML's forest space: tree count and leaves bounded by the row count."""

    low_cost = {"n_estimators": 4, "max_leaf_nodes": 4}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "n_estimators": Int(4, size_cap(n_rows, 2048, 4), log=True),
            **super().search_space(task, n_rows, n_features),
        }

    def library_defaults(self, task: str, n_rows: int, n_features: int) -> dict[str, Any]:
        # Forest classifiers default to max_features="sqrt", regressors to all features.
        max_features = _sqrt_fraction(n_features) if get_task(task).predicts_classes else 1.0
        return {
            **super().library_defaults(task, n_rows, n_features),
            "n_estimators": 100,
            "max_features": max_features,
        }


class RandomForestLearner(_ForestLearner):
    """``RandomForest`` -> sklearn ``RandomForestClassifier`` / ``RandomForestRegressor``."""

    name = "RandomForest"
    portfolio = TABULAR
    forecasting = True
    estimators = {
        CLASSIFICATION: ensemble.RandomForestClassifier,
        REGRESSION: ensemble.RandomForestRegressor,
    }
    relative_cost = 2.0


class ExtremeRandomTreesLearner(_ForestLearner):
    """``ExtremeRandomTrees`` -> sklearn ``ExtraTreesClassifier`` / ``ExtraTreesRegressor``."""

    name = "ExtremeRandomTrees"
    portfolio = TABULAR
    forecasting = True
    estimators = {
        CLASSIFICATION: ensemble.ExtraTreesClassifier,
        REGRESSION: ensemble.ExtraTreesRegressor,
    }
    relative_cost = 1.9
