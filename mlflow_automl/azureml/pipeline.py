"""Pipelines of steps, each a nested MLflow run, with outputs as artifacts and step reuse.

Azure's ``Pipeline`` / ``PythonScriptStep`` / ``AutoMLStep`` in MLflow terms:

* the pipeline run is an MLflow run (the active run when there is one, e.g. inside
  ``mlflow run``), and every step is a child run of it, tagged ``automl.pipeline_step``;
* a step's outputs are artifact folders ``outputs/<name>`` of its run; a later step names them
  as inputs (``step.output("name")``) and receives local paths;
* ``allow_reuse=True``: a step whose fingerprint (its code and settings, and the content of its
  inputs) matches an earlier finished step run in the experiment is not run again. Its run
  records ``automl.reused_from`` and points its outputs at the earlier run's artifacts.

    prep = PythonScriptStep("dataprep", "dataprep.py", outputs=["prepared"])
    train = AutoMLStep("automl", config, training_data=prep.output("prepared", "train.csv"))
    run = Pipeline([prep, train]).submit("titanic")
    run.get_pipeline_output("metrics_output").download("out")
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow_automl import tracking
from mlflow_automl._version import __version__

logger = logging.getLogger(__name__)

METRICS_OUTPUT = "metrics_output"
MODEL_OUTPUT = "model_output"


class PipelineStepError(RuntimeError):
    """A step failed; the pipeline run is marked FAILED and later steps do not run."""


@dataclass(frozen=True)
class StepOutput:
    """A named output of a step, optionally one file inside it."""

    step: str
    name: str
    file: str | None = None


class PipelineStep:
    """A unit of a pipeline: named outputs, named inputs, and whether it may be reused."""

    def __init__(
        self,
        name: str,
        inputs: dict[str, StepOutput | str] | None = None,
        outputs: Sequence[str] = (),
        allow_reuse: bool = True,
    ) -> None:
        self.name = name
        self.inputs = dict(inputs or {})
        self.outputs = list(outputs)
        self.allow_reuse = allow_reuse

    def output(self, name: str, file: str | None = None) -> StepOutput:
        if name not in self.outputs:
            raise ValueError(f"step {self.name!r} has no output {name!r}; outputs: {self.outputs}")
        return StepOutput(self.name, name, file)

    def code_fingerprint(self) -> str:
        """What identifies this step's work, apart from its inputs."""
        raise NotImplementedError

    def execute(self, run_id: str, inputs: dict[str, str], outputs: dict[str, Path]) -> None:
        """Does the work: reads ``inputs`` (local paths), writes into ``outputs`` folders."""
        raise NotImplementedError


class PythonScriptStep(PipelineStep):
    """Runs ``python script_name arguments... --<input> PATH ... --<output> DIR ...``.

    The script runs in a fresh interpreter with ``MLFLOW_RUN_ID`` set to its step run, so
    ``mlflow.start_run()`` (or ``Run.get_context()``) inside it logs to that run.
    """

    def __init__(
        self,
        name: str,
        script_name: str,
        arguments: Sequence[Any] = (),
        inputs: dict[str, StepOutput | str] | None = None,
        outputs: Sequence[str] = (),
        source_directory: str | Path = ".",
        allow_reuse: bool = True,
    ) -> None:
        super().__init__(name, inputs, outputs, allow_reuse)
        self.source_directory = Path(source_directory).resolve()
        self.script = self.source_directory / script_name
        if not self.script.is_file():
            raise ValueError(f"step {name!r}: script {str(self.script)!r} does not exist")
        self.arguments = [str(a) for a in arguments]

    def code_fingerprint(self) -> str:
        return _digest(["script", self.script.read_bytes(), self.arguments, self.outputs])

    def execute(self, run_id: str, inputs: dict[str, str], outputs: dict[str, Path]) -> None:
        command = [sys.executable, str(self.script), *self.arguments]
        for name, path in [*inputs.items(), *outputs.items()]:
            command += [f"--{name}", str(path)]
        env = {**_environ(), "MLFLOW_RUN_ID": run_id}
        completed = subprocess.run(command, cwd=self.source_directory, env=env)
        if completed.returncode != 0:
            raise PipelineStepError(
                f"step {self.name!r}: {self.script.name} exited with code {completed.returncode}"
            )


