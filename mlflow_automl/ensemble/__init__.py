"""Ensembles of finished iterations: voting (greedy selection) and stacking.

Pure building blocks; the orchestrator wires them together in this order:

1. :func:`greedy_selection` picks voting weights from the members' stored out-of-fold /
   validation predictions (Caruana et al. 2004, selection with replacement);
   :func:`bagged_greedy_selection` averages it over random subsets of the members (forecasting).
2. :func:`gather_members` refits (or loads) the members with a non-zero weight, best first, until
   ``ensemble_download_models_timeout_sec`` runs out; it always gathers at least one.
3. :class:`VotingEnsemble` averages the gathered members (weights renormalised over them);
   :func:`fit_stack` trains a meta-learner on the gathered members' stored predictions and
   :class:`StackEnsemble` puts base members and meta-learner together.
4. :func:`ensemble_oof_predictions` gives each ensemble its own out-of-fold / validation
   predictions, so it is scored and logged the same way as any iteration.

Where they live: ``selection`` (greedy selection, weights, shared helpers, gathering),
``stacking`` (meta-learners, stacking features, cross-validated stack predictions) and
``estimators`` (the ``VotingEnsemble`` / ``StackEnsemble`` model classes).
"""

from mlflow_automl.ensemble.estimators import StackEnsemble, VotingEnsemble
from mlflow_automl.ensemble.selection import (
    DEFAULT_ROUNDS,
    STACK,
    VOTING,
    EnsembleTimeout,
    bagged_greedy_selection,
    complete_rows,
    gather_members,
    greedy_selection,
    score_predictions,
    voting_oof_predictions,
)
from mlflow_automl.ensemble.stacking import (
    DEFAULT_META_LEARNER,
    DEFAULT_TRAIN_PERCENTAGE,
    META_LEARNERS,
    StackFit,
    ensemble_oof_predictions,
    fit_stack,
    make_meta_learner,
    stack_features,
    stack_oof_predictions,
)

__all__ = [
    "DEFAULT_META_LEARNER",
    "DEFAULT_ROUNDS",
    "DEFAULT_TRAIN_PERCENTAGE",
    "META_LEARNERS",
    "STACK",
    "VOTING",
    "EnsembleTimeout",
    "StackEnsemble",
    "StackFit",
    "VotingEnsemble",
    "bagged_greedy_selection",
    "complete_rows",
    "ensemble_oof_predictions",
    "fit_stack",
    "gather_members",
    "greedy_selection",
    "make_meta_learner",
    "score_predictions",
    "stack_features",
    "stack_oof_predictions",
    "voting_oof_predictions",
]
