"""Proof that a generated script reproduces its iteration: evaluate one trial the way AutoML does,
generate its training script, run the script where mlflow-automl cannot be imported, and compare
the two validation scores. The tests and ``benchmarks/codegen_fidelity.py`` use it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow_automl.codegen.forecasting import ForecastSpec
from mlflow_automl.codegen.render import TRAINING_SCRIPT, render
from mlflow_automl.codegen.spec import CodeSpec, code_spec


@dataclass
class Fidelity:
    learner: str
    task: str
    trial_score: float
    script_score: float | None
    error: str = ""

    @property
    def difference(self) -> float:
        if self.script_score is None:
            return float("inf")
        return abs(self.trial_score - self.script_score)


def isolated_environment(workdir: str | Path, tracking_uri: str) -> dict[str, str]:
    """Environment for ``python -S``: the installed libraries by ``PYTHONPATH`` (no ``.pth``
    files, so the editable install of this package is not on the path), nothing else."""
    paths = dict.fromkeys(
        [str(workdir), sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]
    )
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {
        **keep,
        "PYTHONPATH": os.pathsep.join(paths),
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
    }


def run_isolated(
    args: list[str],
    workdir: str | Path,
    tracking_uri: str,
    timeout: float = 600,
    with_package: bool = False,
) -> subprocess.CompletedProcess:
    """``python -S ARGS`` in ``workdir`` with :func:`isolated_environment`; ``with_package``:
    plain ``python`` (forecasting scripts import this package's public forecasters)."""
    env = isolated_environment(workdir, tracking_uri)
    if with_package:
        env["PYTHONPATH"] = str(workdir)
    return subprocess.run(
        [sys.executable, *([] if with_package else ["-S"]), *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def printed_score(stdout: str, metric: str) -> float:
    match = re.search(rf"^validation {re.escape(metric)}: (\S+)$", stdout, re.MULTILINE)
    if match is None:
        raise ValueError(f"the script printed no validation {metric}:\n{stdout[-2000:]}")
    return float(match.group(1))


def evaluate(config: Any, learner_name: str, params: dict[str, Any] | None = None):
    """``(trial outcome, CodeSpec)`` of one trial of ``learner_name`` (its default
    hyperparameters unless ``params``) on ``config``'s data, as the search runs it."""
    from mlflow_automl.evaluation.trial import TrialContext, TrialSpec, evaluate_trial
    from mlflow_automl.learners import get_learner
    from mlflow_automl.tasks import get_task, prepare_training_data

    data = prepare_training_data(config)
    plan = get_task(config.task).plan(config, data)
    learner = get_learner(learner_name, config.task)
    if params is None:
        params = learner.default_params(config.task, data.n_rows, data.X.shape[1])
    outcome = evaluate_trial(
        TrialContext.for_experiment(config, data, plan), TrialSpec(0, learner_name, params)
    )
    if not outcome.ok:
        raise RuntimeError(f"{learner_name} trial {outcome.status}: {outcome.error}")
    if get_task(config.task).code_kind == "forecasters":
        from mlflow_automl.codegen.forecasting import forecast_spec

        spec = forecast_spec(
            config=config, data=data, plan=plan, learner=learner_name, params=params, iteration=0
        )
    else:
        spec = code_spec(
            config=config, data=data, plan=plan, learner=learner, params=params, iteration=0
        )
    return outcome, spec


def evaluate_ensembles(
    config: Any, learner_names: list[str], overrides: dict[str, dict[str, Any]] | None = None
) -> list[tuple[float, Any]]:
    """``(score, CodeSpec)`` of the voting and stack ensembles AutoML builds from one default
    trial of each of ``learner_names`` on ``config``'s data (a learner's params updated by
    ``overrides[name]``, e.g. a target transform)."""
    from mlflow_automl.codegen.publish import spec_for
    from mlflow_automl.ensemble.iterations import build_ensembles
    from mlflow_automl.evaluation.trial import TrialContext, TrialSpec, evaluate_trial
    from mlflow_automl.leaderboard import Leaderboard, LeaderboardEntry
    from mlflow_automl.learners import get_learner
    from mlflow_automl.tasks import get_task, prepare_training_data

    data = prepare_training_data(config)
    plan = get_task(config.task).plan(config, data)
    context = TrialContext.for_experiment(config, data, plan)
    board = Leaderboard(config.task, config.metric)
    for i, name in enumerate(learner_names):
        params = get_learner(name, config.task).default_params(
            config.task, data.n_rows, data.X.shape[1]
        )
        params.update((overrides or {}).get(name, {}))
        outcome = evaluate_trial(context, TrialSpec(i, name, params))
        board.add(
            LeaderboardEntry(
                iteration=i,
                run_id="",
                learner=name,
                pipeline=name,
                status=outcome.status,
                score=outcome.metrics.get(config.metric),
                metrics=outcome.metrics,
                params=params,
                duration=outcome.duration,
                fit_seconds=outcome.fit_seconds,
                origin="default",
                predictions=outcome.predictions,
            )
        )
    results = []
    for i, built in enumerate(build_ensembles(config, data, board)):
        kind, combination, metrics = built.kind, built.spec, built.metrics
        entry = LeaderboardEntry(
            iteration=len(learner_names) + i,
            run_id="",
            learner=kind,
            pipeline=kind,
            status="completed",
            score=metrics[config.metric],
            metrics=metrics,
            params=combination,
            duration=0.0,
            fit_seconds=0.0,
            origin="ensemble",
        )
        spec = spec_for(config, data, plan, board, entry)
        results.append((metrics[config.metric], spec))
    return results


def check(
    spec: CodeSpec | ForecastSpec,
    trial_score: float,
    data_paths: list[str],
    workdir: str | Path,
    tracking_uri: str,
) -> Fidelity:
    """Runs ``spec``'s training script on ``data_paths`` in isolation; the two scores."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / TRAINING_SCRIPT).write_text(render(spec)[TRAINING_SCRIPT])
    forecasting = isinstance(spec, ForecastSpec)  # imports the public forecasters
    done = run_isolated(
        [TRAINING_SCRIPT, *data_paths], workdir, tracking_uri, with_package=forecasting
    )
    if done.returncode != 0:
        error = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
        return Fidelity(spec.learner, spec.task, trial_score, None, error)
    return Fidelity(spec.learner, spec.task, trial_score, printed_score(done.stdout, spec.metric))
