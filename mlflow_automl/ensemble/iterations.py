"""Ensemble iterations: the voting and stack ensembles as the last child runs of the search.

VotingEnsemble (last-but-one iteration): Caruana's greedy selection with replacement over the
best iterations' validation predictions (for forecasting bagged over random halves of them,
recent windows weighing more, and kept as the final model unless a single iteration is better
by more than one standard error: :func:`prefer_combination`). StackEnsemble (last
iteration): the voting ensemble's members, their out-of-fold predictions fed to a
meta-learner (with ``stack_passthrough``, next to the featurized original features, and the
meta-learner's output blended with the members' by greedy selection: AutoGluon's second layer
and weighted ensemble on top). Both are scored like any iteration, from predictions alone
(no refit), and win only if they score best; the winner's members are refit on the final
rows when the model is built.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlflow_automl import tracking
from mlflow_automl.data import TrainingData
from mlflow_automl.ensemble import (
    EnsembleTimeout,
    StackEnsemble,
    VotingEnsemble,
    fit_stack,
    gather_members,
    stack_oof_predictions,
    voting_oof_predictions,
)
from mlflow_automl.ensemble.stacking import default_meta_learner
from mlflow_automl.evaluation.metrics import (
    REGRESSION,
    compute_metric,
    loss,
)
from mlflow_automl.leaderboard import Leaderboard, LeaderboardEntry
from mlflow_automl.search.proposer import config_key
from mlflow_automl.tasks import get_task

logger = logging.getLogger("mlflow_automl")

VOTING, STACK = "VotingEnsemble", "StackEnsemble"
ENSEMBLE_LEARNERS = (VOTING, STACK)
# Candidates for selection: the best iterations whose predictions are still in memory.
MAX_CANDIDATES = 10
STACK_FALLBACK = 5


def enabled_ensembles(config: Any) -> list[str]:
    kinds = [VOTING] if config.enable_voting_ensemble else []
    if config.enable_stack_ensemble:
        kinds.append(STACK)
    return kinds


def search_iterations(config: Any) -> int | None:
    """Iterations left for the search when ensembles take the last ones (as in Azure)."""
    if config.iterations is None:
        return None
    remaining = config.iterations - len(enabled_ensembles(config))
    return remaining if remaining >= 2 else config.iterations


@dataclass
class EnsembleIteration:
    """One ensemble scored from its members' kept predictions, to be logged as an iteration."""

    kind: str  # VOTING | STACK
    spec: dict[str, Any]  # kind, members (iterations) and weights or meta-learner
    predictions: np.ndarray  # out-of-fold / validation predictions
    metrics: dict[str, float]
    started: float
    ended: float

    @property
    def params(self) -> dict[str, Any]:
        """The child run's params: the learner and the spec."""
        return {"learner": self.kind, **{k: v for k, v in self.spec.items() if k != "kind"}}


