"""What a generated script needs to know about one iteration, as plain data.

``CodeSpec`` is built once from the experiment's data, featurization plan and the iteration's
learner and hyperparameters; the renderers turn it into code without looking at anything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlflow_automl.featurize.target import IDENTITY, LOG1P, split_params


@dataclass(frozen=True)
class ColumnStep:
    """One kept raw column: its featurization kind and parameters, and why (for the comment)."""

    column: str
    kind: str  # numeric | passthrough | onehot | target | hash | text | datetime | ordinal
    params: dict[str, Any]
    note: str
    # A categorical column's note when a learner reads it as category codes (CatBoost).
    coded_note: str = ""


@dataclass(frozen=True)
class EstimatorCode:
    """An estimator as ``Class(**hyperparameters)``, maybe wrapped for probabilities."""

    module: str
    name: str
    searched: dict[str, Any]  # what the search chose
    fixed: dict[str, Any]  # what mlflow-automl always sets for this learner
    seeding: dict[str, Any]  # the experiment's seed and threads
    calibrated: bool  # margin-only classifier: Platt-scaled by CalibratedClassifierCV(cv=3)
    target_transform: str = IDENTITY  # log1p: fitted on log1p(y) (featurize/target.py)
    # The first that many featurized columns are category codes the model reads itself
    # (CatBoost's cat_features): its pipeline uses make_coded_featurizer.
    category_codes: int = 0

    @property
    def featurizer(self) -> str:
        """The generated function that builds this estimator's featurizer."""
        return "make_coded_featurizer" if self.category_codes else "make_featurizer"

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return {**self.seeding, **self.fixed, **self.searched}

    def source(self, hyperparameters: str) -> str:
        """The estimator's construction from the dict named ``hyperparameters``, wrapped as
        the trial's was."""
        call = f"{self.name}(**{hyperparameters})"
        if self.calibrated:
            # Margin-only models: probabilities by Platt scaling on 3 internal folds.
            call = f"CalibratedClassifierCV({call}, cv=3)"
        if self.target_transform == LOG1P:
            call = f"on_log_target({call})"
        return call

    @property
    def helper(self) -> str:
        """Code the generated script defines before the estimator's construction can run."""
        return LOG_TARGET_HELPER if self.target_transform == LOG1P else ""

    @property
    def imports(self) -> set[str]:
        lines = {f"from {self.module} import {self.name}"}
        if self.calibrated:
            lines.add("from sklearn.calibration import CalibratedClassifierCV")
        if self.target_transform == LOG1P:
            lines.add("from sklearn.compose import TransformedTargetRegressor")
        return lines


# The helper the generated code defines when a model learns a transformed target.
LOG_TARGET_HELPER = '''

def on_log_target(regressor):
    """``regressor`` learns log1p(y); its predictions come back on y's scale (expm1)."""
    return TransformedTargetRegressor(regressor, func=np.log1p, inverse_func=np.expm1)
'''


@dataclass(frozen=True)
class Member:
    """One member of an ensemble: its iteration, scaler and estimator."""

    iteration: int
    learner: str
    scaler: str | None
    estimator: EstimatorCode


@dataclass(frozen=True)
class Combination:
    """How an ensemble combines its members: voting weights, or a stack's meta-learner."""

    kind: str  # VotingEnsemble | StackEnsemble (mlflow_automl.ensemble.iterations)
    members: list[Member]
    weights: list[float] | None = None
    meta: EstimatorCode | None = None  # the meta-learner, with our defaults and the user's kwargs
    meta_train_share: float | None = None  # single split: the meta-learner's share of rows


@dataclass(frozen=True)
class CodeSpec:
    """Everything the training, scoring and notebook templates are rendered from."""

    task: str
    metric: str
    label: str
    weight: str | None
    classes: list[Any] | None
    seed: int
    validation: str  # cross_validation | train_validation_split | user_validation_data
    n_folds: int | None
    validation_fraction: float | None
    learner: str
    iteration: int | None
    run_id: str | None
    scaler: str | None  # StandardScaler | MinMaxScaler
    estimator: EstimatorCode
    columns: list[ColumnStep]
    data_source: str
    model_uri: str | None = None
    origin: str = ""
    version: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def classification(self) -> bool:
        """The labels are classes (the task says so): stratified folds, class codes."""
        from mlflow_automl.tasks import get_task

        return get_task(self.task).predicts_classes

    @property
    def generated(self) -> bool:
        """This spec's task is written as plain scikit-learn (forecasting: codegen/forecasting)."""
        from mlflow_automl.tasks import get_task

        return get_task(self.task).code_kind == "plain"

    ensemble: Combination | None = None
    fold_columns: list[str] | None = None  # cv_split_column_names: 1 = train, 0 = validation
    # final_model="fold_models": the final model is each fold's model, averaged (not a refit).
    fold_models: bool = False


