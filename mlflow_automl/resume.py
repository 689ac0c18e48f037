"""Continuing an ended experiment (Azure's ``AutoMLRun.continue_experiment``), from what MLflow
holds, in any process.

* **Settings**: the AutoML run's params (every logged ``AutoMLConfig`` setting); the new time
  budget and ``iterations`` (how many more trials) replace the old ones.
* **Training data**: the logged dataset's source when it was a file that still exists here;
  otherwise (a DataFrame in memory, another machine) it must be passed again as
  ``training_data=``. Either way its digest must equal the logged dataset's, so the old scores
  and the new ones are on the same data.
* **Finished child runs**: their configurations (``automl.params_json``) and scores are told
  to the proposer, which never runs a known configuration again; they stay on the
  leaderboard, and iteration numbers go on after the last one.
* **The same parent run**: set RUNNING again, then ended again; a new best model (one of the
  new iterations) is logged and the tags point at it; otherwise the earlier model stays.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from mlflow_automl import tracking
from mlflow_automl.config import SETTINGS, AutoMLConfig, AutoMLConfigError
from mlflow_automl.evaluation.trial import COMPLETED
from mlflow_automl.frames import load_frame
from mlflow_automl.leaderboard import LeaderboardEntry

ENDED = ("FINISHED", "KILLED", "FAILED")
# Settings a continuation sets anew rather than restores.
_NEW_SETTINGS = {
    "training_data",
    "experiment_timeout_minutes",
    "experiment_timeout_hours",
    "iterations",
    "registered_model_name",
    "registered_model_alias",
}


@dataclass
class Prior:
    """What an ended experiment holds: its run and its finished iterations."""

    run_id: str
    entries: list[LeaderboardEntry] = field(default_factory=list)
    best_iteration: int | None = None  # the iteration of the model logged on the run
    model_uri: str | None = None

    @property
    def iterations(self) -> set[int]:
        return {e.iteration for e in self.entries}

    def keeps_model(self, best: LeaderboardEntry | None) -> bool:
        """Whether the continued search found nothing better than the model already logged."""
        return (
            best is not None
            and self.model_uri is not None
            and best.iteration == self.best_iteration
        )

    def keep_model(self, tracker: Any, leaderboard: Any, stop_reason: str) -> tuple[Any, str]:
        """The earlier model stays; the leaderboard table and the stop reason are rewritten."""
        tracker.log_table(leaderboard.frame(), tracking.LEADERBOARD_FILE)
        tracker.set_tags({tracking.TAG_STOP_REASON: stop_reason})
        return tracking.load_model(self.model_uri), self.model_uri


def continue_experiment(
    run_id: str,
    training_data: Any = None,
    experiment_timeout_minutes: float | None = None,
    experiment_timeout_hours: float | None = None,
    iterations: int | None = None,
    show_output: bool = False,
) -> Any:  # automl.ExperimentResult
    """Continues AutoML run ``run_id`` with a new budget (``AutoMLRun.continue_experiment``)."""
    import mlflow_automl.automl as automl

    run = tracking.get_run(run_id)
    if run.data.tags.get(tracking.TAG_KIND) != "experiment":
        raise AutoMLConfigError(f"run {run_id} is not an AutoML run (no automl.kind=experiment).")
    if run.info.status not in ENDED:
        raise AutoMLConfigError(
            f"AutoML run {run_id} is {run.info.status}; only an ended run (one of "
            f"{', '.join(ENDED)}) can be continued."
        )
    settings = restored_settings(run.data.params)
    frame = _training_frame(run_id, training_data, settings["label_column_name"])
    settings.update(
        training_data=frame,
        experiment_timeout_minutes=experiment_timeout_minutes,
        experiment_timeout_hours=experiment_timeout_hours,
        iterations=iterations,
    )
    config = restored_config(settings)
    prior = read_prior(run_id, config.metric)
    return automl.run_experiment(config, show_output=show_output, resume=prior)


def restored_config(settings: dict[str, Any]) -> AutoMLConfig:
    """The ``AutoMLConfig`` of restored ``settings``. A setting at its default is left out, so
    that the config sees it as not given, as in the first run: e.g. on Ray the number of trials
    in flight then follows the cluster again, not the default of 1 that was logged."""
    settings = dict(settings)
    task = settings.pop("task")
    given = {
        name: value
        for name, value in settings.items()
        if value is not None and not _at_default(name, value)
    }
    return AutoMLConfig(task, **given)


def _at_default(name: str, value: Any) -> bool:
    scalar = isinstance(value, (str, int, float, bool))  # never a frame or an object
    return scalar and name in SETTINGS and value == SETTINGS[name].default


def restored_settings(params: dict[str, str]) -> dict[str, Any]:
    """The ``AutoMLConfig`` settings logged as the run's params, with their types back."""
    settings = {}
    for name, text in params.items():
        if name not in SETTINGS or name in _NEW_SETTINGS or not SETTINGS[name].logged:
            continue
        value = _parse(text)
        if value is not text and SETTINGS[name].rule(value) is not None:
            value = text  # e.g. a column named "1": the text is the value
        problem = SETTINGS[name].rule(value)
        if problem is not None:
            raise AutoMLConfigError(
                f"setting {name}={text!r} of the earlier run cannot be restored ({problem})."
            )
        settings[name] = value
    if settings.get("featurization") not in (None, "auto", "off"):
        raise AutoMLConfigError(
            "the earlier run used a custom FeaturizationConfig, which its params do not hold; "
            "continuing it is not supported."
        )
    return settings


