"""All learners by name, and the lookups AutoML uses to choose among them."""

from __future__ import annotations

from typing import Any

from mlflow_automl.forecasting.learners import STATISTICAL_LEARNERS
from mlflow_automl.learners.base import Learner, check_task
from mlflow_automl.learners.boosting import (
    CatBoostLearner,
    GradientBoostingLearner,
    LightGBMLearner,
    XGBoostClassifierLearner,
    XGBoostRegressorLearner,
)
from mlflow_automl.learners.linear import (
    AveragedPerceptronClassifierLearner,
    ElasticNetLearner,
    FastLinearRegressorLearner,
    LassoLarsLearner,
    LinearSVMClassifierLearner,
    LogisticRegressionLearner,
    OnlineGradientDescentRegressorLearner,
    SGDLearner,
)
from mlflow_automl.learners.naive_bayes import (
    BernoulliNaiveBayesLearner,
    MultinomialNaiveBayesLearner,
)
from mlflow_automl.learners.neighbors import KNNLearner
from mlflow_automl.learners.svm import LinearSVMLearner, SVMLearner
from mlflow_automl.learners.trees import (
    DecisionTreeLearner,
    ExtremeRandomTreesLearner,
    RandomForestLearner,
)
from mlflow_automl.setting_names import AutoMLConfigError

_CLASSES: tuple[type[Learner], ...] = (
    LogisticRegressionLearner,
    ElasticNetLearner,
    LassoLarsLearner,
    FastLinearRegressorLearner,
    SGDLearner,
    AveragedPerceptronClassifierLearner,
    LinearSVMClassifierLearner,
    OnlineGradientDescentRegressorLearner,
    LinearSVMLearner,
    SVMLearner,
    KNNLearner,
    MultinomialNaiveBayesLearner,
    BernoulliNaiveBayesLearner,
    DecisionTreeLearner,
    RandomForestLearner,
    ExtremeRandomTreesLearner,
    LightGBMLearner,
    XGBoostClassifierLearner,
    XGBoostRegressorLearner,
    GradientBoostingLearner,
    CatBoostLearner,
    *STATISTICAL_LEARNERS,
)

LEARNERS: dict[str, Learner] = {cls.name: cls() for cls in _CLASSES}


def learner_names(task: str) -> list[str]:
    """Sorted names of the learners that support ``task``."""
    check_task(task)
    return sorted(name for name, learner in LEARNERS.items() if task in learner.tasks)


def get_learner(name: str, task: str) -> Learner:
    """The learner called ``name`` for ``task``; ``ValueError`` listing the valid names if none."""
    _check_names([name], task)
    return LEARNERS[name]


def learners_for(
    task: str,
    allowed: list[str] | None = None,
    blocked: list[str] | None = None,
    onnx_only: bool = False,
    need_sample_weight: bool = False,
    need_missing: bool = False,
) -> list[Learner]:
    """The learners AutoML may try for ``task``: the task's portfolio learners first, each
    group cheapest first (ties by name). Learners whose optional package is missing are left
    out, or an error when ``allowed`` names them.

    ``allowed`` (``None`` = all) and ``blocked`` must name learners of ``task``; the flags drop
    learners that cannot be exported to ONNX, take sample weights, or fit on NaN. The result may
    be empty; the caller decides whether that is an error.
    """
    names = learner_names(task) if allowed is None else list(dict.fromkeys(allowed))
    _check_names(names, task)
    _check_names(blocked or [], task)
    missing = [n for n in names if n not in set(blocked or []) and not LEARNERS[n].available()]
    if allowed is not None and missing:
        name = missing[0]
        raise ValueError(
            f"allowed_models names {name!r}, which needs the optional package "
            f"{LEARNERS[name].requires!r}: pip install 'mlflow-automl[{LEARNERS[name].requires}]'"
        )
    names = [n for n in names if n not in missing]
    chosen = [
        LEARNERS[name]
        for name in names
        if name not in set(blocked or [])
        and (LEARNERS[name].onnx_compatible or not onnx_only)
        and (LEARNERS[name].supports_sample_weight or not need_sample_weight)
        and (LEARNERS[name].handles_missing or not need_missing)
    ]

    def order(learner: type[Learner]) -> tuple[bool, float, str]:
        return task not in learner.portfolio, learner.relative_cost, learner.name

    return sorted(chosen, key=order)


def _check_names(names: list[str], task: str) -> None:
    valid = learner_names(task)
    for name in names:
        if name not in valid:
            raise ValueError(
                f"Unknown model {name!r} for task {task!r}. Valid names: {', '.join(valid)}"
            )


def choose_learners(config: Any, data: Any, plan: Any) -> list[Learner]:
    """The learners an experiment tries (``AutoMLConfig``, its ``TrainingData`` and plan); an
    error naming why when none is left."""
    needs_missing = plan.mode == "off" and bool(data.X.isna().to_numpy().any())
    learners = learners_for(
        config.task,
        allowed=config.allowed_models,
        blocked=config.blocked_models,
        onnx_only=config.enable_onnx_compatible_models,
        need_sample_weight=data.sample_weight is not None,
        need_missing=needs_missing,
    )
    if not learners:
        reasons = []
        if data.sample_weight is not None:
            reasons.append("the weight column needs learners that accept sample weights")
        if needs_missing:
            reasons.append("featurization='off' with missing values needs NaN-aware learners")
        raise AutoMLConfigError(
            "No learner is left to try after allowed_models/blocked_models"
            + (f" ({'; '.join(reasons)})" if reasons else "")
            + "."
        )
    return learners
