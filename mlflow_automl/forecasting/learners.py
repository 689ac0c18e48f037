"""The statistical forecasting learners, under the names of Azure's model table.

Each is fitted per series (:class:`~mlflow_automl.forecasting.forecasters.PerSeriesForecaster`);
their search spaces are the model forms to try. The regression learners (LightGBM, ElasticNet,
...) forecast too, as one global model (``Learner.forecasting``). Prophet is offered when its
optional package is installed (the ``prophet`` extra; its wheels bundle the compiled Stan
model); ForecastTCN is not, as it needs a deep-learning stack.
"""

from __future__ import annotations

from typing import Any

from mlflow_automl.evaluation.metrics import FORECASTING
from mlflow_automl.forecasting.statistical import (
    AutoArimaModel,
    AverageModel,
    ExponentialSmoothingModel,
    NaiveModel,
    ProphetModel,
    SeasonalAverageModel,
    SeasonalNaiveModel,
)
from mlflow_automl.learners.base import Learner
from mlflow_automl.search.space import Categorical, Domain, Float, Int


class _StatisticalLearner(Learner):
    """Per-series univariate models: no sample weights, no ONNX, covariates unused."""

    univariate = True
    # Their n_jobs is processes, one series each (PerSeriesForecaster decides how many), not
    # threads that meet at every step: a small table does not make them pointless.
    one_thread_below_cells = 0
    onnx_compatible = False
    supports_sample_weight = False
    handles_missing = True  # they never see the feature columns

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {}


class NaiveLearner(_StatisticalLearner):
    """``Naive``: the last value."""

    name = "Naive"
    portfolio = frozenset({FORECASTING})
    estimators = {FORECASTING: NaiveModel}
    relative_cost = 0.01


class SeasonalNaiveLearner(_StatisticalLearner):
    """``SeasonalNaive``: the value one season earlier."""

    name = "SeasonalNaive"
    portfolio = frozenset({FORECASTING})
    estimators = {FORECASTING: SeasonalNaiveModel}
    relative_cost = 0.01


class AverageLearner(_StatisticalLearner):
    """``Average``: the mean of the history."""

    name = "Average"
    estimators = {FORECASTING: AverageModel}
    relative_cost = 0.01


class SeasonalAverageLearner(_StatisticalLearner):
    """``SeasonalAverage``: the mean of the latest season, carried forward."""

    name = "SeasonalAverage"
    estimators = {FORECASTING: SeasonalAverageModel}
    relative_cost = 0.01


class ExponentialSmoothingLearner(_StatisticalLearner):
    """``ExponentialSmoothing`` -> statsmodels Holt-Winters; the search picks the form (trend,
    damping, seasonality) on the rolling-origin score."""

    name = "ExponentialSmoothing"
    portfolio = frozenset({FORECASTING})
    estimators = {FORECASTING: ExponentialSmoothingModel}
    # One optimisation per series and fold, so LightGBM's trials are queued first. On 148
    # monthly series (60 s, busy machine) the seasonal form took 15-25 s and LightGBM's default
    # never ran: held-out MASE 0.522; queued after LightGBM it ran and scored 0.372.
    relative_cost = 1.2
    defaults = {"trend": "add", "damped_trend": True, "seasonal": "add"}
    low_cost = {"trend": None, "damped_trend": False, "seasonal": None}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "trend": Categorical((None, "add")),
            "damped_trend": Categorical((False, True)),
            "seasonal": Categorical((None, "add", "mul")),
        }


class AutoArimaLearner(_StatisticalLearner):
    """``AutoArima`` -> a stepwise ARIMA order search over statsmodels' SARIMAX (see
    :class:`~mlflow_automl.forecasting.statistical.AutoArimaModel`); the search also chooses
    how a seasonal series is handled: a seasonal difference (auto.arima's way, the default),
    an STL profile (stlm's way) or none."""

    name = "AutoArima"
    estimators = {FORECASTING: AutoArimaModel}
    relative_cost = 3.0
    defaults = {"max_fits": 10, "seasonal": "difference"}
    low_cost = {"max_fits": 4}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Any]:
        return {
            "max_fits": Int(4, 20, log=True),
            "seasonal": Categorical(("difference", "stl", None)),
        }


class ProphetLearner(_StatisticalLearner):
    """``Prophet`` -> the ``prophet`` package (optional: ``pip install 'mlflow-automl[prophet]'``)
    per series; the search tunes how flexible the trend and the seasonalities are."""

    name = "Prophet"
    requires = "prophet"
    estimators = {FORECASTING: ProphetModel}
    relative_cost = 5.0  # one Stan optimisation per series and fold
    defaults = {
        "seasonality_mode": "additive",
        "changepoint_prior_scale": 0.05,
        "seasonality_prior_scale": 10.0,
    }
    low_cost = {}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "seasonality_mode": Categorical(("additive", "multiplicative")),
            "changepoint_prior_scale": Float(0.001, 0.5, log=True),
            "seasonality_prior_scale": Float(0.01, 10.0, log=True),
        }


STATISTICAL_LEARNERS: tuple[type[Learner], ...] = (
    NaiveLearner,
    SeasonalNaiveLearner,
    AverageLearner,
    SeasonalAverageLearner,
    ExponentialSmoothingLearner,
    AutoArimaLearner,
    ProphetLearner,
)
