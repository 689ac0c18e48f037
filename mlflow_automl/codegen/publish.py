"""Writing the generated code into MLflow: ``code/`` of the best and the charted child runs
(the best's also on the AutoML run), inside the time budget, and reading it back.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from mlflow_automl import tracking
from mlflow_automl.codegen.render import render
from mlflow_automl.codegen.spec import code_spec
from mlflow_automl.tasks import get_task

logger = logging.getLogger(__name__)

CODE_DIR = "code"
# Measured (benchmarks/CODEGEN.md): one run's three files take 20-30 ms to render and upload
# on a busy machine; the first experiment of a process also imports nbformat (0.1-1 s).
# The templates are laid out as ``ruff format`` lays them out (a test checks it), so no
# formatter runs here: a ruff call cost 0.2-0.3 s per experiment.
SECONDS_PER_CODE_SET = 0.05
_FIRST_SET_SECONDS = 0.5


def runs_to_code(leaderboard: Any, model: Any, n_charted: int) -> list[Any]:
    """The best model's iteration, then the other charted iterations (best first)."""
    ranked = [e for e in leaderboard.ranked() if e.predictions is not None][: max(1, n_charted)]
    best = [
        e
        for e in leaderboard.entries
        if e.learner == model.learner_name and e.params == model.params and e.run_id
    ]
    first = best[:1] or ranked[:1]
    return first + [e for e in ranked if e not in first]


def log_code(
    config: Any,  # AutoMLConfig
    data: Any,  # TrainingData
    plan: Any,  # FeaturizationPlan
    leaderboard: Any,  # Leaderboard: an ensemble's members are looked up there
    entries: list[Any],  # LeaderboardEntry: the best model's first, then the charted runs
    parent_run_id: str,
    budget: Any,  # Budget
) -> int:
    """Generates and logs ``code/`` for ``entries`` (the first also on ``parent_run_id``).

    Only what fits in the time budget is generated; what is left out is in
    ``budget.skipped["code"]``. Optional work: a failure is a warning and a skip, not an error.
    Returns how many runs got code.
    """
    try:
        return _log_code(config, data, plan, leaderboard, entries, parent_run_id, budget)
    except Exception as exc:  # optional work: the model is already logged
        logger.warning("generated code not logged: %s: %s", type(exc).__name__, exc)
        budget.skip("code", f"failed: {type(exc).__name__}: {exc}"[:500])
        return 0


def spec_for(config, data, plan, leaderboard, entry) -> Any:
    from mlflow_automl.codegen.spec import ensemble_spec
    from mlflow_automl.ensemble.iterations import is_ensemble
    from mlflow_automl.learners import get_learner

    if get_task(config.task).code_kind == "forecasters":
        return _forecast_spec(config, data, plan, leaderboard, entry)
    if is_ensemble(entry):
        return ensemble_spec(
            config=config, data=data, plan=plan, entry=entry, leaderboard=leaderboard
        )
    return code_spec(
        config=config,
        data=data,
        plan=plan,
        learner=get_learner(entry.learner, config.task),
        params=entry.params,
        iteration=entry.iteration,
        run_id=entry.run_id,
        origin=entry.origin,
    )


def _forecast_spec(config, data, plan, leaderboard, entry) -> Any:
    from mlflow_automl.codegen.forecasting import forecast_spec
    from mlflow_automl.ensemble.iterations import VOTING, is_ensemble

    common = dict(config=config, data=data, plan=plan, learner=entry.learner)
    common.update(iteration=entry.iteration, run_id=entry.run_id, origin=entry.origin)
    if not is_ensemble(entry):
        return forecast_spec(params=entry.params, **common)
    combination = entry.params
    if combination["kind"] != VOTING:
        raise ValueError(f"no code generation for a forecasting {combination['kind']} yet")
    by_iteration = {e.iteration: e for e in leaderboard.entries}
    members = [(i, by_iteration[i].learner, by_iteration[i].params) for i in combination["members"]]
    return forecast_spec(params={}, members=members, weights=combination["weights"], **common)


def _log_code(config, data, plan, leaderboard, entries, parent_run_id, budget) -> int:
    started = time.perf_counter()
    todo = list(entries)
    if not budget.fits(SECONDS_PER_CODE_SET * len(todo) + _FIRST_SET_SECONDS):
        todo = todo[:1]  # the best alone, if even that fits
        if not budget.fits(SECONDS_PER_CODE_SET + _FIRST_SET_SECONDS):
            budget.skip("code", f"time budget: {budget.seconds_left() or 0.0:.1f} s left")
            return 0
        budget.skip("code", "time budget: code for the best run only")
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        for entry in todo:
            try:
                spec = spec_for(config, data, plan, leaderboard, entry)
            except ValueError as exc:  # a case not generated yet (said in the error)
                budget.skip("code", f"iteration {entry.iteration}: {exc}")
                continue
            folder = Path(tmp) / str(entry.iteration)
            folder.mkdir()
            for name, text in render(spec).items():
                (folder / name).write_text(text)
            folders.append((entry, folder))
        for entry, folder in folders:
            tracking.upload_dir(entry.run_id, folder, CODE_DIR)
            if entry is entries[0]:  # the best model's own iteration, not a stand-in
                tracking.upload_dir(parent_run_id, folder, CODE_DIR)
    if folders:
        seconds = (time.perf_counter() - started) / len(folders)
        tracking.set_run_tags(parent_run_id, {tracking.TAG_CODE_SECONDS: round(seconds, 4)})
    return len(folders)


def download_code(run_id: str, path: str | Path = ".") -> str:
    """Downloads ``code/`` of ``run_id`` into ``path``; returns the local folder.
    ``ValueError`` when the run has no generated code."""
    from mlflow_automl.tracking.history import download_run

    return download_run(run_id, path, CODE_DIR)
