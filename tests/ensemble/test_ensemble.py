"""Tests for mlflow_automl.ensemble on sklearn's bundled datasets, with members built like trials.

Members are the engine's own pipelines (plan_featurization -> build_pipeline with each learner's
default parameters); their out-of-fold predictions come from 5 stratified / plain folds.
"""

from __future__ import annotations

import functools
import pickle
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from mlflow_automl.ensemble import (
    DEFAULT_META_LEARNER,
    META_LEARNERS,
    EnsembleTimeout,
    StackEnsemble,
    VotingEnsemble,
    bagged_greedy_selection,
    complete_rows,
    ensemble_oof_predictions,
    fit_stack,
    gather_members,
    greedy_selection,
    make_meta_learner,
    score_predictions,
    stack_features,
    stack_oof_predictions,
)
from mlflow_automl.ensemble.stacking import meta_inputs
from mlflow_automl.evaluation.metrics import compute_metrics, greater_is_better
from mlflow_automl.featurize import plan_featurization
from mlflow_automl.learners import get_learner
from mlflow_automl.model import build_pipeline, fit_pipeline, predict_scores, wrap_fitted

CLASSIFIER_MEMBERS = ("LogisticRegression", "LightGBM", "KNN", "RandomForest")
REGRESSOR_MEMBERS = ("ElasticNet", "LightGBM", "KNN", "RandomForest")
PRIMARY = {"classification": "AUC_weighted", "regression": "normalized_root_mean_squared_error"}
ROUNDS = 15
CLASSIFICATION_META = ("LogisticRegression", "LogisticRegressionCV", "LightGBMClassifier")
REGRESSION_META = ("ElasticNet", "ElasticNetCV", "LightGBMRegressor", "LinearRegression")


