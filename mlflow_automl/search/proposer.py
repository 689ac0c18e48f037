"""Which (learner, hyperparameters) to try next.

The order is cheap first, then informed:

1. every learner's **low-cost point**, in the order given (portfolio learners first, each
   group cheapest first), so the first minutes already cover every model family; right after
   the last portfolio learner's low-cost point, the portfolio learners' **default
   configurations** (library defaults of strong learners are strong: at a 10 s budget they
   should not wait behind every weak learner's first try);
   then, with ``learned_portfolio=True``, the **learned portfolio** (``search/portfolio.py``):
   configurations that added most to the defaults over many tables offline, in that order,
   each where its learner is searched and its values lie in the learner's space at this size;
2. the **default configuration** of the other learners whose low-cost point scored in the
   better half;
3. then, repeatedly, a learner among the current top three is chosen, favouring the one that
   has used the least time so far (cost-aware), and its own Optuna TPE study proposes the next
   configuration, having been told every earlier result of that learner. A configuration the
   learner has already run is not run again (TPE is told its known score and asked anew); a
   learner whose small categorical space is used up leaves the rotation. Re-running the same
   ExponentialSmoothing form on 148 series cost a second 24 s trial of a 60 s budget.
   A learner whose last :data:`PLATEAU_TRIALS` trials did not improve its own best by a margin
   that matters (``metrics.improves``) has converged and leaves the rotation too, until every
   learner has: on ISLR's Wage, two linear learners a few milliseconds a trial held the top
   three and ran 355 of 452 trials at the same r2 (to 1e-6), while LightGBM and XGBoost got 3
   trials each and were never tuned.

Where the task offers target transforms (a skewed regression target: ``featurize/target.py``),
``target_transform`` is one more hyperparameter of every learner: low-cost points and defaults
use the identity, and right after the portfolio defaults the same defaults run on the
transformed target, so that validation decides early whether it helps; TPE explores both after.

Time used is measured wall time, or, with ``deterministic=True`` (no time limit), the learner's
declared relative cost per trial, so that a fixed seed and one trial at a time give the same
sequence on every run.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlflow_automl.evaluation.metrics import greater_is_better, improves, is_better
from mlflow_automl.evaluation.trial import TrialSpec
from mlflow_automl.featurize.target import IDENTITY, TARGET_TRANSFORM
from mlflow_automl.search.portfolio import ORIGIN as PORTFOLIO_ORIGIN
from mlflow_automl.search.portfolio import in_space, portfolio_configs
from mlflow_automl.search.space import Categorical

logger = logging.getLogger(__name__)

TOP_LEARNERS = 3
# Proposals drawn before a learner counts as exhausted; asking costs milliseconds.
_MAX_REPEATED_PROPOSALS = 50
# A learner's own trials without a gain that matters before it has converged.
PLATEAU_TRIALS = 10


@dataclass
class _LearnerState:
    learner: Any  # Learner
    study: Any  # optuna.Study
    space: dict[str, Any]
    best_score: float | None = None
    seconds_used: float = 0.0
    n_trials: int = 0
    open_trials: dict[int, Any] = field(default_factory=dict)  # iteration -> optuna trial
    tried: dict[str, float | None] = field(default_factory=dict)  # config key -> score so far
    exhausted: bool = False  # TPE kept proposing configurations already run
    since_gain: int = 0  # its trials since its best last improved by a margin that matters

    def record(self, metric: str, score: float | None) -> None:
        """Counts one finished trial towards the learner's best and its plateau."""
        self.n_trials += 1
        if score is None or not math.isfinite(score):
            self.since_gain += 1
            return
        self.since_gain = 0 if improves(metric, score, self.best_score) else self.since_gain + 1
        if is_better(metric, score, self.best_score):
            self.best_score = score


