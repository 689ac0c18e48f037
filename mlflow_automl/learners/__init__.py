"""Learners: the model families AutoML tunes, as small declarative classes in a registry.

Each learner declares its name, tasks, capabilities, relative cost and a data-size-aware search
space with a low-cost starting point and library defaults; see :class:`Learner`.
"""

from mlflow_automl.learners.base import CLASSIFICATION, REGRESSION, TASKS, Learner
from mlflow_automl.learners.onnx import register_onnx_converters, to_onnx
from mlflow_automl.learners.registry import LEARNERS, get_learner, learner_names, learners_for

__all__ = [
    "CLASSIFICATION",
    "LEARNERS",
    "REGRESSION",
    "TASKS",
    "Learner",
    "get_learner",
    "learner_names",
    "learners_for",
    "register_onnx_converters",
    "to_onnx",
]