@dataclass
class Bundle:
    """A dataset with its members' out-of-fold predictions, as the leaderboard stores them."""

    task: str
    X: pd.DataFrame
    labels: np.ndarray  # the user's original labels (classification) or targets
    y: np.ndarray  # codes or float targets
    classes: np.ndarray | None
    splits: list[tuple[np.ndarray, np.ndarray]]
    plan: Any
    names: tuple[str, ...]
    oof: list[np.ndarray] = field(default_factory=list)

    @property
    def n_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)

    def pipeline(self, name: str) -> Any:
        learner = get_learner(name, self.task)
        params = learner.default_params(self.task, len(self.X), self.X.shape[1])
        return learner, build_pipeline(self.plan, learner, params, self.task, 0, n_jobs=1)

    def fit(self, name: str, rows: np.ndarray) -> Any:
        learner, pipeline = self.pipeline(name)
        return fit_pipeline(pipeline, learner, self.X.iloc[rows], self.y[rows], None)

    def predictions(self, name: str, splits: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Out-of-fold / validation predictions, NaN on rows no split validates."""
        shape = (len(self.y),) if self.n_classes is None else (len(self.y), self.n_classes)
        out = np.full(shape, np.nan)
        for train, valid in splits:
            out[valid] = predict_scores(self.fit(name, train), self.X.iloc[valid], self.n_classes)
        return out


def _load(name: str) -> tuple[str, pd.DataFrame, np.ndarray]:
    if name == "diabetes":
        bunch = datasets.load_diabetes(as_frame=True)
        return "regression", bunch.data, bunch.target.to_numpy(dtype=float)
    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    # String labels, so wrap_fitted's decoding to the user's labels is really exercised.
    return "classification", bunch.data, np.asarray(bunch.target_names)[bunch.target.to_numpy()]


@functools.cache
def bundle(name: str) -> Bundle:
    task, X, labels = _load(name)
    if task == "classification":
        classes, y = np.unique(labels, return_inverse=True)
        splitter, names = StratifiedKFold(5, shuffle=True, random_state=0), CLASSIFIER_MEMBERS
    else:
        classes, y = None, labels
        splitter, names = KFold(5, shuffle=True, random_state=0), REGRESSOR_MEMBERS
    splits = list(splitter.split(X, y))
    plan = plan_featurization(X, "auto", task)
    data = Bundle(task, X, labels, y, classes, splits, plan, names)
    data.oof = [data.predictions(n, splits) for n in names]
    return data


def _score(data: Bundle, predictions: np.ndarray, metric: str) -> float:
    return score_predictions(data.task, data.y, predictions)[metric]


def _final_members(data: Bundle, names: tuple[str, ...]) -> list[tuple[str, Any]]:
    rows = np.arange(len(data.y))
    return [(name, data.fit(name, rows)) for name in names]


# --------------------------------------------------------------------------------------------
# Greedy selection and the voting ensemble's out-of-fold predictions
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "iris", "diabetes"])
def test_greedy_selection_beats_or_matches_the_best_member(name):
    data = bundle(name)
    metric = PRIMARY[data.task]
    weights = greedy_selection(data.oof, data.y, data.task, metric, rounds=ROUNDS)

    assert weights.shape == (len(data.names),)
    assert weights.sum() == pytest.approx(1.0)
    # Weights are counts over the best round: multiples of 1 / k for some k <= ROUNDS.
    assert any(np.allclose(weights * k, np.round(weights * k)) for k in range(1, ROUNDS + 1))

    ensemble = ensemble_oof_predictions("voting", data.oof, weights=weights)
    by_hand = sum(w * p for w, p in zip(weights, data.oof) if w > 0)
    np.testing.assert_allclose(ensemble, by_hand)
    ensemble_score = _score(data, ensemble, metric)
    assert ensemble_score == pytest.approx(_score(data, by_hand, metric))

    member_scores = [_score(data, p, metric) for p in data.oof]
    best = max(member_scores) if greater_is_better(metric) else min(member_scores)
    # Selection runs on these very predictions, round one is the best member alone and the
    # best round is kept, so the ensemble matches or beats it here.
    sign = 1 if greater_is_better(metric) else -1
    assert sign * (ensemble_score - best) >= -1e-12


def test_greedy_selection_breaks_ties_by_lowest_index_and_is_deterministic():
    data = bundle("breast_cancer")
    duplicated = [*data.oof, data.oof[0], data.oof[1]]  # copies tie with members 0 and 1
    weights = greedy_selection(duplicated, data.y, data.task, "AUC_weighted")
    original = greedy_selection(data.oof, data.y, data.task, "AUC_weighted")
    np.testing.assert_array_equal(weights, [*original, 0, 0])  # the copies never win a tie
    again = greedy_selection(duplicated, data.y, data.task, "AUC_weighted")
    np.testing.assert_array_equal(weights, again)


def test_bagged_selection_spreads_the_weight_and_is_seeded():
    data = bundle("diabetes")
    metric = PRIMARY[data.task]
    plain = greedy_selection(data.oof, data.y, data.task, metric, rounds=ROUNDS)
    bagged = bagged_greedy_selection(data.oof, data.y, data.task, metric, ROUNDS, seed=3)
    assert bagged.shape == plain.shape and bagged.sum() == pytest.approx(1.0)
    assert (bagged >= 0).all()
    # Bags without plain selection's favourite must use other members: weight is spread.
    favourite = int(np.argmax(plain))
    assert bagged[favourite] < plain[favourite]
    assert np.count_nonzero(bagged) > np.count_nonzero(plain)
    again = bagged_greedy_selection(data.oof, data.y, data.task, metric, ROUNDS, seed=3)
    np.testing.assert_array_equal(bagged, again)
    # Past the deadline a single bag is run.
    late = bagged_greedy_selection(
        data.oof, data.y, data.task, metric, ROUNDS, deadline=time.time() - 1, seed=3
    )
    assert late.sum() == pytest.approx(1.0) and np.count_nonzero(late) <= len(data.oof) // 2 + 1


def test_greedy_selection_only_uses_rows_every_member_validated():
    data = bundle("breast_cancer")
    holed = [p.copy() for p in data.oof]
    holed[1][:100] = np.nan  # member 1 never validated the first 100 rows
    weights = greedy_selection(holed, data.y, data.task, "accuracy", rounds=5)
    rows = np.arange(100, len(data.y))
    cropped = greedy_selection([p[rows] for p in data.oof], data.y[rows], data.task, "accuracy", 5)
    np.testing.assert_array_equal(weights, cropped)
    assert np.isnan(ensemble_oof_predictions("voting", holed, weights=weights)[:100]).all()


def test_greedy_selection_honours_sample_weights_and_deadline():
    data = bundle("diabetes")
    weights = np.linspace(0.5, 2.0, len(data.y))
    selected = greedy_selection(data.oof, data.y, data.task, "r2_score", sample_weight=weights)
    assert selected.sum() == pytest.approx(1.0)
    # Past the deadline only the first round runs: all weight on the best single member.
    rushed = greedy_selection(data.oof, data.y, data.task, "r2_score", deadline=time.time() - 1)
    scores = [compute_metrics(data.task, data.y, p)["r2_score"] for p in data.oof]
    np.testing.assert_array_equal(rushed, np.eye(len(data.oof))[int(np.argmax(scores))])


def test_greedy_selection_rejects_bad_input():
    data = bundle("iris")
    with pytest.raises(ValueError, match="rounds"):
        greedy_selection(data.oof, data.y, data.task, "accuracy", rounds=0)
    with pytest.raises(ValueError, match="shape"):
        greedy_selection([data.oof[0], data.oof[0][:, :2]], data.y, data.task, "accuracy")
    with pytest.raises(ValueError, match="kind"):
        ensemble_oof_predictions("bagging", data.oof, weights=[1, 0, 0, 0])


# --------------------------------------------------------------------------------------------
# Meta-learners and stacking
# --------------------------------------------------------------------------------------------


def test_defaults_and_type_checks():
    assert DEFAULT_META_LEARNER == {
        "classification": "LogisticRegressionCV",
        "regression": "ElasticNetCV",
        "forecasting": "ElasticNetCV",
    }
    assert set(CLASSIFICATION_META + REGRESSION_META) == set(META_LEARNERS)
    assert type(make_meta_learner("classification")).__name__ == "LogisticRegressionCV"
    assert type(make_meta_learner("forecasting")).__name__ == "ElasticNetCV"
    with pytest.raises(ValueError, match=r"'ElasticNet'.*classification.*LogisticRegressionCV"):
        make_meta_learner("classification", "ElasticNet")
    with pytest.raises(ValueError, match=r"'LightGBMClassifier'.*regression.*ElasticNetCV"):
        make_meta_learner("regression", "LightGBMClassifier")
    with pytest.raises(ValueError, match="'RandomForest'"):
        make_meta_learner("regression", "RandomForest")


def test_meta_learner_kwargs_are_passed_and_checked():
    meta = make_meta_learner("classification", "LogisticRegression", {"C": 0.25}, random_state=7)
    assert meta.get_params()["C"] == 0.25 and meta.get_params()["random_state"] == 7
    assert make_meta_learner("regression", "LightGBMRegressor", {"num_leaves": 7}).num_leaves == 7
    with pytest.raises(ValueError, match=r"LogisticRegressionCV.*\['Cee'\]"):
        make_meta_learner("classification", "LogisticRegressionCV", {"Cee": 1.0})
    with pytest.raises(ValueError, match=r"\['alpah'\]"):
        make_meta_learner("regression", None, {"alpah": 0.1})


@pytest.mark.parametrize(
    ("name", "meta_type"),
    [("breast_cancer", t) for t in CLASSIFICATION_META]
    + [("wine", t) for t in CLASSIFICATION_META]
    + [("diabetes", t) for t in REGRESSION_META],
)
def test_every_meta_learner_fits_and_predicts(name, meta_type):
    data = bundle(name)
    meta, score_rows, _ = fit_stack(data.oof, data.y, data.task, meta_type)
    assert score_rows is None
    predictions = predict_scores(meta, stack_features(data.oof, data.task), data.n_classes)
    assert np.all(np.isfinite(predictions))

    stacked = stack_oof_predictions(data.oof, data.y, data.task, data.splits, meta_type)
    assert stacked.shape == data.oof[0].shape and np.all(np.isfinite(stacked))
    metrics = score_predictions(data.task, data.y, stacked)
    if data.task == "classification":
        np.testing.assert_allclose(stacked.sum(axis=1), 1.0)
        assert metrics["AUC_weighted"] > 0.95
    else:
        assert metrics["r2_score"] > 0.3


def test_stack_features_drop_only_the_redundant_binary_column():
    binary, multiclass, regression = bundle("breast_cancer"), bundle("wine"), bundle("diabetes")
    assert stack_features(binary.oof, "classification").shape == (len(binary.y), 4)
    assert stack_features(multiclass.oof, "classification").shape == (len(multiclass.y), 12)
    assert stack_features(regression.oof, "regression").shape == (len(regression.y), 4)


def test_stack_oof_predictions_use_the_same_folds():
    data = bundle("iris")
    one = stack_oof_predictions(data.oof, data.y, data.task, data.splits, sample_weight=None)
    two = ensemble_oof_predictions("stack", data.oof, y=data.y, task=data.task, splits=data.splits)
    np.testing.assert_array_equal(one, two)
    # A row's stacked prediction comes from a meta-learner fitted on the other folds only.
    train, valid = data.splits[0]
    meta, _, _ = fit_stack([p[train] for p in data.oof], data.y[train], data.task)
    expected = predict_scores(meta, stack_features([p[valid] for p in data.oof], data.task), 3)
    np.testing.assert_allclose(one[valid], expected, atol=1e-8)


def test_train_percentage_trains_on_part_of_the_validation_rows():
    data = bundle("breast_cancer")
    rows = np.arange(len(data.y))
    train, valid = train_test_split(rows, test_size=0.3, random_state=0, stratify=data.y)
    split = [(np.sort(train), np.sort(valid))]
    oof = [data.predictions(name, split) for name in data.names]
    np.testing.assert_array_equal(complete_rows(oof), np.sort(valid))

    meta, score_rows, _ = fit_stack(oof, data.y, data.task, train_percentage=0.2)
    assert set(score_rows) < set(valid)
    assert len(score_rows) == len(valid) - round(0.2 * len(valid))
    assert hasattr(meta, "coef_")

    stacked = stack_oof_predictions(oof, data.y, data.task, split, train_percentage=0.2)
    np.testing.assert_array_equal(complete_rows([stacked]), score_rows)
    assert score_predictions(data.task, data.y, stacked)["accuracy"] > 0.9
    # One split without a percentage falls back to Azure's default of 0.2.
    default = stack_oof_predictions(oof, data.y, data.task, split)
    np.testing.assert_array_equal(default, stacked)
    # The voting ensemble is scored on every validation row.
    weights = greedy_selection(oof, data.y, data.task, "accuracy")
    voting = ensemble_oof_predictions("voting", oof, weights=weights)
    np.testing.assert_array_equal(complete_rows([voting]), np.sort(valid))
    with pytest.raises(ValueError, match="train_percentage"):
        fit_stack(oof, data.y, data.task, train_percentage=1.5)


def test_fit_stack_stops_at_a_past_deadline():
    data = bundle("wine")
    with pytest.raises(EnsembleTimeout):
        fit_stack(data.oof, data.y, data.task, deadline=time.time() - 1)
    with pytest.raises(EnsembleTimeout):
        stack_oof_predictions(data.oof, data.y, data.task, data.splits, deadline=time.time() - 1)


def test_stack_cross_validation_stops_between_folds_at_its_deadline():
    """The meta-learner's CV is checked fold by fold: a deadline that leaves time for one fold
    stops it after that fold, not after all five (it was checked once, before the CV)."""
    data = bundle("wine")
    started = time.time()
    full = stack_oof_predictions(data.oof, data.y, data.task, data.splits)
    full_seconds = time.time() - started
    assert np.isfinite(full).all()
    started = time.time()
    with pytest.raises(EnsembleTimeout, match="fold"):
        stack_oof_predictions(
            data.oof, data.y, data.task, data.splits, deadline=time.time() + full_seconds / 20
        )
    assert time.time() - started < full_seconds  # stopped early, not after the whole CV


# --------------------------------------------------------------------------------------------
# The ensembles as fitted models
# --------------------------------------------------------------------------------------------


def _ensembles(data: Bundle) -> list[Any]:
    metric = PRIMARY[data.task]
    weights = greedy_selection(data.oof, data.y, data.task, metric)
    used = [i for i, w in enumerate(weights) if w > 0]
    members = _final_members(data, tuple(data.names[i] for i in used))
    voting = VotingEnsemble.from_fitted(members, weights[used], data.task, data.n_classes)
    meta, _, _ = fit_stack([data.oof[i] for i in used], data.y, data.task)
    stack = StackEnsemble.from_fitted(members, meta, data.task, data.n_classes)
    return [voting, stack]


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "diabetes"])
def test_ensembles_predict_pickle_and_serve_inside_wrap_fitted(name):
    data = bundle(name)
    for ensemble in _ensembles(data):
        assert ensemble.weights_.sum() == pytest.approx(1.0)
        assert len(ensemble.members_) == len(ensemble.weights_)
        assert set(ensemble.members_) <= set(data.names)
        restored = pickle.loads(pickle.dumps(ensemble))
        np.testing.assert_array_equal(restored.predict(data.X), ensemble.predict(data.X))

        model = wrap_fitted(ensemble, data.task, data.classes, list(data.X.columns), "E", {})
        raw = data.X.head(40)
        if data.task == "classification":
            proba = ensemble.predict_proba(data.X)
            np.testing.assert_allclose(proba.sum(axis=1), 1.0)
            np.testing.assert_array_equal(ensemble.classes_, np.arange(data.n_classes))
            np.testing.assert_array_equal(restored.predict_proba(data.X), proba)
            labels = model.predict(raw)
            assert set(labels) <= set(data.classes)
            assert (labels == data.labels[:40]).mean() > 0.9
            np.testing.assert_allclose(model.predict_proba(raw), proba[:40])
        else:
            predictions = model.predict(raw)
            assert compute_metrics("regression", data.y[:40], predictions)["r2_score"] > 0.3
            with pytest.raises(AttributeError):
                ensemble.predict_proba(raw)
        reloaded = pickle.loads(pickle.dumps(model))
        np.testing.assert_array_equal(reloaded.predict(raw), model.predict(raw))


def test_voting_ensemble_is_the_weighted_average_of_its_members():
    data = bundle("iris")
    members = _final_members(data, ("LogisticRegression", "KNN"))
    ensemble = VotingEnsemble.from_fitted(members, [3, 1], data.task, data.n_classes)
    np.testing.assert_allclose(ensemble.weights_, [0.75, 0.25])
    scores = [predict_scores(p, data.X, 3) for _, p in members]
    np.testing.assert_allclose(ensemble.predict_proba(data.X), 0.75 * scores[0] + 0.25 * scores[1])
    np.testing.assert_array_equal(
        ensemble.predict(data.X), np.argmax(ensemble.predict_proba(data.X), 1)
    )
    with pytest.raises(ValueError, match="weights"):
        VotingEnsemble.from_fitted(members, [1], data.task, 3)


# --------------------------------------------------------------------------------------------
# Gathering members under a deadline
# --------------------------------------------------------------------------------------------


def test_gather_members_stops_at_the_deadline_with_at_least_one():
    entries = ["best", "second", "third"]
    calls = []

    def fit_member(entry):
        calls.append(entry)
        return entry.upper()

    assert gather_members(entries, fit_member, deadline=time.time() - 1) == [("best", "BEST")]
    assert calls == ["best"]
    everything = gather_members(entries, fit_member, deadline=time.time() + 60)
    assert [member for _, member in everything] == ["BEST", "SECOND", "THIRD"]
    assert len(gather_members(entries, fit_member)) == 3
    # A member whose expected fit would end past the deadline is not started.
    expected = {"best": 1.0, "second": 1.0, "third": 120.0}.get
    gathered = gather_members(entries, fit_member, time.time() + 60, seconds=expected)
    assert [member for _, member in gathered] == ["BEST", "SECOND"]


def test_gather_members_proceeds_with_what_it_has_when_time_runs_out():
    data = bundle("breast_cancer")
    rows = np.arange(len(data.y))

    deadline = time.time() + 2.0

    def fit_member(name):
        if name == data.names[1]:  # the second refit overruns the gathering budget
            time.sleep(max(0.0, deadline - time.time()) + 0.01)
        return data.fit(name, rows)

    gathered = gather_members(data.names, fit_member, deadline=deadline)
    assert [name for name, _ in gathered] == list(data.names[:2])
    ensemble = VotingEnsemble.from_fitted(gathered, [0.6, 0.2], data.task, data.n_classes)
    np.testing.assert_allclose(ensemble.weights_, [0.75, 0.25])
    assert (ensemble.predict(data.X) == data.y).mean() > 0.95


# --------------------------------------------------------------------------------------------
# Forecasting: the voting ensemble is kept unless a single iteration is clearly better
# --------------------------------------------------------------------------------------------


def _forecast_entry(iteration, learner, data, predictions):
    from mlflow_automl.leaderboard import LeaderboardEntry

    rows = np.arange(data.n_original, len(data.y))
    full = np.full(len(data.y), np.nan)
    full[rows] = predictions
    metrics = compute_metrics(
        "forecasting", data.y[rows], predictions, scale=data.metric_scale[rows]
    )
    score = metrics["mean_absolute_scaled_error"]
    return LeaderboardEntry(
        iteration, f"run{iteration}", learner, learner, "completed", score, metrics, {}, 1.0, 1.0,
        "test", full,
    )  # fmt: skip


@pytest.mark.parametrize("voting_error, kept", [(1.01, True), (3.0, False)])
def test_forecasting_keeps_the_voting_ensemble_within_one_standard_error(
    visnights_data, voting_error, kept
):
    from types import SimpleNamespace

    from mlflow_automl.ensemble.iterations import prefer_combination
    from mlflow_automl.leaderboard import Leaderboard

    data, _ = visnights_data
    actual = data.y[data.n_original :]
    noise = (
        np.random.default_rng(0).normal(size=(2, len(actual)))
        * data.metric_scale[data.n_original :]
    )
    single = _forecast_entry(0, "ExponentialSmoothing", data, actual + noise[0])
    # The ensemble's errors are independent of the single model's, their total larger by 1 %
    # (a difference well within the windows' noise) or three times as large.
    scaled = noise[1] * np.abs(noise[0]).sum() / np.abs(noise[1]).sum()
    voting = _forecast_entry(1, "VotingEnsemble", data, actual + voting_error * scaled)
    board = Leaderboard("forecasting", "mean_absolute_scaled_error")
    board.add(single)
    board.add(voting)
    assert board.best is single  # it scores better either way
    config = SimpleNamespace(task="forecasting", metric="mean_absolute_scaled_error")
    assert prefer_combination(config, data, board) is kept
    assert board.best is (voting if kept else single)
    assert board.ranked()[0] is single  # the ranking itself is unchanged
    regression = SimpleNamespace(task="regression", metric="mean_absolute_scaled_error")
    assert prefer_combination(regression, data, Leaderboard("forecasting", config.metric)) is False


def test_forecasting_selection_follows_the_recent_windows(visnights_data):
    """Two forecasters with the same errors up to a factor per fold: A is better over all
    windows, B on the latest ones. Selection weighs recent windows more and takes B."""
    from types import SimpleNamespace

    from mlflow_automl.ensemble.iterations import VOTING, build_ensembles
    from mlflow_automl.leaderboard import Leaderboard

    data, _ = visnights_data
    rows = slice(data.n_original, None)
    actual, scale = data.y[rows], data.metric_scale[rows]
    age = data.windows["fold"].max() - data.windows["fold"].to_numpy()  # 0 = the latest fold
    error_a = np.choose(age, [1.4, 1.0, 0.5])  # scaled error per fold, oldest fold best
    error_b = np.choose(age, [0.5, 1.0, 1.5])
    assert error_a.mean() < error_b.mean()
    a = _forecast_entry(0, "ExponentialSmoothing", data, actual + error_a * scale)
    b = _forecast_entry(1, "LightGBM", data, actual + error_b * scale)
    board = Leaderboard("forecasting", "mean_absolute_scaled_error")
    board.add(a)
    board.add(b)
    assert board.best is a
    config = SimpleNamespace(
        task="forecasting",
        metric="mean_absolute_scaled_error",
        enable_voting_ensemble=True,
        enable_stack_ensemble=False,
        iterations=None,
        ensemble_iterations=15,
        random_seed=0,
    )
    [built] = build_ensembles(config, data, board)
    kind, spec = built.kind, built.spec
    assert kind == VOTING
    assert spec["members"] == [1] and spec["weights"] == [1.0]


# --------------------------------------------------------------------------------------------
# A stack that sees the features (stack_passthrough)
# --------------------------------------------------------------------------------------------


def _with_age_groups(data: Bundle) -> pd.DataFrame:
    """diabetes with its 58 distinct ages as a category: target-encoded by the plan."""
    return data.X.assign(age_group="age " + data.X["age"].round(5).astype(str))


def test_passthrough_stack_fits_its_featurizer_on_each_folds_training_rows_only():
    """A row's stacked prediction comes from a featurizer and meta-learner fitted on the other
    folds: a target encoder fitted on every row would encode the row with its own target."""
    data = bundle("diabetes")
    X = _with_age_groups(data)
    plan = plan_featurization(X, "auto", "regression")
    assert plan.columns_with_transformation("TargetEncoder") == ["age_group"]
    stacked = stack_oof_predictions(
        data.oof, data.y, data.task, data.splits, X=X, featurizer=plan.make_transformer()
    )
    assert np.isfinite(stacked).all()
    train, valid = data.splits[0]
    own = plan.make_transformer()
    train_inputs = meta_inputs(
        [p[train] for p in data.oof], data.task, own.fit_transform(X.iloc[train], data.y[train])
    )
    meta = make_meta_learner(data.task, "LightGBMRegressor").fit(train_inputs, data.y[train])
    valid_inputs = meta_inputs(
        [p[valid] for p in data.oof], data.task, own.transform(X.iloc[valid])
    )
    np.testing.assert_allclose(stacked[valid], meta.predict(valid_inputs))
    leaky = plan.make_transformer().fit(X, data.y)  # what the fold must not use
    assert not np.allclose(leaky.transform(X.iloc[valid]), own.transform(X.iloc[valid]))


def test_passthrough_stack_finds_the_signal_its_members_were_not_given():
    """Members blind to bmi and s5 (the strongest features): the meta-learner that also sees
    the features recovers much of what they missed; one on the predictions alone cannot."""
    data = bundle("diabetes")
    blind_X = data.X.drop(columns=["bmi", "s5"])
    blind = Bundle(
        data.task,
        blind_X,
        data.labels,
        data.y,
        None,
        data.splits,
        plan_featurization(blind_X, "auto", data.task),
        ("ElasticNet", "KNN"),
    )
    oof = [blind.predictions(name, data.splits) for name in blind.names]
    plain = stack_oof_predictions(oof, data.y, data.task, data.splits)
    seeing = stack_oof_predictions(
        oof, data.y, data.task, data.splits, X=data.X, featurizer=data.plan.make_transformer()
    )
    plain_r2, seeing_r2 = (_score(data, p, "r2_score") for p in (plain, seeing))
    assert seeing_r2 > plain_r2 + 0.05, (plain_r2, seeing_r2)  # 0.34 -> 0.43


def test_passthrough_stack_defaults_to_lightgbm_and_checks_its_featurizer_rows():
    data = bundle("breast_cancer")
    fitted = fit_stack(
        data.oof, data.y, data.task, X=data.X, featurizer=data.plan.make_transformer()
    )
    assert type(fitted.meta_learner).__name__ == "LGBMClassifier"
    assert fitted.meta_learner.n_features_in_ == data.X.shape[1] + len(data.oof)
    assert fitted.featurizer.n_features_in_ == data.X.shape[1]
    assert fit_stack(data.oof, data.y, data.task).featurizer is None