class AutoMLStep(PipelineStep):
    """Runs an AutoML experiment nested under its step run.

    Outputs: ``metrics_output`` (``metrics.json``: every iteration's metrics, one key per
    iteration, so ``pd.DataFrame(json.load(f))`` has one column per iteration) and
    ``model_output`` (``model.pkl``, the fitted best model, and ``model_uri.txt``).
    ``training_data`` may be a ``StepOutput`` of an earlier step.
    """

    def __init__(
        self,
        name: str,
        automl_config: Any,
        training_data: StepOutput | str | None = None,
        outputs: Sequence[str] = (METRICS_OUTPUT, MODEL_OUTPUT),
        allow_reuse: bool = True,
    ) -> None:
        # The data may also come as the config's own training_data (Azure's idiom).
        if training_data is None and isinstance(automl_config.training_data, StepOutput):
            training_data = automl_config.training_data
        inputs = {"training_data": training_data} if training_data is not None else {}
        super().__init__(name, inputs, outputs, allow_reuse)
        self.config = automl_config

    def code_fingerprint(self) -> str:
        return _digest(["automl", __version__, self.config.loggable_settings(), self.outputs])

    def execute(self, run_id: str, inputs: dict[str, str], outputs: dict[str, Path]) -> None:
        from mlflow_automl.config import AutoMLConfig

        settings = self.config.as_dict()
        if "training_data" in inputs:
            settings["training_data"] = _data_file(inputs["training_data"])
        config = AutoMLConfig(**settings)
        write_automl_outputs(config, run_id, outputs.get(METRICS_OUTPUT), outputs.get(MODEL_OUTPUT))


def write_automl_outputs(
    config: Any,
    parent_run_id: str,
    metrics_dir: Path | None,
    model_dir: Path | None,
    show_output: bool = True,
) -> Any:
    """Runs AutoML nested under ``parent_run_id`` and writes the step outputs.

    Shared by ``AutoMLStep`` and the ``python -m mlflow_automl.project`` entry point; returns
    the ``AutoMLRun``.
    """
    from mlflow_automl.azureml.automl_run import submit

    run = submit(config, show_output=show_output, parent_run_id=parent_run_id)
    if metrics_dir is not None:
        metrics_dir.mkdir(parents=True, exist_ok=True)
        per_iteration = {c.info.run_name: dict(c.data.metrics) for c in run.get_children()}
        (metrics_dir / "metrics.json").write_text(json.dumps(per_iteration, indent=1))
    if model_dir is not None:
        model_dir.mkdir(parents=True, exist_ok=True)
        _, model = run.get_output()
        (model_dir / "model.pkl").write_bytes(pickle.dumps(model))
        (model_dir / "model_uri.txt").write_text(run.model_uri)
    return run


class Pipeline:
    """Steps run in order; each step may use the outputs of the steps before it."""

    def __init__(self, steps: Sequence[PipelineStep], description: str = "") -> None:
        names = [s.name for s in steps]
        if len(set(names)) != len(names):
            raise ValueError(f"step names must be unique: {names}")
        for position, step in enumerate(steps):
            for source in step.inputs.values():
                if isinstance(source, StepOutput) and source.step not in names[:position]:
                    raise ValueError(
                        f"step {step.name!r} uses an output of {source.step!r}, which is not an "
                        "earlier step of this pipeline"
                    )
        self.steps = list(steps)
        self.description = description

    def submit(self, experiment_name: str | None = None, tags: dict[str, str] | None = None):
        """Runs every step; returns the ``PipelineRun``.

        Inside an MLflow run (the active run, or the run of an ``mlflow run`` entry point) that
        run is the pipeline run; otherwise a new run is created in ``experiment_name``.
        """
        active = tracking.current_run()
        owns_run = active is None
        if owns_run:
            experiment_id, _ = tracking.resolve_experiment(experiment_name or "pipelines")
            run_id = tracking.create_run(
                experiment_id, "pipeline", {tracking.TAG_KIND: "pipeline", **(tags or {})}, None
            )
        else:
            experiment_id, run_id = active.info.experiment_id, active.info.run_id
            tracking.set_run_tags(run_id, {tracking.TAG_KIND: "pipeline", **(tags or {})})
        status = "FAILED"
        try:
            outputs: dict[tuple[str, str], str] = {}
            for step in self.steps:
                outputs.update(_run_step(step, experiment_id, run_id, outputs))
            status = "FINISHED"
        finally:
            if owns_run:
                tracking.finish_run(run_id, status)
        return PipelineRun(run_id)


