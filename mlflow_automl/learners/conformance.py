"""Reusable conformance checks that every learner must pass (cf. scikit-learn's
``check_estimator``).

Each ``check_*`` function takes a learner, a task and a small real dataset and raises
``AssertionError`` on a violation. ``conformance_cases`` enumerates (learner, task, dataset, check)
combinations, so a test module only parametrizes over it and new learners are covered for free.
Flags are checked in both directions: a learner must neither over- nor under-claim
``supports_sample_weight``, ``handles_missing`` or ``onnx_compatible``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import datasets
from sklearn.base import BaseEstimator
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

from mlflow_automl.learners.base import CLASSIFICATION, FORECASTING, REGRESSION, TASKS, Learner
from mlflow_automl.search.space import Domain
from mlflow_automl.tasks import get_task

_N_ROWS = 300  # "a few hundred rows": real data, seconds per learner
_SIZES = ((10, 2), (1_000_000, 1_000))  # extremes the spaces must stay valid for


@dataclass(frozen=True)
class Dataset:
    """A small real dataset, split into train and test halves."""

    name: str
    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_classes(self) -> int:
        return len(np.unique(self.y_train))


_LOADERS: dict[str, tuple[str, Callable[..., Any]]] = {
    "binary": (CLASSIFICATION, datasets.load_breast_cancer),
    "multiclass": (CLASSIFICATION, datasets.load_wine),
    "regression": (REGRESSION, datasets.load_diabetes),
}
DATASETS_BY_TASK: dict[str, tuple[str, ...]] = {
    CLASSIFICATION: ("binary", "multiclass"),
    REGRESSION: ("regression",),
    # Forecasting learners are checked on real series in tests/forecasting (a tabular dataset
    # has no time order); their regression side is covered above.
    FORECASTING: (),
}


@functools.cache
def load_dataset(kind: str) -> Dataset:
    """``"binary"`` (breast cancer), ``"multiclass"`` (wine) or ``"regression"`` (diabetes)."""
    task, loader = _LOADERS[kind]
    X, y = loader(return_X_y=True)
    stratify = get_task(task).stratify(y)
    if len(y) > _N_ROWS:
        X, _, y, _ = train_test_split(X, y, train_size=_N_ROWS, random_state=0, stratify=stratify)
        stratify = get_task(task).stratify(y)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=1 / 3, random_state=0, stratify=stratify
    )
    return Dataset(kind, task, X_train, y_train, X_test, y_test)


def build(learner: Learner, task: str, params: dict[str, Any], random_state: int = 0) -> Any:
    """The learner's estimator, behind its declared scaler if any."""
    estimator = learner.make_estimator(task, params, random_state=random_state, n_jobs=1)
    scaler = learner.make_scaler()
    if scaler is None:
        return estimator
    return Pipeline([("scaler", scaler), ("model", estimator)])


def fit(
    learner: Learner,
    data: Dataset,
    params: dict[str, Any],
    X: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
    random_state: int = 0,
) -> Any:
    model = build(learner, data.task, params, random_state)
    fit_params = learner.fit_params(sample_weight)
    if isinstance(model, Pipeline):
        fit_params = {f"model__{key}": value for key, value in fit_params.items()}
    return model.fit(data.X_train if X is None else X, data.y_train, **fit_params)


def predictions(model: Any, task: str, X: np.ndarray) -> np.ndarray:
    """What a task's scorer consumes: probabilities for classification, values for regression."""
    return model.predict_proba(X) if get_task(task).predicts_classes else model.predict(X)


def _size(data: Dataset) -> tuple[int, int]:
    return data.X_train.shape