def build_ensembles(
    config: Any,
    data: TrainingData,
    leaderboard: Leaderboard,
    deadline: float | None = None,
    skipped: dict[str, str] | None = None,
    plan: Any = None,
) -> list[EnsembleIteration]:
    """Scores the enabled ensembles; returns one :class:`EnsembleIteration` per ensemble that
    could be built (it needs two scored iterations) in time: past
    ``deadline`` selection stops adding rounds and the stack is not built, or stops between
    the folds of its meta-learner; what was left out and why goes into ``skipped``. A stack
    with ``stack_passthrough`` featurizes the original features with ``plan``."""
    skipped = {} if skipped is None else skipped
    kinds = enabled_ensembles(config)
    if config.iterations is not None and search_iterations(config) == config.iterations:
        return []
    candidates = [e for e in leaderboard.ranked() if e.predictions is not None]
    candidates = [e for e in candidates if e.learner not in ENSEMBLE_LEARNERS]
    candidates = _distinct(candidates)[:MAX_CANDIDATES]
    if len(candidates) < 2 or not kinds:
        return []
    predictions = [e.predictions for e in candidates]
    results = []
    started = time.time()
    select, row_weights = get_task(config.task).ensemble_selection(config, data)
    weights = select(
        *_selection_problem(config, data, predictions),
        config.ensemble_iterations,
        row_weights,
        deadline,
    )
    chosen = [i for i, w in enumerate(weights) if w > 0]
    members = [candidates[i].iteration for i in chosen]
    voting_weights = [float(weights[i]) for i in chosen]
    if VOTING in kinds:
        oof = voting_oof_predictions([predictions[i] for i in chosen], np.array(voting_weights))
        metrics = _score(config, data, oof)
        spec = {"kind": VOTING, "members": members, "weights": voting_weights}
        results.append(EnsembleIteration(VOTING, spec, oof, metrics, started, time.time()))
    if STACK in kinds and deadline is not None and time.time() > deadline:
        skipped[STACK] = "time budget reached before it started"
    elif STACK in kinds:
        started = time.time()
        # The voting ensemble's members; if selection kept a single model, the best few.
        stacked = chosen if len(chosen) >= 2 else list(range(min(STACK_FALLBACK, len(candidates))))
        layer_one = [predictions[i] for i in stacked]
        featurizer = _stack_featurizer(config.stack_passthrough, plan)
        meta_type = config.stack_meta_learner_type or default_meta_learner(
            config.task, featurizer is not None
        )
        try:
            oof = stack_oof_predictions(
                layer_one,
                data.y,
                config.task,
                data.splits,
                meta_type,
                config.stack_meta_learner_kwargs,
                train_percentage(config, data),
                data.sample_weight,
                config.random_seed,
                deadline,
                data.X,
                featurizer,
            )
        except EnsembleTimeout as exc:
            skipped[STACK] = f"time budget: {exc} (stopped after {time.time() - started:.1f} s)"
            return results
        stacked_members = [candidates[i].iteration for i in stacked]
        spec = {"kind": STACK, "members": stacked_members, "meta_learner": meta_type}
        if featurizer is not None:
            # Greedy weighting on top: the second layer blended with the first, by validation.
            blend = select(
                *_selection_problem(config, data, [oof, *layer_one]),
                config.ensemble_iterations,
                row_weights,
                deadline,
            )
            oof = voting_oof_predictions([oof, *layer_one], blend)
            spec |= {"passthrough": True, "blend": [float(w) for w in blend]}
        metrics = _score(config, data, oof)
        results.append(EnsembleIteration(STACK, spec, oof, metrics, started, time.time()))
    return results


def _stack_featurizer(passthrough: bool, plan: Any) -> Any:
    """An unfitted featurizer of the original features for a stack that sees them, or None."""
    if not passthrough:
        return None
    if plan is None:
        raise ValueError("stack_passthrough needs the featurization plan of the experiment")
    return plan.make_transformer()


def fit_ensemble(
    config: Any,
    data: TrainingData,
    leaderboard: Leaderboard,
    spec: dict[str, Any],
    fit_member: Any,
    deadline: float | None,
    member_seconds: Any = None,
    plan: Any = None,
) -> Any:
    """Refits the members of an ensemble iteration and returns the fitted ensemble estimator.

    Members are refit in rank order until ``deadline`` (``ensemble_download_models_timeout_sec``
    also caps it), a member whose expected refit (``member_seconds(entry)``) would pass it
    included; the ensemble proceeds with the members gathered so far. A stack on the features
    (``spec["passthrough"]``) featurizes them with ``plan``.
    """
    by_iteration = {e.iteration: e for e in leaderboard.entries}
    entries = [by_iteration[i] for i in spec["members"]]
    gather_deadline = time.time() + config.ensemble_download_models_timeout_sec
    if deadline is not None:
        gather_deadline = min(gather_deadline, deadline)
    gathered = gather_members(entries, fit_member, gather_deadline, member_seconds)
    members = [(entry.learner, pipeline) for entry, pipeline in gathered]
    kept = [spec["members"].index(entry.iteration) for entry, _ in gathered]
    if spec["kind"] == VOTING:
        weights = [spec["weights"][i] for i in kept]
        return VotingEnsemble.from_fitted(members, weights, config.task, data.n_classes)
    featurizer = _stack_featurizer(spec.get("passthrough", False), plan)
    stack = fit_stack(
        [entry.predictions for entry, _ in gathered],
        data.y,
        config.task,
        spec["meta_learner"],
        config.stack_meta_learner_kwargs,
        train_percentage(config, data),
        data.sample_weight,
        config.random_seed,
        X=data.X,
        featurizer=featurizer,
    )
    blend = None
    if spec.get("blend") is not None:  # the meta-learner's weight, then the gathered members'
        blend = [spec["blend"][0], *(spec["blend"][1 + i] for i in kept)]
    return StackEnsemble.from_fitted(
        members, stack.meta_learner, config.task, data.n_classes, stack.featurizer, blend
    )