def _run_step(
    step: PipelineStep, experiment_id: str, pipeline_run_id: str, known: dict[tuple[str, str], str]
) -> dict[tuple[str, str], str]:
    """Runs (or reuses) one step; returns ``{(step, output): artifact URI}``."""
    with tempfile.TemporaryDirectory() as tmp:
        inputs = {
            name: _resolve(source, known, Path(tmp) / "in" / name)
            for name, source in step.inputs.items()
        }
        fingerprint = _digest([step.code_fingerprint(), *map(_content_digest, inputs.values())])
        base_tags = {
            tracking.TAG_KIND: "pipeline_step",
            tracking.TAG_STEP: step.name,
            tracking.TAG_FINGERPRINT: fingerprint,
        }
        previous = None
        if step.allow_reuse:
            previous = tracking.find_finished_run(experiment_id, base_tags)
        run_id = tracking.create_run(experiment_id, step.name, base_tags, pipeline_run_id)
        if previous is not None:
            uris = {
                name: previous.data.tags[tracking.TAG_OUTPUT_PREFIX + name] for name in step.outputs
            }
            print(
                f"Step {step.name!r}: reused run {previous.info.run_id} (code and inputs are "
                "unchanged)",
                flush=True,
            )
            tracking.set_run_tags(run_id, {tracking.TAG_REUSED_FROM: previous.info.run_id})
        else:
            print(f"Step {step.name!r}: running", flush=True)
            output_dirs = {name: Path(tmp) / "out" / name for name in step.outputs}
            for folder in output_dirs.values():
                folder.mkdir(parents=True)
            try:
                step.execute(run_id, inputs, output_dirs)
            except BaseException:
                tracking.finish_run(run_id, "FAILED")
                raise
            uris = {
                name: tracking.upload_dir(run_id, folder, f"outputs/{name}")
                for name, folder in output_dirs.items()
            }
        tracking.set_run_tags(
            run_id, {tracking.TAG_OUTPUT_PREFIX + name: uri for name, uri in uris.items()}
        )
        tracking.finish_run(run_id, "FINISHED")
    return {(step.name, name): uri for name, uri in uris.items()}


class PipelineOutput:
    """A step output stored as run artifacts; ``download(path)`` returns the local folder."""

    def __init__(self, name: str, uri: str) -> None:
        self.name, self.uri = name, uri

    def __repr__(self) -> str:
        return f"PipelineOutput({self.name!r}, {self.uri!r})"

    def download(self, local_path: str | Path = ".") -> str:
        Path(local_path).mkdir(parents=True, exist_ok=True)
        return tracking.download(self.uri, local_path)


class PipelineRun:
    """A pipeline run, found again by id at any time: ``PipelineRun(run_id)``."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    @property
    def run(self) -> Any:
        return tracking.get_run(self.run_id)

    def get_status(self) -> str:
        return self.run.info.status

    def get_children(self) -> list[Any]:
        """Step runs, in the order they ran."""
        runs = tracking.search_runs_by_parent(self.run.info.experiment_id, self.run_id)
        steps = [r for r in runs if r.data.tags.get(tracking.TAG_KIND) == "pipeline_step"]
        return sorted(steps, key=lambda r: r.info.start_time)

    def get_step_run(self, name: str) -> Any:
        for run in self.get_children():
            if run.data.tags.get(tracking.TAG_STEP) == name:
                return run
        raise ValueError(f"pipeline run {self.run_id} has no step {name!r}")

    def get_pipeline_output(self, name: str) -> PipelineOutput:
        for run in reversed(self.get_children()):
            uri = run.data.tags.get(tracking.TAG_OUTPUT_PREFIX + name)
            if uri:
                return PipelineOutput(name, uri)
        raise ValueError(f"pipeline run {self.run_id} has no output {name!r}")


# --- helpers ------------------------------------------------------------------------------------
def _resolve(source: StepOutput | str, known: dict[tuple[str, str], str], folder: Path) -> str:
    if not isinstance(source, StepOutput):
        return str(Path(source).resolve())
    local = Path(tracking.download(known[(source.step, source.name)], folder))
    return str(local / source.file) if source.file else str(local)


def _data_file(path: str) -> str:
    """A folder input holds the data as its single CSV/Parquet file."""
    local = Path(path)
    if local.is_file():
        return str(local)
    files = sorted(p for p in local.rglob("*") if p.suffix in (".csv", ".parquet", ".pq"))
    if len(files) != 1:
        raise PipelineStepError(
            f"input folder {path} holds {len(files)} data files; name one with "
            "step.output(name, file='...')"
        )
    return str(files[0])


def _content_digest(path: str) -> str:
    local = Path(path)
    files = sorted(p for p in local.rglob("*") if p.is_file()) if local.is_dir() else [local]
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(local) if local.is_dir() else file.name).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _digest(parts: list[Any]) -> str:
    payload = json.dumps(parts, sort_keys=True, default=_json_default).encode()
    return hashlib.sha256(payload).hexdigest()[:32]


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    return str(value)


def _environ() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = tracking.tracking_uri()
    return env
