"""The model a user gets back: featurization + scaler + learner, raw rows in.

``build_pipeline`` is the one place that assembles a trial's sklearn Pipeline, so a trial, the
final refit and the ensembles' members all build the same thing. ``AutoMLClassifier`` /
``AutoMLRegressor`` (base: :class:`mlflow_automl.model_base.AutoMLModelBase`) wrap a pipeline,
check the input, map class codes back to the user's labels, and are what MLflow logs;
:func:`wrap_fitted` builds the one of a task around an already fitted pipeline.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from mlflow_automl.model_base import AutoMLModelBase, predict_scores
from mlflow_automl.tasks import get_task
from mlflow_automl.tasks.names import CLASSIFICATION, REGRESSION

__all__ = [
    "AutoMLClassifier",
    "AutoMLRegressor",
    "build_pipeline",
    "categorical_codes",
    "describe_pipeline",
    "fit_pipeline",
    "predict_scores",
    "tabular_pipeline",
    "wrap_fitted",
]


def build_pipeline(
    plan: Any,  # FeaturizationPlan
    learner: Any,  # Learner
    params: dict[str, Any],
    task: str,
    random_state: int,
    n_jobs: int = 1,
) -> Pipeline:
    """An unfitted estimator for one configuration, as the task builds it: the tabular
    Pipeline below, or for forecasting a forecaster (``fit(X, y)`` on history frames,
    ``predict`` on future frames), which every caller uses the same way."""
    return get_task(task).build_pipeline(plan, learner, params, random_state, n_jobs)


def tabular_pipeline(
    plan: Any,  # FeaturizationPlan
    learner: Any,  # Learner
    params: dict[str, Any],
    task: str,
    random_state: int,
    n_jobs: int = 1,
) -> Pipeline:
    """An unfitted Pipeline: featurize -> (scale) -> estimator (on a transformed target when the
    params choose one: :mod:`mlflow_automl.featurize.target`)."""
    from mlflow_automl.featurize import target

    codes = categorical_codes(plan, learner)
    steps: list[tuple[str, Any]] = [("featurize", plan.make_transformer(codes > 0))]
    scaler = learner.make_scaler()
    if scaler is not None:
        steps.append(("scale", scaler))
    own, transform = target.split_params(params)
    estimator = learner.make_estimator(
        task, own, random_state=random_state, n_jobs=n_jobs, categorical_codes=codes
    )
    steps.append(("model", target.wrap(estimator, transform)))
    return Pipeline(steps)


def categorical_codes(plan: Any, learner: Any) -> int:
    """How many leading featurized columns ``learner`` gets as category codes: the plan's
    categorical columns for a learner that reads categories itself, else 0."""
    return plan.categorical_code_count() if learner.native_categoricals else 0


def describe_pipeline(learner: Any) -> str:
    """Short pipeline label for the console and the leaderboard, e.g. 'StandardScaler, SVM'."""
    scaler = learner.make_scaler()
    return f"{type(scaler).__name__}, {learner.name}" if scaler is not None else learner.name


def fit_pipeline(
    pipeline: Pipeline, learner: Any, X: pd.DataFrame, y: np.ndarray, sample_weight: Any
) -> Pipeline:
    fit_params = {f"model__{k}": v for k, v in learner.fit_params(sample_weight).items()}
    # Convergence and deprecation chatter from hundreds of fits would drown the console.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipeline.fit(X, y, **fit_params)


class AutoMLClassifier(ClassifierMixin, AutoMLModelBase):
    """A classification pipeline; predicts the user's original labels.

    ``fit(X, y)`` encodes ``y`` as class codes 0..K-1 (``classes_``: the sorted labels) and fits a
    clone of ``pipeline`` on them; ``predict_proba`` has one column per class in ``classes_``.
    """

    task = CLASSIFICATION

    def predict(self, X: Any) -> np.ndarray:
        codes = np.argmax(self.predict_proba(X), axis=1)
        return self.classes_[codes]

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        frame = self._frame(X)
        if frame.empty:  # an empty batch: scikit-learn refuses 0 rows
            return np.empty((0, len(self.classes_)), dtype=np.float64)
        return predict_scores(self.pipeline_, frame, len(self.classes_))


class AutoMLRegressor(RegressorMixin, AutoMLModelBase):
    """A regression pipeline."""

    task = REGRESSION

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        frame = self._frame(X)
        if frame.empty:  # an empty batch: scikit-learn refuses 0 rows
            return np.empty(0, dtype=np.float64)
        return np.asarray(self.pipeline_.predict(frame), dtype=np.float64)


def wrap_fitted(
    pipeline: Any,
    task: str,
    classes: np.ndarray | None,
    feature_columns: list[str],
    learner_name: str,
    params: dict[str, Any],
    input_kinds: dict[str, str] | None = None,
) -> AutoMLModelBase:
    """The model class of ``task`` around an already fitted pipeline (``from_fitted``)."""
    model_class = get_task(task).model_class  # classifier, regressor or forecaster
    return model_class.from_fitted(
        pipeline,
        feature_columns,
        classes=classes,
        learner_name=learner_name,
        params=params,
        input_kinds=input_kinds,
    )