def plain(value: Any) -> Any:
    """NumPy scalars and tuples as the Python literals a reader expects (``0.1``, not
    ``np.float64(0.1)``)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    return value


def literal(value: Any) -> str:
    """Python source of a plain value, strings in double quotes as ``ruff format`` writes them."""
    value = plain(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _column_note(frame: Any, column: str, kind: str, params: dict[str, Any]) -> str:
    series = frame[column]
    missing = int(series.isna().sum())
    imputed = kind in ("numeric", "onehot") or params.get("impute")
    gaps = ""
    if missing:
        gaps = f", {missing} missing " + ("filled" if imputed else "kept as a level")
    if kind == "numeric":
        indicator = " + missing indicator" if params.get("add_indicator") else ""
        return f"{params['strategy']} imputation{indicator}{gaps}"
    if kind == "passthrough":
        return "numeric, used as is (featurization='off')"
    levels = int(series.nunique(dropna=True))
    if kind == "ordinal":
        return f"category codes the model reads itself: {levels} levels{gaps}"
    if kind == "onehot":
        return f"one-hot encoding: {levels} levels, rare ones pooled{gaps}"
    if kind == "target":
        return f"target encoding: {levels} levels (too many to one-hot){gaps}"
    if kind == "hash":
        return (
            f"feature hashing into {2 ** params['number_of_bits']} columns: {levels} levels{gaps}"
        )
    if kind == "text":
        return f"text: TF-IDF of words and word pairs ({levels} distinct values)"
    return "date/time: calendar parts that vary in the training data"


def code_spec(
    *,
    config: Any,  # AutoMLConfig
    data: Any,  # TrainingData
    plan: Any,  # FeaturizationPlan
    learner: Any,  # Learner
    params: dict[str, Any],
    iteration: int | None = None,
    run_id: str | None = None,
    origin: str = "",
) -> CodeSpec:
    """The spec of one tabular iteration (classification or regression)."""
    from mlflow_automl import __version__

    task = config.task
    estimator = estimator_code(learner, task, params, config, data, plan)
    scaler = learner.make_scaler()
    columns = [
        ColumnStep(
            column=str(spec.raw),
            kind=spec.kind,
            params={k: plain(v) for k, v in spec.params.items()},
            note=_column_note(data.X, spec.raw, spec.kind, spec.params),
            coded_note=_column_note(data.X, spec.raw, "ordinal", {}),
        )
        for spec in plan.specs
    ]
    from mlflow_automl.final_fit import uses_fold_models

    strategy = data.strategy
    return CodeSpec(
        task=task,
        metric=config.metric,
        label=data.label_column,
        weight=data.weight_column,
        classes=None if data.classes is None else [plain(c) for c in data.classes],
        seed=config.random_seed,
        validation=strategy.kind,
        n_folds=strategy.n_folds,
        validation_fraction=strategy.validation_fraction,
        learner=learner.name,
        iteration=iteration,
        run_id=run_id,
        scaler=None if scaler is None else type(scaler).__name__,
        estimator=estimator,
        columns=columns,
        data_source=data.source,
        origin=origin,
        version=__version__,
        notes=[f"{s.raw_feature_name!r} dropped: {s.reason}" for s in plan.summary if s.dropped],
        fold_columns=list(config.cv_split_column_names) if config.cv_split_column_names else None,
        fold_models=uses_fold_models(config, data),
    )


def estimator_code(
    learner: Any, task: str, params: dict[str, Any], config: Any, data: Any, plan: Any = None
) -> EstimatorCode:
    """``learner``'s estimator for ``task`` with ``params``, as ``Learner.make_estimator``
    builds it with the experiment's seed and the threads its trials had on ``data`` (and the
    category codes it reads from ``plan``'s featurizer, if any)."""
    from mlflow_automl.model import categorical_codes

    # The library's class where the package extends one (CatBoost's classifier): the code
    # must run without mlflow-automl.
    cls = next(
        c
        for c in learner.estimator_class(task).__mro__
        if c.__module__.split(".")[0] != "mlflow_automl"
    )
    threads = learner.threads(data.X, config.cores_per_iteration)
    own, transform = split_params(params)
    codes = 0 if plan is None else categorical_codes(plan, learner)
    fixed = {**learner.fixed, **(learner.categorical_arguments(codes) if codes else {})}
    return EstimatorCode(
        module=_public_module(cls),
        name=cls.__name__,
        searched={k: plain(v) for k, v in own.items()},
        fixed={k: plain(v) for k, v in fixed.items()},
        seeding=learner.seeding(task, config.random_seed, threads),
        calibrated=_needs_calibration(learner, task, own),
        target_transform=transform,
        category_codes=codes,
    )


