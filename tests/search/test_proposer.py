"""Proposer: cheap configurations first (portfolio defaults early), then TPE; deterministic."""

from __future__ import annotations

from mlflow_automl.learners import learners_for
from mlflow_automl.search import Proposer
from mlflow_automl.search.proposer import config_key


def _run(seed, scores):
    learners = learners_for("classification", allowed=["LightGBM", "RandomForest", "KNN"])
    proposer = Proposer(learners, "classification", "accuracy", 500, 8, seed=seed)
    specs = []
    for index in range(12):
        spec = proposer.ask()
        specs.append(spec)
        proposer.tell(spec, scores(spec, index), seconds=0.1 * (index + 1))
    return learners, specs


def test_low_cost_points_in_order_portfolio_defaults_early_then_tpe():
    learners, specs = _run(0, lambda spec, i: {"LightGBM": 0.9, "KNN": 0.8}.get(spec.learner, 0.7))
    assert [learner.name for learner in learners] == ["LightGBM", "RandomForest", "KNN"]
    # Portfolio low-cost points, then their defaults, then the other learners' low-cost points.
    assert [(s.learner, s.origin) for s in specs[:5]] == [
        ("LightGBM", "low_cost"),
        ("RandomForest", "low_cost"),
        ("LightGBM", "default"),
        ("RandomForest", "default"),
        ("KNN", "low_cost"),
    ]
    low_cost = [s for s in specs if s.origin == "low_cost"]
    for spec, learner in zip(low_cost, learners, strict=True):
        expected = learner.low_cost_params("classification", 500, 8)
        assert {k: spec.params[k] for k in expected if k in spec.params} == {
            k: v for k, v in expected.items() if k in spec.params
        }
    defaults = [s for s in specs if s.origin == "default"]
    assert len(defaults) == len({s.learner for s in defaults})  # each default once
    assert specs[-1].origin == "tpe"
    assert [s.iteration for s in specs] == list(range(12))


def test_same_seed_same_sequence_and_failures_are_tolerated():
    def scores(spec, i):
        return None if i % 4 == 3 else 0.5 + 0.01 * i

    _, a = _run(7, scores)
    _, b = _run(7, scores)
    assert [(s.learner, s.params) for s in a] == [(s.learner, s.params) for s in b]


def test_proposals_stay_in_the_search_space():
    learners, specs = _run(1, lambda spec, i: 0.6)
    spaces = {x.name: x.search_space("classification", 500, 8) for x in learners}
    for spec in specs:
        for key, value in spec.params.items():
            assert spaces[spec.learner][key].contains(value), (spec.learner, key, value)


def test_a_configuration_is_not_run_twice_and_a_used_up_space_leaves_the_rotation():
    """ExponentialSmoothing has 12 forms; after them it stops being proposed while another
    learner has something new, and only once every learner is used up may a form repeat."""
    learners = learners_for("forecasting", allowed=["ExponentialSmoothing", "LightGBM"])
    proposer = Proposer(learners, "forecasting", "mean_absolute_scaled_error", 500, 2, seed=0)
    seen = {"ExponentialSmoothing": [], "LightGBM": []}
    for _ in range(40):
        spec = proposer.ask()
        seen[spec.learner].append(tuple(sorted(spec.params.items())))
        # ETS scores best, so it stays in the top learners as long as it has forms left.
        proposer.tell(spec, 0.5 if spec.learner == "ExponentialSmoothing" else 0.9, 0.1)
    forms = seen["ExponentialSmoothing"]
    assert len(forms) == len(set(forms)) == 12
    assert len(seen["LightGBM"]) == 40 - 12

    ets = [learner for learner in learners if learner.name == "ExponentialSmoothing"]
    alone = Proposer(ets, "forecasting", "mean_absolute_scaled_error", 500, 2, seed=0)
    for _ in range(14):  # nothing else to try: repeats rather than stopping the search
        spec = alone.ask()
        alone.tell(spec, 0.5, 0.1)
    assert spec.learner == "ExponentialSmoothing"