def prefer_combination(config: Any, data: TrainingData, leaderboard: Leaderboard) -> bool:
    """Forecasting: the voting ensemble becomes the final model unless the best single
    iteration beats it by more than one standard error over the validation windows (one per
    series and fold): Breiman's one-standard-error rule. The best of many trials on a few
    windows has often won by luck; a combination of several is the safer forecast. Returns
    whether the ensemble was preferred to a better-scoring iteration."""
    best = leaderboard.best
    voting = next((e for e in leaderboard.entries if e.learner == VOTING), None)
    windows = getattr(data, "windows", None)
    if (
        not get_task(config.task).prefers_combination
        or windows is None
        or voting is None
        or voting.predictions is None
        or best is None
        or is_ensemble(best)
        or best.predictions is None
    ):
        return False
    rows = data.n_original + np.arange(len(windows))
    blocks = windows.groupby(["series", "fold"], sort=False).indices.values()
    differences = []  # per window: the ensemble's loss minus the single iteration's
    for block in blocks:
        where = rows[block]
        scale = None if data.metric_scale is None else data.metric_scale[where]
        single, combined = (
            loss(
                config.metric,
                compute_metric(config.task, config.metric, data.y[where], p[where], scale=scale),
            )
            for p in (best.predictions, voting.predictions)
        )
        differences.append(combined - single)
    differences = np.asarray(differences, dtype=float)
    differences = differences[np.isfinite(differences)]
    if len(differences) < 2:
        return False
    standard_error = differences.std(ddof=1) / np.sqrt(len(differences))
    if differences.mean() > standard_error:
        return False
    logger.info(
        "VotingEnsemble kept as the final model: %s (iteration %d) is better by %.4g per "
        "validation window, within one standard error (%.4g)",
        best.learner,
        best.iteration,
        differences.mean(),
        standard_error,
    )
    leaderboard.prefer(voting)
    return True


def _distinct(entries: list[LeaderboardEntry]) -> list[LeaderboardEntry]:
    """The best entry of each (learner, configuration): a repeat only takes a candidate's place."""
    seen, out = set(), []
    for entry in entries:
        key = (entry.learner, config_key(entry.params))
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return out


def _score(config: Any, data: TrainingData, predictions: np.ndarray) -> dict[str, float]:
    """Every metric of the task (forecasting adds each row's MASE denominator)."""
    return get_task(config.task).score_ensemble(data, predictions)


def _selection_problem(
    config: Any, data: TrainingData, predictions: list[np.ndarray]
) -> tuple[list[np.ndarray], np.ndarray, str, str]:
    """(predictions, y, task, metric) for greedy selection. MASE needs each row's scale, which
    selection does not take: the mean absolute error of scaled rows is the same number."""
    scale = getattr(data, "metric_scale", None)
    if config.metric != "mean_absolute_scaled_error" or scale is None:
        return predictions, data.y, config.task, config.metric
    usable = np.isfinite(scale) & (scale > 0)
    factor = np.where(usable, 1.0 / np.where(usable, scale, 1.0), np.nan)
    return (
        [p * factor for p in predictions],
        data.y * np.nan_to_num(factor),
        REGRESSION,
        ("mean_absolute_error"),
    )


def train_percentage(config: Any, data: TrainingData) -> float | None:
    """The meta-learner's share of validation rows, for train/validation strategies only."""
    if data.strategy.kind == "cross_validation":
        return None
    return config.stack_meta_learner_train_percentage


def is_ensemble(entry: LeaderboardEntry) -> bool:
    return entry.learner in ENSEMBLE_LEARNERS


def add_ensemble_iterations(
    config: Any,
    data: TrainingData,
    recorder: Any,  # search.record.IterationRecorder
    deadline: float | None,
    plan: Any = None,
) -> None:
    """The voting and stack ensembles, logged and ranked like any iteration (numbered after
    the search's); past ``deadline`` they are skipped (recorded in the budget)."""
    leaderboard, budget = recorder.leaderboard, recorder.budget
    if deadline is not None and time.time() >= deadline:
        for kind in enabled_ensembles(config):
            budget.skip(kind, "time budget: no time left after the search")
        return
    iteration = 1 + max((e.iteration for e in leaderboard.entries), default=-1)
    for built in build_ensembles(config, data, leaderboard, deadline, budget.skipped, plan):
        recorder.add_ensemble(iteration, built)
        iteration += 1
    runner_up = leaderboard.best
    if prefer_combination(config, data, leaderboard):
        recorder.tracker.set_tags(
            {
                tracking.TAG_FINAL_MODEL_RULE: (
                    f"VotingEnsemble kept: iteration {runner_up.iteration} ({runner_up.learner}) "
                    "scored better by less than one standard error over the validation windows"
                )
            }
        )