class Proposer:
    """Proposes trials for a fixed set of learners; told each result afterwards."""

    @classmethod
    def for_config(
        cls, config: Any, learners: Sequence[Any], data: Any, prior: Any = None
    ) -> Proposer:
        """The proposer of an ``AutoMLConfig`` on ``data`` (a ``TrainingData``), told a continued
        experiment's earlier trials (``prior``, a ``resume.Prior``) before its first ask: they
        are never run again, and numbers go on. Without a time budget and with one trial at a
        time the search is deterministic."""
        from mlflow_automl.tasks import get_task

        proposer = cls(
            learners,
            config.task,
            config.metric,
            n_rows=len(data.final_rows),
            n_features=data.X.shape[1],
            seed=config.random_seed,
            deterministic=config.timeout_seconds is None and config.max_concurrent_iterations == 1,
            target_transforms=get_task(config.task).target_transforms(config, data),
            learned_portfolio=portfolio_configs(config.task) if config.learned_portfolio else (),
        )
        for entry in prior.entries if prior else []:
            proposer.observe(entry.spec(), entry.score, entry.duration)
        return proposer

    def __init__(
        self,
        learners: Sequence[Any],
        task: str,
        metric: str,
        n_rows: int,
        n_features: int,
        seed: int = 0,
        deterministic: bool = False,
        target_transforms: Sequence[str] = (),
        learned_portfolio: Sequence[tuple[str, dict[str, Any]]] = (),
    ) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if not learners:
            raise ValueError("no learners to search over")
        self.task, self.metric = task, metric
        self.deterministic = deterministic
        direction = "maximize" if greater_is_better(metric) else "minimize"
        self._states: dict[str, _LearnerState] = {}
        self._queue: list[tuple[str, dict[str, Any], str]] = []
        self._defaults_done: set[str] = set()
        self._transforms = tuple(target_transforms)
        for index, learner in enumerate(learners):
            sampler = optuna.samplers.TPESampler(
                seed=seed + index,
                n_startup_trials=4,
                multivariate=True,
            )
            study = optuna.create_study(direction=direction, sampler=sampler)
            space = learner.search_space(task, n_rows, n_features)
            if self._transforms:
                space = {**space, TARGET_TRANSFORM: Categorical(self._transforms)}
            self._states[learner.name] = _LearnerState(learner, study, space)
            low_cost = self._identity(learner.low_cost_params(task, n_rows, n_features))
            self._queue.append((learner.name, low_cost, "low_cost"))
        portfolio = [learner for learner in learners if task in learner.portfolio]
        if portfolio:
            after = 1 + max(i for i, learner in enumerate(learners) if learner in portfolio)
            defaults = [self._default_entry(learner, n_rows, n_features) for learner in portfolio]
            defaults = [entry for entry in defaults if entry is not None]
            transformed = [
                (name, {**params, TARGET_TRANSFORM: transform}, origin)
                for name, params, origin in defaults
                for transform in self._transforms
                if transform != IDENTITY
            ]
            learned = [
                (name, self._identity(params), PORTFOLIO_ORIGIN)
                for name, params in learned_portfolio
                if name in self._states and in_space(params, self._own_space(name))
            ]
            self._queue[after:after] = defaults + transformed + learned
        self._defaults_queued = False
        self._n_rows, self._n_features = n_rows, n_features
        self._iteration = 0

    # --- proposing --------------------------------------------------------------------------------
    def ask(self) -> TrialSpec:
        if not self._queue and not self._defaults_queued:
            self._queue_defaults()
        # A queued point that an earlier run of the experiment already tried is not run again.
        while (
            self._queue and config_key(self._queue[0][1]) in self._states[self._queue[0][0]].tried
        ):
            self._queue.pop(0)
        if not self._queue and not self._defaults_queued:
            self._queue_defaults()
        if self._queue:
            name, params, origin = self._queue.pop(0)
            state = self._states[name]
            state.study.enqueue_trial(params, skip_if_exists=False)
            trial, params = self._suggest(state)
        else:
            while True:
                name, origin = self._choose_learner(), "tpe"
                state = self._states[name]
                trial, params = self._suggest_new(state)
                if trial is not None:
                    break
        state.tried.setdefault(config_key(params), None)
        spec = TrialSpec(self._iteration, name, params, origin)
        state.open_trials[self._iteration] = trial
        self._iteration += 1
        return spec

    @staticmethod
    def _suggest(state: _LearnerState) -> tuple[Any, dict[str, Any]]:
        trial = state.study.ask()
        return trial, {key: domain.suggest(trial, key) for key, domain in state.space.items()}

    def _suggest_new(self, state: _LearnerState) -> tuple[Any, dict[str, Any]]:
        """A configuration the learner has not run; ``(None, {})`` once none is found (the
        learner is then exhausted), unless every learner is, when a repeat is allowed."""
        import optuna

        others_left = any(_has_new(s) for s in self._states.values() if s is not state)
        if not _has_new(state) and others_left:
            return None, {}
        for _ in range(_MAX_REPEATED_PROPOSALS):
            trial, params = self._suggest(state)
            key = config_key(params)
            if key not in state.tried:
                return trial, params
            score = state.tried[key]
            if score is None:  # still running, or failed: not an observation
                state.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                state.study.tell(trial, score)
        if not others_left:  # nothing new anywhere: repeat rather than stop the search
            return self._suggest(state)
        logger.debug("%s: no new configuration left to try", state.learner.name)
        state.exhausted = True
        return None, {}

    def _queue_defaults(self) -> None:
        """Default configurations for the better half of learners, best first."""
        self._defaults_queued = True
        scored = [s for s in self._states.values() if s.best_score is not None]
        scored.sort(key=lambda s: s.best_score, reverse=greater_is_better(self.metric))
        for state in scored[: max(1, math.ceil(len(scored) / 2))]:
            entry = self._default_entry(state.learner, self._n_rows, self._n_features)
            if entry is not None:
                self._queue.append(entry)

    def _default_entry(
        self, learner: Any, n_rows: int, n_features: int
    ) -> tuple[str, dict[str, Any], str] | None:
        """The learner's default configuration, once, unless it is its low-cost point."""
        if learner.name in self._defaults_done:
            return None
        self._defaults_done.add(learner.name)
        params = learner.default_params(self.task, n_rows, n_features)
        if params == learner.low_cost_params(self.task, n_rows, n_features):
            return None
        return learner.name, self._identity(params), "default"

    def _own_space(self, name: str) -> dict[str, Any]:
        """A learner's own hyperparameters (without the searched target transform)."""
        return {k: v for k, v in self._states[name].space.items() if k != TARGET_TRANSFORM}

    def _identity(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` on the untransformed target, where target transforms are searched."""
        return {**params, TARGET_TRANSFORM: IDENTITY} if self._transforms else params

    def _choose_learner(self) -> str:
        # A learner without hyperparameters (e.g. SeasonalNaive) has nothing left to tune
        # once tried; re-running it would repeat the same score. Converged learners wait
        # until every learner has converged.
        everyone = list(self._states.values())
        improving = [s for s in everyone if _improving(s)]
        states = improving or [s for s in everyone if _has_new(s)] or everyone
        scored = [s for s in states if s.best_score is not None]
        if not scored:  # nothing has worked yet: keep cycling through every learner
            return min(states, key=lambda s: s.n_trials).learner.name
        scored.sort(key=lambda s: s.best_score, reverse=greater_is_better(self.metric))
        top = scored[:TOP_LEARNERS]
        # Least time used first: a cheap learner near the top gets more tries per second.
        return min(top, key=lambda s: (s.seconds_used, s.n_trials)).learner.name

    @property
    def improving(self) -> bool:
        """Whether some learner has something new to try and has not converged."""
        return any(_improving(s) for s in self._states.values())

    # --- learning from results --------------------------------------------------------------------
    def observe(self, spec: TrialSpec, score: float | None, seconds: float) -> None:
        """A trial run before this proposer existed (a continued experiment): it is never
        proposed again (TPE is told its score when it proposes it), it counts for the learner's
        rank, and iterations go on after it."""
        self._iteration = max(self._iteration, spec.iteration + 1)
        state = self._states.get(spec.learner)
        if state is None:  # a learner no longer in the list (blocked, or not installed)
            return
        state.record(self.metric, score)
        state.seconds_used += state.learner.relative_cost if self.deterministic else seconds
        if spec.origin == "default":
            self._defaults_done.add(spec.learner)
        key = config_key(spec.params)
        if score is None or not math.isfinite(score):
            state.tried.setdefault(key, None)
            return
        state.tried[key] = score

    def tell(self, spec: TrialSpec, score: float | None, seconds: float) -> None:
        import optuna

        state = self._states[spec.learner]
        trial = state.open_trials.pop(spec.iteration, None)
        state.record(self.metric, score)
        state.seconds_used += state.learner.relative_cost if self.deterministic else seconds
        if trial is None:
            return
        if score is None or not math.isfinite(score):
            state.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return
        state.tried[config_key(spec.params)] = score
        state.study.tell(trial, score)


def _improving(state: _LearnerState) -> bool:
    """Something new to try, and a gain that matters in its last PLATEAU_TRIALS trials."""
    return _has_new(state) and state.since_gain < PLATEAU_TRIALS


def _has_new(state: _LearnerState) -> bool:
    """Something new to try: its space not used up, and hyperparameters or not yet run."""
    return not state.exhausted and (bool(state.space) or state.n_trials == 0)


def config_key(params: dict[str, Any]) -> str:
    """One text per configuration: what "the same configuration" means across the package."""
    return json.dumps(params, sort_keys=True, default=str)
