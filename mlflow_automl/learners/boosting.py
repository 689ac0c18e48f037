"""Gradient-boosted trees: LightGBM, XGBoost, scikit-learn's histogram GBM and CatBoost
(optional: ``pip install 'mlflow-automl[catboost]'``).

Spaces follow FLAML: tree and leaf counts grow log-uniformly up to the row count, the low-cost
point is 4 trees of 4 leaves (CatBoost: 8 trees of depth 2), and regularisation spans
1/1024..1024. All four fit on NaN.
"""

from __future__ import annotations

import math
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
import xgboost
from sklearn import ensemble

try:
    import catboost
except ImportError:  # the optional extra; the learner is then left out (Learner.requires)
    catboost = None

from mlflow_automl.learners.base import (
    CLASSIFICATION,
    FORECASTING,
    REGRESSION,
    TABULAR,
    Learner,
    size_cap,
)
from mlflow_automl.search.space import Domain, Float, Int

_LEARNING_RATE = Float(1 / 1024, 1.0, log=True)
_REGULARISATION = Float(1 / 1024, 1024.0, log=True)


def _min_leaf_cap(n_rows: int) -> int:
    """Leaves must be able to hold at least two samples on both sides of a split."""
    return max(2, min(129, n_rows // 2))


# LightGBM and XGBoost synchronise their OpenMP threads at every histogram and split, so a
# thread that loses its core stalls the others. On 2 cores, 3,000 x 13: LightGBM 0.19 s on one
# thread, 0.34 s on two (XGBoost 0.40 / 0.45), and next to two busy processes 0.35 s / 1.07 s;
# threads paid from about 8,000 x 13 on a quiet machine (0.26 s / 0.18 s).
_OPENMP_ONE_THREAD_BELOW_CELLS = 100_000


class LightGBMLearner(Learner):
    """``LightGBM`` -> ``lightgbm.LGBMClassifier`` / ``LGBMRegressor``."""

    name = "LightGBM"
    portfolio = TABULAR | {FORECASTING}
    forecasting = True
    estimators = {CLASSIFICATION: lightgbm.LGBMClassifier, REGRESSION: lightgbm.LGBMRegressor}
    onnx_compatible = True
    handles_missing = True
    relative_cost = 1.0
    one_thread_below_cells = _OPENMP_ONE_THREAD_BELOW_CELLS
    defaults = {
        "n_estimators": 100,
        "num_leaves": 31,
        "min_child_samples": 20,
        "learning_rate": 0.1,
        "colsample_bytree": 1.0,
        "reg_alpha": 0.0,
        "reg_lambda": 0.0,
        "max_bin": 255,
    }
    low_cost = {"n_estimators": 4, "num_leaves": 4}
    # Deterministic + col-wise histograms make equal seeds give equal models; -1 silences it.
    fixed = {"verbosity": -1, "deterministic": True, "force_col_wise": True}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "n_estimators": Int(4, size_cap(n_rows, 32768, 4), log=True),
            "num_leaves": Int(4, size_cap(n_rows, 32768, 4), log=True),
            "min_child_samples": Int(2, _min_leaf_cap(n_rows), log=True),
            "learning_rate": _LEARNING_RATE,
            "colsample_bytree": Float(0.01, 1.0),
            "reg_alpha": _REGULARISATION,
            "reg_lambda": _REGULARISATION,
            "max_bin": Int(7, 1023, log=True),
        }


class _XGBoostLearner(Learner):
    """Shared XGBoost space; depth-wise growth (the library default) with depth bounded by the
    row count, since a balanced tree deeper than log2(n_rows) cannot fill its leaves."""

    onnx_compatible = True
    handles_missing = True
    relative_cost = 1.6
    one_thread_below_cells = _OPENMP_ONE_THREAD_BELOW_CELLS
    defaults = {
        "n_estimators": 100,
        "max_depth": 6,
        "min_child_weight": 1.0,
        "learning_rate": 0.3,
        "subsample": 1.0,
        "colsample_bytree": 1.0,
        "reg_alpha": 0.0,
        "reg_lambda": 1.0,
    }
    low_cost = {"n_estimators": 4, "max_depth": 2}
    fixed = {"tree_method": "hist", "verbosity": 0}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "n_estimators": Int(4, size_cap(n_rows, 32768, 4), log=True),
            "max_depth": Int(1, max(2, min(16, math.ceil(math.log2(max(n_rows, 2))))), log=True),
            "min_child_weight": Float(1e-3, 128.0, log=True),
            "learning_rate": _LEARNING_RATE,
            "subsample": Float(0.1, 1.0),
            "colsample_bytree": Float(0.01, 1.0),
            "reg_alpha": _REGULARISATION,
            "reg_lambda": _REGULARISATION,
        }


class XGBoostClassifierLearner(_XGBoostLearner):
    """``XGBoostClassifier`` -> ``xgboost.XGBClassifier(tree_method="hist")``; binary or softmax
    objective inferred from the integer labels 0..K-1."""

    name = "XGBoostClassifier"
    portfolio = TABULAR
    estimators = {CLASSIFICATION: xgboost.XGBClassifier}


class XGBoostRegressorLearner(_XGBoostLearner):
    """``XGBoostRegressor`` -> ``xgboost.XGBRegressor(tree_method="hist")``."""

    name = "XGBoostRegressor"
    portfolio = TABULAR
    forecasting = True
    estimators = {REGRESSION: xgboost.XGBRegressor}


