"""The base of the models users get back (``AutoMLClassifier`` / ``AutoMLRegressor`` in
:mod:`mlflow_automl.model`, ``AutoMLForecaster`` in :mod:`mlflow_automl.forecasting.model`).

They follow scikit-learn's estimator contract: ``__init__`` stores parameters only (the
*unfitted* pipeline and what describes it); ``fit(X, y)`` clones that pipeline, fits it and sets
the fitted state in trailing-underscore attributes (``pipeline_``, ``feature_columns_``,
``input_kinds_``, ``classes_``), so ``sklearn.base.clone`` gives an unfitted copy. The engine,
which already holds a fitted pipeline from a trial or the final refit, uses
:meth:`AutoMLModelBase.from_fitted` instead of fitting again.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils import check_array, check_consistent_length, column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from mlflow_automl.inputs import check_input, column_kinds


def predict_scores(pipeline: Any, X: Any, n_classes: int | None) -> np.ndarray:
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


def sample_weight_params(estimator: Any, sample_weight: Any) -> dict[str, Any]:
    """``fit`` keywords that route ``sample_weight`` to ``estimator`` (a Pipeline's last step)."""
    if sample_weight is None:
        return {}
    if isinstance(estimator, Pipeline):
        return {f"{estimator.steps[-1][0]}__sample_weight": np.asarray(sample_weight)}
    return {"sample_weight": np.asarray(sample_weight)}


def as_frame(X: Any) -> pd.DataFrame:
    """Training rows as a DataFrame with string column names (arrays get "0", "1", ...).

    Anything but a DataFrame goes through ``check_array``: scikit-learn's errors for 1-D,
    empty or sparse input (sparse: the featurizers take columns, not matrices).
    """
    if isinstance(X, pd.DataFrame):
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(
                f"Found array with {X.shape[0]} sample(s) and {X.shape[1]} feature(s) "
                f"(shape={X.shape}) while a minimum of 1 is required."
            )
        frame = X
    else:
        frame = pd.DataFrame(check_array(X, dtype=None, ensure_all_finite=False))
    return frame.set_axis([str(c) for c in frame.columns], axis=1)


def fit_target(estimator: BaseEstimator, y: Any, classification: bool) -> np.ndarray:
    """``y`` as 1-D class codes (classification; sets ``classes_``, the sorted labels) or
    floats, with scikit-learn's checks (a 2-D column warns, a continuous class target raises)."""
    y = column_or_1d(y, warn=True)
    if not classification:
        return y.astype(np.float64)
    check_classification_targets(y)
    estimator.classes_, codes = np.unique(y, return_inverse=True)
    return codes


class AutoMLModelBase(BaseEstimator):
    """A pipeline (or ensemble, or forecaster) behind the one input check, raw rows in.

    Args:
        pipeline: the unfitted estimator that :meth:`fit` clones and fits (a featurize ->
            (scale) -> learner Pipeline, an ensemble or a forecaster).
        feature_columns: the training columns, in order (``None``: the columns of ``X`` at fit).
        learner_name: the learner (or ensemble) name, for display.
        params: the learner's hyperparameters, for display.
        input_kinds: column -> kind of :mod:`mlflow_automl.inputs` (``None``: from the dtypes
            of ``X`` at fit).

    Fitted attributes: ``pipeline_``, ``feature_columns_``, ``input_kinds_``,
    ``n_features_in_``, ``feature_names_in_`` (a DataFrame's columns) and, for
    classification, ``classes_``.
    """

    task: ClassVar[str]

    def __init__(
        self,
        pipeline: Any = None,
        feature_columns: list[str] | None = None,
        learner_name: str | None = None,
        params: dict[str, Any] | None = None,
        input_kinds: dict[str, str] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.feature_columns = feature_columns
        self.learner_name = learner_name
        self.params = params
        self.input_kinds = input_kinds

    # --- fitting ----------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> AutoMLModelBase:
        """Fits a clone of ``pipeline`` on the rows of ``X`` (after the input check)."""
        if self.pipeline is None:
            raise ValueError(f"{type(self).__name__}(pipeline=None) has nothing to fit")
        validate_data(self, X, y, skip_check_array=True)  # y given; n_features_in_
        frame = as_frame(X)
        columns = [str(c) for c in (self.feature_columns or frame.columns)]
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"X is missing the feature column(s) {missing}")
        kinds = self.input_kinds
        if kinds is None:
            kinds = column_kinds(frame[columns])
        self._set_inputs(columns, kinds)
        frame = check_input(frame, self.feature_columns_, kinds)
        target = fit_target(self, y, is_classifier(self))
        check_consistent_length(frame, target)
        pipeline = clone(self.pipeline)
        self.pipeline_ = pipeline.fit(
            frame, target, **sample_weight_params(pipeline, sample_weight)
        )
        return self

    @classmethod
    def from_fitted(
        cls,
        pipeline: Any,
        feature_columns: list[str],
        *,
        classes: np.ndarray | None = None,
        learner_name: str | None = None,
        params: dict[str, Any] | None = None,
        input_kinds: dict[str, str] | None = None,
    ) -> AutoMLModelBase:
        """A fitted model around an already fitted ``pipeline`` (a trial's or the final refit's),
        without fitting again. Its ``pipeline`` parameter is an unfitted clone, so
        ``sklearn.base.clone`` of the result is unfitted too."""
        model = cls(
            pipeline=clone(pipeline),
            feature_columns=list(feature_columns),
            learner_name=learner_name,
            params=None if params is None else dict(params),
            input_kinds=input_kinds,
        )
        model._set_inputs(list(feature_columns), input_kinds)
        model.n_features_in_ = len(model.feature_columns_)
        model.feature_names_in_ = np.asarray(model.feature_columns_, dtype=object)
        if classes is not None:
            model.classes_ = np.asarray(classes)
        model.pipeline_ = pipeline
        return model

    def _set_inputs(self, columns: list[str], kinds: dict[str, str] | None) -> None:
        self.feature_columns_ = [str(c) for c in columns]
        self.input_kinds_ = kinds  # column -> kind, see mlflow_automl.inputs

    # --- predicting -------------------------------------------------------------------------------
    def _frame(self, X: Any) -> pd.DataFrame:
        """The one input check (``mlflow_automl.inputs``), for fit, predict, predict_proba and
        the pyfunc alike."""
        check_is_fitted(self)
        if hasattr(X, "__array__") and not isinstance(X, pd.DataFrame | pd.Series | np.ndarray):
            X = np.asarray(X)  # array-likes that are not arrays
        return check_input(X, list(self.feature_columns_), self.input_kinds_)

    def __sklearn_is_fitted__(self) -> bool:
        return getattr(self, "pipeline_", None) is not None

    # --- models pickled before the estimator contract ---------------------------------------------
    def __setstate__(self, state: dict[str, Any]) -> None:
        # Then the fitted pipeline and the classes were constructor parameters; MLflow-logged
        # models of that layout still load and predict the same.
        if "pipeline_" not in state and state.get("pipeline") is not None:
            state["pipeline_"] = state["pipeline"]
            state["pipeline"] = clone(state["pipeline"])
            if state.get("classes") is not None:
                state["classes_"] = np.asarray(state["classes"])
            state.pop("classes", None)
            state.pop("task", None)  # now a class attribute
            if "last_features" in state:
                state["last_features_"] = state.pop("last_features")
            state.setdefault("input_kinds", None)
            columns = list(state.get("feature_columns") or [])
            state.update(
                feature_columns_=columns,
                input_kinds_=state["input_kinds"],
                n_features_in_=len(columns),
                feature_names_in_=np.asarray(columns, dtype=object),
            )
        super().__setstate__(state)