def _proposer() -> Proposer:
    learners = learners_for("classification", allowed=["LightGBM", "RandomForest", "KNN"])
    return Proposer(learners, "classification", "accuracy", 500, 8, seed=0)


def test_observed_trials_of_an_earlier_run_are_not_proposed_again():
    first = _proposer()
    earlier = [first.ask() for _ in range(6)]
    for spec in earlier:
        first.tell(spec, 0.8, 0.1)
    continued = _proposer()
    for spec in earlier:
        continued.observe(spec, 0.8, 0.1)
    later = [continued.ask() for _ in range(12)]
    assert [s.iteration for s in later] == list(range(6, 18))  # numbers go on
    seen = {(s.learner, config_key(s.params)) for s in earlier}
    assert not seen & {(s.learner, config_key(s.params)) for s in later}


def test_a_skewed_target_tries_the_portfolio_defaults_on_log1p_right_after_them():
    """Target transforms are one more hyperparameter: cheap points and defaults on the raw
    target first, then the same defaults on log1p(y), so validation decides early; TPE then
    proposes both."""
    learners = learners_for("regression", allowed=["LightGBM", "RandomForest", "KNN"])
    transforms = ("identity", "log1p")
    proposer = Proposer(learners, "regression", "r2_score", 500, 8, target_transforms=transforms)
    specs = []
    for _ in range(30):
        spec = proposer.ask()
        specs.append(spec)
        proposer.tell(spec, 0.5 + 0.01 * (spec.params["target_transform"] == "log1p"), 0.1)
    assert [(s.learner, s.origin, s.params["target_transform"]) for s in specs[:6]] == [
        ("LightGBM", "low_cost", "identity"),
        ("RandomForest", "low_cost", "identity"),
        ("LightGBM", "default", "identity"),
        ("RandomForest", "default", "identity"),
        ("LightGBM", "default", "log1p"),
        ("RandomForest", "default", "log1p"),
    ]
    # The same defaults apart from the transform: one configuration on two targets.
    assert {**specs[2].params, "target_transform": "log1p"} == specs[4].params
    assert {s.params["target_transform"] for s in specs if s.origin == "tpe"} == set(transforms)
    assert len({(s.learner, config_key(s.params)) for s in specs}) == len(specs)


def test_without_transforms_params_have_no_target_transform():
    learners = learners_for("regression", allowed=["LightGBM", "KNN"])
    proposer = Proposer(learners, "regression", "r2_score", 500, 8)
    specs = [proposer.ask() for _ in range(4)]
    assert all("target_transform" not in s.params for s in specs)


def test_a_learner_that_stopped_improving_makes_way_for_one_that_still_does():
    """Three learners flat at the top (cheap linear models on a noisy target) would otherwise
    take every trial; once each has had PLATEAU_TRIALS trials without a gain that matters, the
    fourth, still improving, is tuned. When it too has converged, everyone may run again."""
    from mlflow_automl.search.proposer import PLATEAU_TRIALS

    names = ["LightGBM", "RandomForest", "KNN", "LogisticRegression"]
    learners = learners_for("classification", allowed=names)
    proposer = Proposer(learners, "classification", "accuracy", 500, 8, seed=0)
    flat = {"RandomForest": 0.9, "KNN": 0.89, "LogisticRegression": 0.88}
    specs = []
    for _ in range(80):
        spec = proposer.ask()
        n_lightgbm = sum(s.learner == "LightGBM" for s in specs)
        specs.append(spec)
        # LightGBM gains 0.01 a trial up to 0.86, then stays there: still behind the others.
        score = flat.get(spec.learner, min(0.86, 0.7 + 0.01 * n_lightgbm))
        proposer.tell(spec, score + 1e-7 * len(specs), 0.01)  # gains too small to matter
    tuned = [s for s in specs if s.origin == "tpe"]
    by_learner = {name: [s for s in tuned if s.learner == name] for name in names}
    assert len(by_learner["LightGBM"]) >= 20
    for name in flat:  # up to the plateau (minus its queued trials), then again at the end
        first_lightgbm = tuned.index(by_learner["LightGBM"][0])
        assert sum(s.learner == name for s in tuned[:first_lightgbm]) <= PLATEAU_TRIALS
    assert {s.learner for s in tuned[-10:]} & set(flat)  # all converged: the top three again