def read_prior(run_id: str, metric: str) -> Prior:
    """The finished iterations of AutoML run ``run_id``, as leaderboard entries."""
    run = tracking.get_run(run_id)
    prior = Prior(run_id=run_id, model_uri=run.data.tags.get(tracking.TAG_MODEL_URI))
    best = run.data.tags.get(tracking.TAG_BEST_ITERATION)
    prior.best_iteration = int(best) if best is not None else None
    for child in tracking.search_children(run.info.experiment_id, run_id):
        tags, metrics = child.data.tags, child.data.metrics
        params = _child_params(child)
        learner = params.pop("learner", tags.get(tracking.TAG_LEARNER))
        score = metrics.get(metric) if child.info.status == "FINISHED" else None
        if score is not None and not math.isfinite(score):
            score = None
        origin = tags.get(tracking.TAG_ORIGIN, "")
        if origin == "ensemble":
            params = {"kind": learner, **params}
        seconds = ((child.info.end_time or 0) - (child.info.start_time or 0)) / 1000
        prior.entries.append(
            LeaderboardEntry(
                iteration=int(tags[tracking.TAG_ITERATION]),
                run_id=child.info.run_id,
                learner=learner,
                pipeline=tags.get(tracking.TAG_PIPELINE, learner),
                status=tags.get(tracking.TAG_STATUS, COMPLETED),
                score=score,
                metrics={k: v for k, v in metrics.items() if k != "fit_time_seconds"},
                params=params,
                duration=max(0.0, seconds),
                fit_seconds=metrics.get("fit_time_seconds", 0.0),
                origin=origin,
            )
        )
    return prior


def _child_params(child: Any) -> dict[str, Any]:
    text = child.data.tags.get(tracking.TAG_PARAMS_JSON)
    if text is not None:
        return json.loads(text)
    return {k: _parse(v) for k, v in child.data.params.items()}  # runs before that tag


def _training_frame(run_id: str, training_data: Any, label: str) -> Any:
    """The training data of the earlier run: given again, or read from the logged source."""
    logged = tracking.training_dataset(run_id)
    if logged is None:
        raise AutoMLConfigError(f"AutoML run {run_id} has no logged training dataset.")
    source, digest = logged
    if training_data is None:
        from pathlib import Path

        if not source or not Path(source).is_file():
            raise AutoMLConfigError(
                f"the training data of AutoML run {run_id} was not a file found here "
                f"(source: {source or 'a DataFrame in memory'}); pass it again as "
                "training_data=."
            )
        training_data = source
    frame, where = load_frame(training_data)
    found = tracking.training_data_digest(frame, label, where)
    if found != digest:
        raise AutoMLConfigError(
            f"training_data differs from the data AutoML run {run_id} was trained on "
            f"(digest {found} instead of {digest}); continue it with the same data."
        )
    return frame


def _parse(text: str) -> Any:
    """A param's value with its type: JSON (numbers, lists, dicts), Python's True/False/None,
    inf/nan; otherwise the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    try:
        return float(text)
    except ValueError:
        return text
