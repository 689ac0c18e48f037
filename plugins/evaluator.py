"""MLflow model-evaluator plugin ``automl``: Azure AutoML's metrics and charts for any model.

    mlflow.models.evaluate(model_uri, data, targets="label", model_type="classifier",
                           evaluators=["automl"])

logs the task's full metric set under Azure's names and every chart of
:mod:`mlflow_automl.insights.charts` (``automl_charts/<name>.png`` + ``.json``) to the
evaluation run.

It runs only when asked for by name. MLflow offers every registered evaluator to a plain
``evaluate()`` call through ``can_evaluate`` (called from its evaluator resolution); this plugin
declines there, and accepts when MLflow checks the evaluators the caller named.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from mlflow.models.evaluation import EvaluationResult, ModelEvaluator
from mlflow.models.evaluation.artifacts import ImageEvaluationArtifact, JsonEvaluationArtifact

_MODEL_TYPES = {"classifier": "classification", "regressor": "regression"}
_ARTIFACT_DIR = "automl_charts"
# The MLflow function that offers every registered evaluator to an evaluate() call that named
# none; being asked from there means nobody asked for this evaluator.
_AUTO_RESOLUTION = "resolve_evaluators_and_configs"


class AutoMLEvaluator(ModelEvaluator):
    @classmethod
    def can_evaluate(cls, *, model_type: str, evaluator_config: dict, **kwargs: Any) -> bool:
        if sys._getframe(1).f_code.co_name == _AUTO_RESOLUTION:
            return False
        return model_type in _MODEL_TYPES

    def evaluate(
        self,
        *,
        model_type: str,
        dataset: Any,
        run_id: str,
        evaluator_config: dict,
        model: Any = None,
        **kwargs: Any,
    ) -> EvaluationResult:
        from mlflow_automl import tracking
        from mlflow_automl.evaluation.metrics import compute_metrics
        from mlflow_automl.insights.charts import charts_for
        from mlflow_automl.tasks import get_task

        task = _MODEL_TYPES[model_type]
        features = dataset.features_data
        labels = np.asarray(dataset.labels_data)
        weights = evaluator_config.get("sample_weight")
        if get_task(task).predicts_classes:
            classes, truth, prediction = _classification_inputs(model, features, labels, dataset)
        else:
            classes, truth = None, labels.astype(np.float64)
            prediction = _predictions(model, features, dataset).astype(np.float64)
        metrics = compute_metrics(task, truth, prediction, weights)
        tracking.log_metrics(run_id, metrics)
        charts = charts_for(task, truth, prediction, classes=classes, sample_weight=weights)
        uris = tracking.log_charts(run_id, charts, _ARTIFACT_DIR)
        artifacts = {}
        for chart in charts:
            png, data = f"{_ARTIFACT_DIR}/{chart.name}.png", f"{_ARTIFACT_DIR}/{chart.name}.json"
            artifacts[f"{chart.name}_plot"] = ImageEvaluationArtifact(uri=uris[png])
            artifacts[f"{chart.name}_data"] = JsonEvaluationArtifact(uri=uris[data])
        return EvaluationResult(metrics=metrics, artifacts=artifacts, run_id=run_id)


def _predictions(model: Any, features: Any, dataset: Any) -> np.ndarray:
    if model is None:  # evaluate(data=..., predictions="col") on a static dataset
        return np.asarray(dataset.predictions_data)
    return np.asarray(model.predict(features)).reshape(len(features), -1)[:, 0]


def _classification_inputs(
    model: Any, features: Any, labels: np.ndarray, dataset: Any
) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Class labels, integer-coded truth, and a probability matrix for any classifier.

    Probabilities come from the underlying model's ``predict_proba`` when it has one; a model
    that only predicts labels gets one-hot "probabilities" (curves then have a single point).
    """
    raw = _raw_model(model)
    if raw is not None and hasattr(raw, "predict_proba") and hasattr(raw, "classes_"):
        classes = list(raw.classes_)
        proba = np.asarray(raw.predict_proba(features), dtype=np.float64)
    else:
        predicted = _predictions(model, features, dataset)
        classes = sorted(set(labels.tolist()) | set(predicted.tolist()), key=str)
        index = {c: i for i, c in enumerate(classes)}
        proba = np.zeros((len(predicted), len(classes)))
        proba[np.arange(len(predicted)), [index[p] for p in predicted.tolist()]] = 1.0
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({str(v) for v in labels.tolist() if v not in index})
    if unknown:
        raise ValueError(f"labels {unknown} are not among the model's classes {classes}")
    truth = np.array([index[v] for v in labels.tolist()], dtype=np.int64)
    return classes, truth, proba


def _raw_model(model: Any) -> Any:
    if model is None:
        return None
    try:
        return model.get_raw_model()
    except Exception:  # pyfunc flavors without a raw model
        return None