def test_the_proposer_says_when_no_learner_still_gains():
    learners = learners_for("classification", allowed=["KNN", "DecisionTree"])
    proposer = Proposer(learners, "classification", "accuracy", 500, 8, seed=0)
    assert proposer.improving
    for _ in range(40):
        spec = proposer.ask()
        proposer.tell(spec, 0.7, 0.01)
    assert not proposer.improving  # both flat for 10 trials and more


def _point(space, **overrides):
    """A point of ``space``: each domain's lowest value or first choice, then ``overrides``."""
    point = {
        k: getattr(d, "low", None) if hasattr(d, "low") else d.choices[0] for k, d in space.items()
    }
    return {**point, **overrides}


def test_the_learned_portfolio_runs_right_after_the_defaults_where_it_fits():
    """Its configurations follow the portfolio defaults, in their order; one outside the
    learner's space at this size, or of a learner not searched, is left out."""
    learners = learners_for("classification", allowed=["LightGBM", "RandomForest", "KNN"])
    space = learners[0].search_space("classification", 500, 8)
    inside = _point(space, learning_rate=0.05)
    outside = _point(space, num_leaves=10**6)  # more leaves than 500 rows allow
    portfolio = [
        ("XGBoostClassifier", {"max_depth": 3}),
        ("LightGBM", outside),
        ("LightGBM", inside),
    ]
    proposer = Proposer(learners, "classification", "accuracy", 500, 8, learned_portfolio=portfolio)
    specs = []
    for _ in range(7):
        specs.append(proposer.ask())
        proposer.tell(specs[-1], 0.8, 0.1)
    assert [(s.learner, s.origin) for s in specs[:6]] == [
        ("LightGBM", "low_cost"),
        ("RandomForest", "low_cost"),
        ("LightGBM", "default"),
        ("RandomForest", "default"),
        ("LightGBM", "portfolio"),
        ("KNN", "low_cost"),
    ]
    assert specs[4].params == inside


def test_the_shipped_portfolio_holds_points_of_real_learners_spaces():
    """portfolio.json names learners of its task, each configuration inside the learner's
    space at a mid-sized table; it was built on tables outside the benchmark suite and adds to
    the defaults on tables it did not see (leave-one-table-out)."""
    from mlflow_automl.learners import get_learner
    from mlflow_automl.search.portfolio import _portfolio, in_space, portfolio_configs

    for task in ("classification", "regression"):
        configs = portfolio_configs(task)
        assert configs, task
        for name, params in configs:
            assert in_space(params, get_learner(name, task).search_space(task, 1000, 16))
        figures = _portfolio()["provenance"][task]["mean_normalised"]
        assert figures["defaults_and_portfolio"] > figures["defaults"]
    assert portfolio_configs("forecasting") == []


def test_learned_portfolio_false_leaves_it_out(penguins):
    from mlflow_automl import AutoMLConfig
    from mlflow_automl.tasks import prepare_training_data

    origins = {}
    for setting in (True, False):
        config = AutoMLConfig(
            task="classification",
            training_data=penguins,
            label_column_name="species",
            learned_portfolio=setting,
        )
        data = prepare_training_data(config)
        proposer = Proposer.for_config(config, learners_for("classification"), data)
        origins[setting] = {proposer.ask().origin for _ in range(40)}
    assert "portfolio" in origins[True] and "portfolio" not in origins[False]
