"""`VotingEnsemble` / `StackEnsemble` follow scikit-learn's estimator contract."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import cross_val_predict
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from mlflow_automl.ensemble import StackEnsemble, VotingEnsemble, make_meta_learner
from mlflow_automl.ensemble.stacking import meta_inputs, stack_features


def _classifiers():
    return [
        ("lr", LogisticRegression(max_iter=500)),
        ("tree", DecisionTreeClassifier(random_state=0)),
    ]


def _regressors():
    return [("ridge", Ridge()), ("tree", DecisionTreeRegressor(random_state=0))]


ENSEMBLES = [
    VotingEnsemble(_classifiers(), [2, 1], "classification"),
    VotingEnsemble(_regressors(), None, "regression"),
    StackEnsemble(_classifiers(), LogisticRegression(), "classification", cv=3),
    StackEnsemble(_regressors(), LinearRegression(), "regression", cv=3),
    # Passthrough (a featurizer of the input) and a blend of the meta-learner with the members.
    StackEnsemble(
        _classifiers(), LogisticRegression(), "classification", 3, StandardScaler(), [2, 1, 1]
    ),
    StackEnsemble(_regressors(), LinearRegression(), "regression", 3, StandardScaler(), [1, 1, 0]),
]


# Every check applies and passes: none is listed as an expected failure.
@parametrize_with_checks(ENSEMBLES)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y.to_numpy()


def _fitted(members, X, y):
    return [(name, clone(estimator).fit(X, y)) for name, estimator in members]


def test_voting_fit_equals_from_fitted_members(iris):
    X, y = iris
    fitted = VotingEnsemble(_classifiers(), [3, 1], "classification").fit(X, y)
    wrapped = VotingEnsemble.from_fitted(_fitted(_classifiers(), X, y), [3, 1], "classification", 3)

    np.testing.assert_allclose(fitted.weights_, [0.75, 0.25])
    np.testing.assert_allclose(fitted.predict_proba(X), wrapped.predict_proba(X))
    assert fitted.members_ == wrapped.members_ == ["lr", "tree"]


def test_stack_fit_trains_the_meta_learner_on_out_of_fold_predictions(iris):
    X, y = iris
    stack = StackEnsemble(_classifiers(), None, "classification", cv=5).fit(X, y)
    oof = [
        cross_val_predict(clone(e), X, y, cv=5, method="predict_proba") for _, e in _classifiers()
    ]
    meta = make_meta_learner("classification").fit(stack_features(oof, "classification"), y)
    np.testing.assert_allclose(stack.meta_learner_.coef_, meta.coef_)
    assert stack.meta_learner is None  # the parameter stays as given


@pytest.mark.parametrize("kind", ["voting", "stack"])
def test_clone_of_from_fitted_is_unfitted(iris, kind):
    X, y = iris
    members = _fitted(_classifiers(), X, y)
    if kind == "voting":
        ensemble = VotingEnsemble.from_fitted(members, [1, 1], "classification", 3)
    else:
        meta = make_meta_learner("classification").fit(
            stack_features([m.predict_proba(X) for _, m in members], "classification"), y
        )
        ensemble = StackEnsemble.from_fitted(members, meta, "classification", 3)
    copy = clone(ensemble)

    with pytest.raises(NotFittedError):
        copy.predict(X)
    for _, estimator in copy.estimators:
        with pytest.raises(NotFittedError):
            check_is_fitted(estimator)
    np.testing.assert_array_equal(copy.fit(X, y).classes_, ensemble.classes_)


def test_set_params_reaches_a_member(iris):
    X, y = iris
    ensemble = VotingEnsemble(_classifiers(), None, "classification")
    ensemble.set_params(estimators=[("tree", DecisionTreeClassifier(max_depth=1))]).fit(X, y)
    assert ensemble.members[0][1].get_depth() == 1


def test_labels_are_predicted_as_given(iris):
    X, y = iris
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    for ensemble in (VotingEnsemble(_classifiers()), StackEnsemble(_classifiers(), cv=3)):
        predicted = ensemble.fit(X, labels).predict(X)
        assert set(predicted) <= set(labels)
        assert (predicted == labels).mean() > 0.9


def test_unknown_task_and_bad_weights_are_refused(iris):
    X, y = iris
    with pytest.raises(ValueError, match="Unknown task 'ranking'"):
        VotingEnsemble(_classifiers(), None, "ranking").fit(X, y)
    with pytest.raises(ValueError, match="1 weights for 2 members"):
        VotingEnsemble(_classifiers(), [1], "classification").fit(X, y)


def test_ensembles_pickled_in_the_old_layout_load_and_predict_the_same(iris):
    """Before the estimator contract, fitted members / meta-learner were parameters."""
    X, y = iris
    Xr, yr = load_diabetes(return_X_y=True, as_frame=True)
    members = _fitted(_classifiers(), X, y)
    meta = make_meta_learner("classification").fit(
        stack_features([m.predict_proba(X) for _, m in members], "classification"), y
    )
    regressors = _fitted(_regressors(), Xr, yr)
    cases = [
        (
            VotingEnsemble,
            {"members": members, "weights": [3, 1], "task": "classification", "n_classes": 3},
            VotingEnsemble.from_fitted(members, [3, 1], "classification", 3),
            X,
        ),
        (
            StackEnsemble,
            {"members": members, "meta_learner": meta, "task": "classification", "n_classes": 3},
            StackEnsemble.from_fitted(members, meta, "classification", 3),
            X,
        ),
        (
            VotingEnsemble,
            {"members": regressors, "weights": [1, 1], "task": "regression", "n_classes": None},
            VotingEnsemble.from_fitted(regressors, [1, 1], "regression"),
            Xr,
        ),
    ]
    for cls, state, expected, rows in cases:
        old = cls.__new__(cls)
        old.__dict__.update(state)
        loaded = pickle.loads(pickle.dumps(old))
        np.testing.assert_allclose(loaded.predict(rows), expected.predict(rows))
        assert loaded.members_ == expected.members_
        with pytest.raises(NotFittedError):
            clone(loaded).predict(rows)


def test_passthrough_stack_sees_the_features_and_blends_with_its_members(iris):
    """fit: the meta-learner on [featurized X, out-of-fold predictions]; predict: the blend
    of its output with the members' by the given weights, normalised."""
    X, y = iris
    stack = StackEnsemble(
        _classifiers(), None, "classification", 5, StandardScaler(), [2, 1, 1]
    ).fit(X, y)
    assert type(stack.meta_learner_).__name__ == "LGBMClassifier"  # the passthrough default
    assert stack.meta_learner_.n_features_in_ == X.shape[1] + 2 * 3  # features + probabilities
    np.testing.assert_allclose(stack.blend_, [0.5, 0.25, 0.25])
    np.testing.assert_allclose(stack.featurizer_.mean_, X.mean(axis=0))

    scores = [member.predict_proba(X) for _, member in stack.members]
    inputs = meta_inputs(scores, "classification", stack.featurizer_.transform(X))
    meta = stack.meta_learner_.predict_proba(inputs)
    expected = 0.5 * meta + 0.25 * scores[0] + 0.25 * scores[1]
    np.testing.assert_allclose(stack.predict_proba(X), expected)

    again = StackEnsemble.from_fitted(
        stack.members, stack.meta_learner_, "classification", 3, stack.featurizer_, [2, 1, 1]
    )
    np.testing.assert_allclose(again.predict_proba(X), stack.predict_proba(X))
    copy = clone(again)
    assert isinstance(copy.featurizer, StandardScaler) and copy.blend == [2, 1, 1]
    with pytest.raises(NotFittedError):
        check_is_fitted(copy.featurizer)
    loaded = pickle.loads(pickle.dumps(stack))
    np.testing.assert_allclose(loaded.predict_proba(X), stack.predict_proba(X))


def test_a_stack_pickled_before_passthrough_predicts_from_its_meta_learner_alone(iris):
    X, y = iris
    stack = StackEnsemble(_classifiers(), None, "classification", cv=3).fit(X, y)
    expected = stack.predict_proba(X)
    for name in ("featurizer", "featurizer_", "blend", "blend_"):
        del stack.__dict__[name]  # the attributes an older release did not have
    loaded = pickle.loads(pickle.dumps(stack))
    assert loaded.featurizer_ is None and loaded.blend_ is None
    np.testing.assert_allclose(loaded.predict_proba(X), expected)