def ensemble_spec(
    *,
    config: Any,
    data: Any,
    plan: Any,
    entry: Any,  # the ensemble's LeaderboardEntry
    leaderboard: Any,
) -> CodeSpec:
    """The spec of a voting or stack ensemble iteration: its members and their combination."""
    from mlflow_automl.ensemble import make_meta_learner
    from mlflow_automl.ensemble.iterations import STACK, train_percentage
    from mlflow_automl.learners import get_learner

    if data.weight_column is not None:
        raise ValueError("no code generation for ensembles with sample weights yet")
    combination = entry.params
    if combination.get("passthrough"):
        raise ValueError("no code generation for a stack whose meta-learner sees the features yet")
    by_iteration = {e.iteration: e for e in leaderboard.entries}
    members = []
    for iteration in combination["members"]:
        member = by_iteration[iteration]
        learner = get_learner(member.learner, config.task)
        scaler = learner.make_scaler()
        members.append(
            Member(
                iteration=iteration,
                learner=member.learner,
                scaler=None if scaler is None else type(scaler).__name__,
                estimator=estimator_code(learner, config.task, member.params, config, data, plan),
            )
        )
    meta = None
    if combination["kind"] == STACK:
        estimator = make_meta_learner(
            config.task,
            combination["meta_learner"],
            config.stack_meta_learner_kwargs,
            config.random_seed,
        )
        cls = type(estimator)
        defaults = cls().get_params()
        meta = EstimatorCode(
            module=_public_module(cls),
            name=cls.__name__,
            searched={},
            fixed={
                k: plain(v)
                for k, v in estimator.get_params().items()
                if not _same(v, defaults.get(k, object()))
            },
            seeding={},
            calibrated=False,
        )
    first = by_iteration[combination["members"][0]]
    base = code_spec(
        config=config,
        data=data,
        plan=plan,
        learner=get_learner(first.learner, config.task),
        params=first.params,
        iteration=entry.iteration,
        run_id=entry.run_id,
        origin="ensemble",
    )
    from dataclasses import replace

    return replace(
        base,
        learner=combination["kind"],
        # A stack's members are refit on all rows (final_fit.py): one model per member.
        fold_models=base.fold_models and meta is None,
        ensemble=Combination(
            kind=combination["kind"],
            members=members,
            weights=combination.get("weights"),
            meta=meta,
            meta_train_share=train_percentage(config, data) if meta is not None else None,
        ),
    )


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # arrays and the like: not a default worth hiding
        return False


def _needs_calibration(learner: Any, task: str, params: dict[str, Any]) -> bool:
    """Whether ``Learner.make_estimator`` wraps this configuration in CalibratedClassifierCV
    (hinge or perceptron losses have no ``predict_proba``)."""
    from sklearn.calibration import CalibratedClassifierCV

    from mlflow_automl.tasks import get_task

    if not get_task(task).predicts_classes:
        return False
    return isinstance(learner.make_estimator(task, params), CalibratedClassifierCV)


def _public_module(cls: type) -> str:
    """``sklearn.linear_model`` for ``sklearn.linear_model._logistic.LogisticRegression``,
    ``lightgbm`` for ``lightgbm.sklearn.LGBMClassifier``."""
    parts = cls.__module__.split(".")
    if parts[0] != "sklearn":
        return parts[0]
    public = [p for p in parts if not p.startswith("_")]
    return ".".join(public[:2])
