"""The fitted model a user gets back: featurization + scaler + learner, raw rows in.

``build_pipeline`` is the one place that assembles a trial's sklearn Pipeline, so a trial, the
final refit and (later) ensembles all build the same thing. ``AutoMLModel`` wraps the fitted
pipeline, maps integer class codes back to the user's labels, and is what MLflow logs.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.pipeline import Pipeline

from mlflow_automl.inputs import check_input
from mlflow_automl.tasks import get_task
from mlflow_automl.tasks.names import CLASSIFICATION


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
    """An unfitted Pipeline: featurize -> (scale) -> estimator."""
    steps: list[tuple[str, Any]] = [("featurize", plan.make_transformer())]
    scaler = learner.make_scaler()
    if scaler is not None:
        steps.append(("scale", scaler))
    steps.append(
        ("model", learner.make_estimator(task, params, random_state=random_state, n_jobs=n_jobs))
    )
    return Pipeline(steps)


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


def predict_scores(pipeline: Pipeline, X: pd.DataFrame, n_classes: int | None) -> np.ndarray:
    """Class probabilities with one column per class code (classification) or predictions.

    A fold may miss a rare class; its column is then zero, so every fold's output lines up.
    """
    if n_classes is None:
        return np.asarray(pipeline.predict(X), dtype=np.float64)
    proba = np.asarray(pipeline.predict_proba(X), dtype=np.float64)
    seen = np.asarray(pipeline.classes_, dtype=np.int64)
    if len(seen) == n_classes:
        return proba
    full = np.zeros((len(X), n_classes))
    full[:, seen] = proba
    return full


class _AutoMLModelBase(BaseEstimator):
    def __init__(
        self,
        pipeline: Pipeline | None = None,
        task: str = CLASSIFICATION,
        classes: np.ndarray | None = None,
        feature_columns: list[str] | None = None,
        learner_name: str | None = None,
        params: dict[str, Any] | None = None,
        input_kinds: dict[str, str] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.task = task
        self.classes = classes
        self.feature_columns = feature_columns
        self.learner_name = learner_name
        self.params = params
        self.input_kinds = input_kinds  # column -> kind, see mlflow_automl.inputs

    def _frame(self, X: Any) -> pd.DataFrame:
        """The one input check (``mlflow_automl.inputs``), for predict, predict_proba and the
        pyfunc alike. Models pickled before ``input_kinds`` existed check column names only."""
        return check_input(X, list(self.feature_columns or []), getattr(self, "input_kinds", None))

    def __sklearn_is_fitted__(self) -> bool:
        return self.pipeline is not None


class AutoMLClassifier(ClassifierMixin, _AutoMLModelBase):
    """The best classification pipeline; predicts the user's original labels."""

    @property
    def classes_(self) -> np.ndarray:
        return self.classes

    def predict(self, X: Any) -> np.ndarray:
        codes = np.argmax(self.predict_proba(X), axis=1)
        return self.classes[codes]

    def predict_proba(self, X: Any) -> np.ndarray:
        frame = self._frame(X)
        if frame.empty:  # an empty batch: scikit-learn refuses 0 rows
            return np.empty((0, len(self.classes)), dtype=np.float64)
        return predict_scores(self.pipeline, frame, len(self.classes))


class AutoMLRegressor(RegressorMixin, _AutoMLModelBase):
    """The best regression pipeline."""

    def predict(self, X: Any) -> np.ndarray:
        frame = self._frame(X)
        if frame.empty:  # an empty batch: scikit-learn refuses 0 rows
            return np.empty(0, dtype=np.float64)
        return np.asarray(self.pipeline.predict(frame), dtype=np.float64)


def wrap_fitted(
    pipeline: Pipeline,
    task: str,
    classes: np.ndarray | None,
    feature_columns: list[str],
    learner_name: str,
    params: dict[str, Any],
    input_kinds: dict[str, str] | None = None,
) -> _AutoMLModelBase:
    model_class = get_task(task).model_class  # classifier, regressor or forecaster
    return model_class(
        pipeline=pipeline,
        task=task,
        classes=classes,
        feature_columns=list(feature_columns),
        learner_name=learner_name,
        params=dict(params),
        input_kinds=input_kinds,
    )