class GradientBoostingLearner(Learner):
    """``GradientBoosting`` -> sklearn ``HistGradientBoostingClassifier`` / ``...Regressor``.

    Azure uses ``GradientBoostingClassifier``; the histogram variant is orders of magnitude faster
    and fits on NaN. Not ONNX-convertible with skl2onnx 1.20 + scikit-learn 1.9: the converter
    writes the trees' boolean ``missing_go_to_left`` into an integer ONNX attribute and fails.
    """

    name = "GradientBoosting"
    forecasting = True
    estimators = {
        CLASSIFICATION: ensemble.HistGradientBoostingClassifier,
        REGRESSION: ensemble.HistGradientBoostingRegressor,
    }
    onnx_compatible = False
    handles_missing = True
    relative_cost = 1.5
    defaults = {
        "max_iter": 100,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20,
        "learning_rate": 0.1,
        "l2_regularization": 0.0,
        "max_features": 1.0,
    }
    low_cost = {"max_iter": 4, "max_leaf_nodes": 4}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "max_iter": Int(4, size_cap(n_rows, 32768, 4), log=True),
            "max_leaf_nodes": Int(4, size_cap(n_rows, 32768, 4), log=True),
            "min_samples_leaf": Int(2, _min_leaf_cap(n_rows), log=True),
            "learning_rate": _LEARNING_RATE,
            "l2_regularization": _REGULARISATION,
            "max_features": Float(0.1, 1.0),
        }


if catboost is not None:

    class _CategoryCodes:
        """CatBoost reading category codes from a float matrix: CatBoost refuses float
        categorical values, so the ``cat_features`` columns are handed over as integers."""

        def _with_codes(self, data: Any) -> Any:
            columns = list(self.get_param("cat_features") or ())
            if not columns or not isinstance(data, np.ndarray):
                return data
            frame = pd.DataFrame(data)
            frame[columns] = frame[columns].astype(np.int64)
            return frame

        def fit(self, X: Any, y: Any = None, sample_weight: Any = None, **kwargs: Any) -> Any:
            codes = self._with_codes(X)
            return super().fit(codes, y, sample_weight=sample_weight, **kwargs)

        def predict(self, data: Any, *args: Any, **kwargs: Any) -> np.ndarray:
            return super().predict(self._with_codes(data), *args, **kwargs)

    class CatBoostClassifier(_CategoryCodes, catboost.CatBoostClassifier):
        """CatBoost's classifier predicting as scikit-learn's do: a 1-D array of labels.
        CatBoost's own ``predict`` returns one column for three or more classes, which
        metrics would broadcast against the 1-D truth instead of rejecting."""

        def predict(self, data: Any, *args: Any, **kwargs: Any) -> np.ndarray:
            return np.asarray(super().predict(data, *args, **kwargs)).ravel()

        def predict_proba(self, X: Any, *args: Any, **kwargs: Any) -> np.ndarray:
            return super().predict_proba(self._with_codes(X), *args, **kwargs)

    class CatBoostRegressor(_CategoryCodes, catboost.CatBoostRegressor):
        """CatBoost's regressor, reading category codes as the classifier does."""

    _CATBOOST = {CLASSIFICATION: CatBoostClassifier, REGRESSION: CatBoostRegressor}
else:
    _CATBOOST = {}


class _NotInstalled:
    """Stands in for an estimator class of a package that is not installed."""

    def __init__(self, **_: object) -> None:
        raise ImportError("CatBoost needs its package: pip install 'mlflow-automl[catboost]'")


class CatBoostLearner(Learner):
    """``CatBoost`` -> ``catboost.CatBoostClassifier`` / ``CatBoostRegressor``: oblivious
    (symmetric) trees, which regularise well on small tables, reading the categorical columns
    itself. Not a portfolio learner: its defaults early on regression tables helped on a quiet
    machine (sacramento +0.027 r2) but, with one busy process, cost the other learners trials
    (nmes1988 -0.025, wage -0.018; benchmarks/LEVERS_BUSY1_TABLE.md), and on classification
    tables trials and AUC (breast_cancer 40 trials instead of 123). Defaults: depth 6 as
    AutoGluon's, 300 trees at learning rate 0.1: fitted alone on the suite's regression tables
    as good as 1,000 at 0.05 and three times faster (held-out r2 wage 0.358 vs 0.355,
    sacramento 0.690 vs 0.680, diamonds 0.9813 vs 0.9821 in 3.9 s instead of 13.2 s).
    CatBoost's own learning rate is chosen from the data size and iteration count, which a
    searched space cannot express."""

    name = "CatBoost"
    requires = "catboost"
    estimators = _CATBOOST or {CLASSIFICATION: _NotInstalled, REGRESSION: _NotInstalled}
    onnx_compatible = True
    handles_missing = True
    relative_cost = 4.0
    one_thread_below_cells = _OPENMP_ONE_THREAD_BELOW_CELLS
    threads_argument = "thread_count"
    # Ordered target statistics on the raw categories: on the suite's regression tables the
    # defaults scored higher than on one-hot / target encodings (wage r2 0.355 vs 0.312).
    native_categoricals = True
    defaults = {
        "n_estimators": 300,
        "depth": 6,
        "learning_rate": 0.1,
        "l2_leaf_reg": 3.0,
        "random_strength": 1.0,
    }
    low_cost = {"n_estimators": 8, "depth": 2}
    # No console output and no catboost_info/ folder in the working directory.
    fixed = {"verbose": False, "allow_writing_files": False}

    def categorical_arguments(self, count: int) -> dict[str, Any]:
        return {"cat_features": tuple(range(count))}  # a list: CatBoost copies it, clone refuses

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "n_estimators": Int(4, size_cap(n_rows, 8192, 4), log=True),
            "depth": Int(1, 8),  # oblivious trees: 2^depth leaves each, 256 at most
            "learning_rate": _LEARNING_RATE,
            "l2_leaf_reg": _REGULARISATION,
            "random_strength": Float(1 / 1024, 16.0, log=True),
        }
