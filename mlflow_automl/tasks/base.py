"""The task interface: what the orchestrator and the other modules ask a task.

Flags are what a task declares (class attributes); methods are the steps that differ. A task
object holds no state: ``get_task`` returns one shared instance per task.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from copy import deepcopy
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from mlflow_automl.config import AutoMLConfig
    from mlflow_automl.data import TrainingData
    from mlflow_automl.featurize import Guardrail
    from mlflow_automl.insights.charts import Chart

# Featurization steps with no ONNX equivalent (date parsing, sklearn's feature hashing,
# multiclass target encoding), left out when enable_onnx_compatible_models=True.
NOT_ONNX_CONVERTIBLE = ["DateTimeFeaturizer", "HashOneHotEncoder", "TargetEncoder"]


class Task(ABC):
    """One task's strategy. Subclasses set ``name`` and the flags, and implement the steps."""

    name: ClassVar[str]
    #: Labels are classes: encoded as codes, splits stratified, predictions are probabilities.
    predicts_classes: ClassVar[bool] = False
    #: The best model may be exported to ONNX (enable_onnx_compatible_models).
    onnx_export: ClassVar[bool] = True
    #: Feature importance of the best model can be computed (model_explainability).
    explainable: ClassVar[bool] = True
    #: The forecasting settings (forecast_horizon, time_column_name, ...) apply.
    takes_forecasting_settings: ClassVar[bool] = False
    #: When the refit does not fit in the time left, the final model may be fitted on a
    #: training split (a forecaster fitted on an earlier window forecasts from the wrong origin).
    split_fallback: ClassVar[bool] = True
    #: The voting ensemble stays the final model unless a single iteration is better by more
    #: than one standard error over the validation windows (``ensemble/iterations.py``).
    prefers_combination: ClassVar[bool] = False
    #: Trials fit the plan's featurizer as their pipeline's first step, the same for every
    #: learner, so a worker may featurize each split once (``evaluation/trial.py``); a
    #: forecaster featurizes inside itself.
    shares_featurized_splits: ClassVar[bool] = True
    #: Which writer of ``codegen/`` gives its models their code (``enable_code_generation``):
    #: ``"plain"``, plain scikit-learn; ``"forecasters"``, on the public forecasters.
    code_kind: ClassVar[str] = "plain"

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # --- metrics -----------------------------------------------------------------------------
    @property
    def metrics(self) -> tuple[str, ...]:
        """Every metric the task logs per iteration."""
        from mlflow_automl.evaluation.metrics import metrics_for_task

        return metrics_for_task(self.name)

    @property
    def primary_metrics(self) -> tuple[str, ...]:
        """The metrics a search may optimize (``primary_metric``)."""
        from mlflow_automl.evaluation.metrics import PRIMARY_METRICS

        return tuple(PRIMARY_METRICS[self.name])

    def compute_metrics(
        self, y_true: Any, prediction: Any, sample_weight: Any = None, scale: Any = None
    ) -> dict[str, float]:
        from mlflow_automl.evaluation.metrics import compute_metrics

        return compute_metrics(self.name, y_true, prediction, sample_weight, scale)

    def stratify(self, y: np.ndarray) -> np.ndarray | None:
        """What a split keeps in proportion: the classes, or nothing."""
        return y if self.predicts_classes else None

    # --- data and featurization ------------------------------------------------------------
    @abstractmethod
    def prepare_data(self, config: AutoMLConfig) -> TrainingData:
        """Loads and checks the training data and fixes the validation splits."""

    @abstractmethod
    def plan(self, config: AutoMLConfig, data: TrainingData) -> Any:
        """The featurization plan every trial's pipeline is built from."""

    @abstractmethod
    def guardrails(self, data: TrainingData, plan: Any) -> list[Guardrail]:
        """The data checks shown and logged before the search."""

    @abstractmethod
    def parsed_date_columns(self, plan: Any) -> tuple[str, ...]:
        """Columns the model parses as dates (their kind for the model's input check)."""

    def target_transforms(self, config: AutoMLConfig, data: TrainingData) -> tuple[str, ...]:
        """The target transforms the search chooses among (``featurize/target.py``); none
        unless the task predicts a number that a transform may help."""
        return ()

    # --- the model ---------------------------------------------------------------------------
    @abstractmethod
    def build_pipeline(
        self, plan: Any, learner: Any, params: dict[str, Any], random_state: int, n_jobs: int
    ) -> Any:
        """An unfitted estimator (``fit(X, y)``, ``predict``) for one trial's configuration."""

    @property
    @abstractmethod
    def model_class(self) -> type:
        """The wrapper class of the fitted model users get and MLflow logs."""

    @abstractmethod
    def record_engineered_counts(self, plan: Any, pipeline: Any, ensemble: bool) -> None:
        """Tells the plan how many features the fitted final model engineered (its summary)."""

    @abstractmethod
    def input_example(
        self, model: Any, data: TrainingData, kinds: dict[str, str], rows: np.ndarray
    ) -> pd.DataFrame:
        """The logged model's input example; first readies ``model`` for logging where the
        task needs it (a forecaster keeps each series' MASE scale and last known features)."""

    # --- ensembles and insights --------------------------------------------------------------
    @abstractmethod
    def ensemble_selection(
        self, config: AutoMLConfig, data: TrainingData
    ) -> tuple[Callable[..., np.ndarray], np.ndarray | None]:
        """The greedy selection function for the voting ensemble, and its row weights."""

    @abstractmethod
    def score_ensemble(self, data: TrainingData, predictions: np.ndarray) -> dict[str, float]:
        """Every metric of an ensemble's out-of-fold predictions."""

    @abstractmethod
    def charts(self, data: TrainingData, predictions: np.ndarray) -> list[Chart]:
        """The chart set of one iteration, from its kept validation predictions."""


def featurization_for(config: AutoMLConfig) -> Any:
    """The featurization setting, limited to steps that convert when ONNX models are asked for."""
    featurization = config.featurization
    if not config.enable_onnx_compatible_models or featurization == "off":
        return featurization
    from mlflow_automl.featurize import FeaturizationConfig

    custom = FeaturizationConfig() if featurization == "auto" else deepcopy(featurization)
    custom.add_blocked_transformers(NOT_ONNX_CONVERTIBLE)
    return custom