def sample_configs(
    learner: Learner, task: str, n_rows: int, n_features: int, n: int = 3, seed: int = 0
) -> list[dict[str, Any]]:
    """``n`` configurations drawn from the search space by a seeded Optuna TPE study."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = learner.search_space(task, n_rows, n_features)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    configs = []
    for _ in range(n):
        trial = study.ask()
        configs.append({key: domain.suggest(trial, key) for key, domain in space.items()})
    return configs


# -- checks -----------------------------------------------------------------------------------


def check_metadata(learner: Learner, data: Dataset) -> None:
    assert isinstance(learner.name, str) and learner.name
    assert learner.tasks and learner.tasks <= set(TASKS)
    assert learner.scaler in (None, "standard", "minmax")
    assert isinstance(learner.onnx_compatible, bool)
    assert learner.relative_cost > 0
    assert learner.__doc__, "document the Azure name -> library estimator mapping"


def check_params_in_space(learner: Learner, data: Dataset) -> None:
    """low_cost_params and default_params set every searched key to a value inside the space,
    for this dataset and for tiny and huge ones; the estimator accepts them."""
    for n_rows, n_features in (_size(data), *_SIZES):
        space = learner.search_space(data.task, n_rows, n_features)
        assert space and all(isinstance(d, Domain) for d in space.values())
        for kind in ("low_cost_params", "default_params"):
            params = getattr(learner, kind)(data.task, n_rows, n_features)
            assert params.keys() == space.keys(), (kind, n_rows, params.keys() ^ space.keys())
            outside = {k: v for k, v in params.items() if not space[k].contains(v)}
            assert not outside, f"{kind} outside the space at n_rows={n_rows}: {outside}"
            learner.make_estimator(data.task, params).get_params()


def check_sampled_configs_fit(learner: Learner, data: Dataset) -> None:
    """Three configurations sampled from the space fit and predict finite values."""
    for params in sample_configs(learner, data.task, *_size(data)):
        model = fit(learner, data, params)
        predicted = model.predict(data.X_test)
        assert predicted.shape == data.y_test.shape, params
        if not get_task(data.task).predicts_classes:
            assert np.isfinite(predicted).all(), params
        else:
            assert set(np.unique(predicted)) <= set(range(data.n_classes)), params
            _check_proba(model.predict_proba(data.X_test), data)


def check_predict_proba(learner: Learner, data: Dataset) -> None:
    """Classifiers give one probability column per class, rows summing to one."""
    params = learner.default_params(data.task, *_size(data))
    _check_proba(fit(learner, data, params).predict_proba(data.X_test), data)


def _check_proba(proba: np.ndarray, data: Dataset) -> None:
    assert proba.shape == (len(data.X_test), data.n_classes)
    assert np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1 + 1e-9).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def check_sample_weight(learner: Learner, data: Dataset) -> None:
    """``supports_sample_weight`` is true exactly when fitting with weights works."""
    estimator = learner.make_estimator(data.task, learner.low_cost_params(data.task, *_size(data)))
    assert has_fit_parameter(estimator, "sample_weight") == learner.supports_sample_weight
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(data.y_train))
    if not learner.supports_sample_weight:
        try:
            learner.fit_params(weights)
        except ValueError:
            return
        raise AssertionError("fit_params accepted weights the learner cannot use")
    assert learner.fit_params(None) == {}
    params = learner.default_params(data.task, *_size(data))
    model = fit(learner, data, params, sample_weight=weights)
    assert np.isfinite(predictions(model, data.task, data.X_test)).all()


def check_missing(learner: Learner, data: Dataset) -> None:
    """``handles_missing`` is true exactly when fitting on NaN works."""
    rng = np.random.default_rng(0)
    X_train = np.where(rng.random(data.X_train.shape) < 0.1, np.nan, data.X_train)
    X_test = np.where(rng.random(data.X_test.shape) < 0.1, np.nan, data.X_test)
    params = learner.low_cost_params(data.task, *_size(data))
    if not learner.handles_missing:
        try:
            fit(learner, data, params, X=X_train)
        except ValueError:
            return
        raise AssertionError("fits on NaN: declare handles_missing = True")
    model = fit(learner, data, params, X=X_train)
    assert np.isfinite(predictions(model, data.task, X_test)).all()


def check_reproducible(learner: Learner, data: Dataset) -> None:
    """The same random_state gives identical predictions."""
    params = sample_configs(learner, data.task, *_size(data), n=1, seed=1)[0]
    first, second = (
        predictions(fit(learner, data, params), data.task, data.X_test) for _ in range(2)
    )
    np.testing.assert_array_equal(first, second)


def check_beats_baseline(learner: Learner, data: Dataset) -> None:
    """Even the low-cost configuration beats a constant prediction on held-out rows."""
    params = learner.low_cost_params(data.task, *_size(data))
    predicted = fit(learner, data, params).predict(data.X_test)
    if not get_task(data.task).predicts_classes:
        assert r2_score(data.y_test, predicted) > 0
    else:
        majority = np.bincount(data.y_train).argmax()
        assert accuracy_score(data.y_test, predicted) > np.mean(data.y_test == majority)


def check_onnx(learner: Learner, data: Dataset) -> None:
    """``onnx_compatible`` is true exactly when skl2onnx converts the (scaler +) estimator and
    onnxruntime reproduces its predictions within 1e-4 on float32 input.
    """
    size = _size(data)
    configs = [
        learner.default_params(data.task, *size),
        learner.low_cost_params(data.task, *size),
        *sample_configs(learner, data.task, *size),
    ]
    if not learner.onnx_compatible:
        try:
            assert_onnx_matches(fit(learner, data, configs[0]), data)
        except Exception:
            return
        raise AssertionError("converts to ONNX: declare onnx_compatible = True")
    for params in configs:
        assert_onnx_matches(fit(learner, data, params), data)


def assert_onnx_matches(model: BaseEstimator, data: Dataset) -> None:
    import onnxruntime

    from mlflow_automl.learners.onnx import to_onnx

    X = data.X_test.astype(np.float32)
    session = onnxruntime.InferenceSession(
        to_onnx(model, X).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    outputs = session.run(None, {session.get_inputs()[0].name: X})
    if not get_task(data.task).predicts_classes:
        np.testing.assert_allclose(outputs[0].ravel(), model.predict(X), rtol=1e-4, atol=1e-4)
        return
    proba = model.predict_proba(X)
    np.testing.assert_allclose(outputs[1], proba, atol=1e-4)
    # Labels must agree wherever the top two classes are not tied.
    top_two = np.sort(proba, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 1e-4
    np.testing.assert_array_equal(outputs[0].ravel()[clear], model.predict(X)[clear])


CHECKS: dict[str, Callable[[Learner, Dataset], None]] = {
    "metadata": check_metadata,
    "params_in_space": check_params_in_space,
    "sampled_configs_fit": check_sampled_configs_fit,
    "predict_proba": check_predict_proba,
    "sample_weight": check_sample_weight,
    "missing": check_missing,
    "reproducible": check_reproducible,
    "beats_baseline": check_beats_baseline,
    "onnx": check_onnx,
}
_CLASSIFICATION_ONLY = frozenset({"predict_proba"})


def conformance_cases(learners: Iterable[Learner]) -> list[tuple[Learner, str, str]]:
    """Every applicable (learner, dataset kind, check name) combination."""
    return [
        (learner, kind, check)
        for learner in learners
        for task in sorted(learner.tasks)
        for kind in DATASETS_BY_TASK[task]
        for check in CHECKS
        if get_task(task).predicts_classes or check not in _CLASSIFICATION_ONLY
    ]


def run_check(learner: Learner, kind: str, check: str) -> None:
    """Run one named check of ``learner`` on the dataset ``kind``."""
    CHECKS[check](learner, load_dataset(kind))
