"""The ``Learner`` base class: one small declarative class per model family.

A learner is metadata plus a data-size-aware search space (style of AutoGluon and FLAML). Concrete
learners declare class attributes (``name``, ``estimators``, ``defaults``, ``low_cost``, ``fixed``)
and ``search_space``; the base class turns them into unfitted scikit-learn estimators.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from mlflow_automl.search.space import Categorical, Domain, Float, Int
from mlflow_automl.tasks import get_task
from mlflow_automl.tasks.names import CLASSIFICATION, FORECASTING, REGRESSION, TASKS

TABULAR: frozenset[str] = frozenset({CLASSIFICATION, REGRESSION})

_SCALERS: dict[str, type[BaseEstimator]] = {"standard": StandardScaler, "minmax": MinMaxScaler}


def check_task(task: str) -> None:
    """Raise ``ValueError`` unless ``task`` is a known task name."""
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}. Valid tasks: {', '.join(sorted(TASKS))}")


def size_cap(n_rows: int, cap: int, low: int) -> int:
    """Upper bound of a size-like hyperparameter: ``min(cap, n_rows)``, but never below ``low``.

    Counts of trees, leaves or neighbours beyond the number of rows buy nothing but time.
    """
    return max(low, min(cap, int(n_rows)))


def clip_to_space(params: dict[str, Any], space: dict[str, Domain]) -> dict[str, Any]:
    """Move each numeric value into its domain; categorical values must already be choices."""
    clipped: dict[str, Any] = {}
    for key, domain in space.items():
        if key not in params:
            raise KeyError(f"no value for hyperparameter {key!r}")
        value = params[key]
        if isinstance(domain, Int):
            value = int(min(max(round(value), domain.low), domain.high))
        elif isinstance(domain, Float):
            value = float(min(max(value, domain.low), domain.high))
        elif isinstance(domain, Categorical) and value not in domain.choices:
            raise ValueError(f"{key}={value!r} is not one of {domain.choices}")
        clipped[key] = value
    return clipped


class Learner:
    """One model family that AutoML can tune, for one or both tasks.

    Subclasses declare:

    - ``name``: what users type in ``allowed_models`` / ``blocked_models``.
    - ``estimators``: task -> scikit-learn-compatible estimator class; ``tasks`` derives from it.
    - ``onnx_compatible``, ``scaler``, ``supports_sample_weight``, ``handles_missing``,
      ``relative_cost``: metadata the pipeline builder and the search use.
    - ``defaults``: the library defaults of every searched hyperparameter (clipped into the space
      by :meth:`default_params`); override :meth:`library_defaults` when they depend on the task.
    - ``low_cost``: the cost-driving hyperparameters at their cheapest sane values; the others
      keep their defaults (FLAML's low-cost initial point).
    - ``fixed``: constructor arguments that are never searched (e.g. ``verbosity=-1``).
    - ``portfolio``: the tasks for which this is one of the learners that win most often
      (tabular: boosting, forests, a regularised linear model; forecasting: the seasonal
      baselines, exponential smoothing and a global LightGBM); the search tries these and their
      defaults before the others.
    - ``requires``: the optional package the learner needs (e.g. ``"prophet"``); without it
      AutoML leaves the learner out, and naming it in ``allowed_models`` is an error.
    - ``forecasting``: a regression learner that also forecasts, as one global model over
      engineered lag / window / calendar features (:mod:`mlflow_automl.forecasting`).
    - ``univariate``: a forecasting-only model fitted per series (``estimators`` maps
      ``"forecasting"`` to a :class:`~mlflow_automl.forecasting.statistical.UnivariateModel`).
    - :meth:`search_space`.
    """

    name: ClassVar[str]
    tasks: ClassVar[frozenset[str]]
    onnx_compatible: ClassVar[bool]
    scaler: ClassVar[str | None] = None
    supports_sample_weight: ClassVar[bool] = True
    handles_missing: ClassVar[bool] = False
    relative_cost: ClassVar[float] = 1.0
    portfolio: ClassVar[frozenset[str]] = frozenset()
    requires: ClassVar[str | None] = None
    forecasting: ClassVar[bool] = False
    univariate: ClassVar[bool] = False
    # Under this many training cells (rows x columns) a fit runs on one thread. scikit-learn's
    # forests hand whole trees to joblib threads: on 2 cores a 100-tree forest took 0.29 s on
    # one thread and 0.36 s on two for 300 x 7, and threads paid from about 1,000 x 10.
    one_thread_below_cells: ClassVar[int] = 10_000
    # The constructor argument that takes the fit's thread count (CatBoost: thread_count).
    threads_argument: ClassVar[str] = "n_jobs"
    # Reads categorical columns itself from integer codes (CatBoost's ordered target
    # statistics) instead of the plan's one-hot / target / hash encodings.
    native_categoricals: ClassVar[bool] = False

    estimators: ClassVar[dict[str, type]] = {}
    defaults: ClassVar[dict[str, Any]] = {}
    low_cost: ClassVar[dict[str, Any]] = {}
    fixed: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:  # an intermediate base shared by several learners
            return
        cls.tasks = frozenset(cls.estimators) | ({FORECASTING} if cls.forecasting else set())
        if cls.forecasting and REGRESSION not in cls.estimators:
            raise TypeError(f"{cls.__name__}: a forecasting regression learner needs a regressor")
        if not cls.tasks or not cls.tasks <= set(TASKS):
            raise TypeError(f"{cls.__name__}.estimators must map tasks in {sorted(TASKS)}")
        if cls.scaler is not None and cls.scaler not in _SCALERS:
            raise TypeError(f"{cls.__name__}.scaler must be one of {sorted(_SCALERS)} or None")

    @classmethod
    def available(cls) -> bool:
        """Whether the optional package the learner needs (if any) is installed."""
        import importlib.util

        if cls.requires is None:
            return True
        try:
            return importlib.util.find_spec(cls.requires) is not None
        except ValueError:  # None in sys.modules: the import is blocked
            return False

    def __repr__(self) -> str:
        return f"<Learner {self.name}>"

    # -- search space -------------------------------------------------------------------------

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        """The hyperparameters to tune, sized for a training set of ``n_rows`` x ``n_features``."""
        raise NotImplementedError

    def library_defaults(self, task: str, n_rows: int, n_features: int) -> dict[str, Any]:
        """The estimator library's own defaults for the searched hyperparameters."""
        return dict(self.defaults)

    def default_params(self, task: str, n_rows: int, n_features: int) -> dict[str, Any]:
        """A strong known-good configuration: the library defaults, clipped into the space."""
        self._check_task(task)
        space = self.search_space(task, n_rows, n_features)
        return clip_to_space(self.library_defaults(task, n_rows, n_features), space)

    def low_cost_params(self, task: str, n_rows: int, n_features: int) -> dict[str, Any]:
        """A cheap, sane starting point inside the space: the defaults with ``low_cost`` applied."""
        self._check_task(task)
        space = self.search_space(task, n_rows, n_features)
        params = {**self.library_defaults(task, n_rows, n_features), **self.low_cost}
        return clip_to_space(params, space)

    # -- estimators ---------------------------------------------------------------------------

    def make_estimator(
        self,
        task: str,
        params: dict[str, Any],
        random_state: int = 0,
        n_jobs: int = 1,
        categorical_codes: int = 0,
    ) -> BaseEstimator:
        """An unfitted estimator for ``task``; classifiers always have ``predict_proba``.

        ``random_state`` and ``n_jobs`` are passed to every estimator that accepts them, so results
        are reproducible and the core budget is respected. ``categorical_codes``: the first that
        many input columns are category codes (only for ``native_categoricals`` learners).
        """
        self._check_task(task)
        if categorical_codes and not self.native_categoricals:
            raise ValueError(f"{self.name} does not read categorical codes")
        cls = self.estimator_class(task)
        arguments = {**self.seeding(task, random_state, n_jobs), **self.fixed, **params}
        if categorical_codes:
            arguments.update(self.categorical_arguments(categorical_codes))
        estimator = cls(**arguments)
        if get_task(task).predicts_classes and not hasattr(estimator, "predict_proba"):
            # Margin-only models (hinge, perceptron) get Platt-scaled probabilities.
            # Sequential: for three small fits, starting joblib workers costs more than it saves.
            estimator = CalibratedClassifierCV(estimator, cv=3)
        return estimator

    def categorical_arguments(self, count: int) -> dict[str, Any]:
        """Constructor arguments saying that the first ``count`` columns are category codes."""
        raise NotImplementedError(f"{self.name} does not read categorical codes")

    def seeding(self, task: str, random_state: int, n_jobs: int) -> dict[str, int]:
        """The seed and thread-count arguments of ``task``'s estimator, for those it takes."""
        cls = self.estimator_class(task)
        # XGBoost hides its arguments behind **kwargs; CatBoost lists only those set.
        accepted = set(cls().get_params()) | set(inspect.signature(cls).parameters)
        wanted = {"random_state": random_state, self.threads_argument: n_jobs}
        return {k: v for k, v in wanted.items() if k in accepted}

    def threads(self, training_frame: Any, cores: int) -> int:
        """Threads for a fit on ``training_frame``: ``cores``, or one on a table too small for
        threads to pay (``one_thread_below_cells``)."""
        n_rows, n_columns = training_frame.shape[0], training_frame.shape[1]
        return 1 if n_rows * n_columns < self.one_thread_below_cells else cores

    def estimator_class(self, task: str) -> type:
        """The estimator class for ``task``; forecasting regression learners fit their
        regressor on engineered features."""
        return self.estimators[REGRESSION if task not in self.estimators else task]

    def make_scaler(self) -> BaseEstimator | None:
        """A fresh instance of the declared scaler, or ``None``."""
        return None if self.scaler is None else _SCALERS[self.scaler]()

    def fit_params(self, sample_weight: Any | None) -> dict[str, Any]:
        """Keyword arguments for ``estimator.fit`` (prefix them when the estimator sits in a
        ``Pipeline``)."""
        if sample_weight is None:
            return {}
        if not self.supports_sample_weight:
            raise ValueError(f"{self.name} does not support sample_weight")
        return {"sample_weight": sample_weight}

    def _check_task(self, task: str) -> None:
        check_task(task)
        if task not in self.tasks:
            raise ValueError(f"{self.name} does not support task {task!r}")
