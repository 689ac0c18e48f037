"""Azure-style ``Run`` / ``OfflineRun`` logging API on MLflow (see ``docs/logging_api.md``).

A :class:`Run` owns its MLflow run id and writes through :class:`mlflow.MlflowClient`, so it
never needs (or disturbs) the fluent *active* run. Every public method validates its input and
then calls a small set of ``_write_*`` / ``_read_*`` primitives; :class:`OfflineRun` overrides
only those primitives (and the read side) to keep everything in memory.
"""

from __future__ import annotations

import json
import numbers
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from mlflow_automl import tracking

if TYPE_CHECKING:
    from mlflow_automl.azureml.experiment import Experiment

TAG_RUN_TYPE = "automl.run_type"  # our stand-in for Azure's ``azureml.runType``
STRING_TAG_PREFIX = "log."
STRINGS_DIR = "logs"
TABLES_DIR = "tables"
IMAGES_DIR = "images"
OUTPUTS_DIR = "outputs"
SNAPSHOT_DIR = "snapshot"
_MAX_METRICS_PER_BATCH = 1000  # MLflow's log_batch limit


class _StepCounter:
    """Next metric step per name, so repeated ``log`` calls build a vector.

    A name's counter starts from ``history(name)`` (the steps already stored) on first use, which
    makes a re-attached ``Run`` continue where the previous writer stopped.
    """

    def __init__(self, history: Callable[[str], int]) -> None:
        self._history = history
        self._next: dict[str, int] = {}

    def take(self, name: str, count: int = 1, step: int | None = None) -> list[int]:
        if name not in self._next:
            self._next[name] = self._history(name)
        first = self._next[name] if step is None else step
        self._next[name] = max(self._next[name], first + count)
        return list(range(first, first + count))


class Run:
    """One MLflow run seen through Azure ML's ``Run`` API.

    Args:
        experiment: The :class:`Experiment` the run belongs to (``None``: looked up).
        run_id: An existing MLflow run id.
        outputs: Folder uploaded as ``outputs/`` when the run ends (Azure's ``./outputs``
            capture); ``None`` means ``./outputs`` of the current directory, ``False`` none.
    """

    def __init__(
        self,
        experiment: Experiment | None,
        run_id: str,
        outputs: str | os.PathLike | None | bool = None,
    ) -> None:
        self._client = tracking.client()
        info = self._client.get_run(run_id).info  # fails early on an unknown id
        if experiment is None:
            from mlflow_automl.azureml.experiment import Experiment

            experiment = Experiment._from_id(info.experiment_id)
        self._experiment = experiment
        self._id = run_id
        self._outputs = _outputs_dir(outputs)
        self._steps = _StepCounter(self._metric_count)
        self._strings: dict[str, list[Any]] = {}
        self._ended = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, status={self.get_status()!r})"

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        """Completes the run, or fails it with the exception's text; never swallows it."""
        if self._ended:
            return
        if exc is None:
            self.complete()
        else:
            self.fail(error_details=f"{exc_type.__name__}: {exc}")

    # --- identity -------------------------------------------------------------------------------
    @classmethod
    def get_context(cls, allow_offline: bool = True, **kwargs: Any) -> Run:
        """The run this code executes in.

        The active MLflow run, else ``MLFLOW_RUN_ID`` (set by ``mlflow run``), else an
        :class:`OfflineRun` that keeps everything in memory.

        Raises:
            RuntimeError: No run found and ``allow_offline`` is false.
        """
        active = mlflow.active_run()
        run_id = active.info.run_id if active else os.environ.get("MLFLOW_RUN_ID")
        if run_id:
            return cls(None, run_id)
        if not allow_offline:
            raise RuntimeError(
                "Run.get_context(allow_offline=False): no MLflow run is active; start one with "
                "mlflow.start_run(), launch the script with `mlflow run`, or set MLFLOW_RUN_ID."
            )
        return OfflineRun()

    @property
    def id(self) -> str:
        return self._id

    @property
    def experiment(self) -> Experiment | None:
        return self._experiment

    @property
    def display_name(self) -> str:
        return self._run().info.run_name

    @display_name.setter
    def display_name(self, value: str) -> None:
        self._client.update_run(self.id, name=value)

    name = display_name

    @property
    def status(self) -> str:
        return self.get_status()

    def get_status(self) -> str:
        """MLflow's status string: ``RUNNING``, ``FINISHED``, ``FAILED`` or ``KILLED``."""
        return self._run().info.status

    @property
    def parent(self) -> Run | None:
        parent_id = self.get_tags().get(MLFLOW_PARENT_RUN_ID)
        return Run(self._experiment, parent_id, outputs=False) if parent_id else None

    def child_run(self, name: str | None = None, outputs: str | None | bool = False) -> Run:
        """A new RUNNING child run (``mlflow.parentRunId`` = this run) in the same experiment.

        Children capture no ``outputs`` folder by default: the parent already does.
        """
        tags = {MLFLOW_PARENT_RUN_ID: self.id, TAG_RUN_TYPE: self.get_tags().get(TAG_RUN_TYPE)}
        run_id = create_run(self._experiment.id, name, tags)
        return Run(self._experiment, run_id, outputs=outputs)

    # --- logging --------------------------------------------------------------------------------
    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Logs a number as the next step of metric ``name``, or a string (see the docs).

        Numbers (and bools) become MLflow metric values; each call appends one step unless
        ``step`` is given. Strings become tag ``log.<name>`` (the latest value) plus the JSON list
        ``logs/<name>.json`` of every string logged under ``name``. ``description`` is accepted
        for compatibility and not stored.

        Raises:
            TypeError: ``value`` is neither a number nor a string.
        """
        if _is_number(value):
            self._write_metrics(name, [float(value)], self._steps.take(name, step=step))
        elif isinstance(value, str):
            values = self._read_strings(name) + [value]
            self._strings[name] = values
            self._write_strings(name, values)
        else:
            raise TypeError(f"log() takes a number or a string, not {type(value).__name__}")

    def log_list(self, name: str, values: Iterable[Any], description: str = "") -> None:
        """Logs each value as the next step of ``name`` (steps 0..n-1 for a new name)."""
        values = list(values)
        if all(_is_number(v) for v in values):
            numbers_ = [float(v) for v in values]
            self._write_metrics(name, numbers_, self._steps.take(name, len(numbers_)))
        else:
            for value in values:
                self.log(name, value)

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        """Appends one row (columns = ``kwargs``) to table ``tables/<name>.json``."""
        self._write_table(name, {column: [value] for column, value in kwargs.items()})

    def log_table(self, name: str, value: dict[str, list[Any]], description: str = "") -> None:
        """Logs a dict of equal-length column lists as rows of ``tables/<name>.json``.

        As with MLflow's ``log_table``, rows are appended when the table already exists.
        """
        self._write_table(name, {column: list(values) for column, values in value.items()})

    def log_image(
        self,
        name: str,
        path: str | os.PathLike | None = None,
        plot: Any = None,
        description: str = "",
    ) -> None:
        """Logs an image file (as ``images/<name><suffix>``) or a matplotlib figure or
        ``pyplot`` module (its current figure, as ``images/<name>.png``).

        Raises:
            ValueError: Neither or both of ``path`` and ``plot`` are given.
        """
        if (path is None) == (plot is None):
            raise ValueError("log_image() takes exactly one of path= or plot=")
        if path is not None:
            self.upload_file(f"{IMAGES_DIR}/{name}{Path(path).suffix or '.png'}", path)
        else:
            figure = plot.gcf() if hasattr(plot, "gcf") else plot  # ``plt`` itself, as in Azure
            self._write_figure(figure, f"{IMAGES_DIR}/{name}.png")

    def tag(self, key: str, value: Any = None) -> None:
        """Sets tag ``key`` (``None`` → empty string, as Azure's value-less tags)."""
        self.set_tags({key: "" if value is None else value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        self._write_tags({k: "" if v is None else tracking._tag_value(v) for k, v in tags.items()})

    def add_properties(self, properties: dict[str, Any]) -> None:
        """Azure's immutable run properties are MLflow params (changing one raises)."""
        params = [Param(k, tracking._param_value(v)) for k, v in properties.items()]
        self._client.log_batch(self.id, params=params)

    def upload_file(self, name: str, path_or_stream: str | os.PathLike | BinaryIO) -> str:
        """Stores a file, or the bytes/text of a stream, as artifact ``name``; returns ``name``."""
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / Path(name).name
            if isinstance(path_or_stream, str | os.PathLike):
                shutil.copyfile(path_or_stream, local)
            else:
                data = path_or_stream.read()
                local.write_bytes(data.encode() if isinstance(data, str) else data)
            self._write_file(local, str(Path(name).parent).replace("\\", "/"))
        return name

    def upload_folder(self, name: str, path: str | os.PathLike) -> str:
        """Stores the folder ``path`` recursively under artifact path ``name``."""
        self._write_dir(Path(path), name)
        return name

    def take_snapshot(self, directory: str | os.PathLike) -> str:
        """Uploads ``directory`` as artifact ``snapshot/``, honouring its ignore files.

        ``.amlignore`` is used when present, else ``.gitignore`` (Azure's rule); ``.git`` is
        never included. Returns the artifact path. A later snapshot writes into the same
        folder (files are overwritten, none removed).
        """
        root = Path(directory)
        with tempfile.TemporaryDirectory() as tmp:
            for relative in snapshot_files(root):
                target = Path(tmp) / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / relative, target)
            self._write_dir(Path(tmp), SNAPSHOT_DIR)
        return SNAPSHOT_DIR

    def submit(self, config: Any, tags: dict[str, str] | None = None, **kwargs: Any) -> Any:
        """Runs an ``AutoMLConfig`` as an AutoML run nested under this run; returns it."""
        automl_run = submit_automl(config, self._experiment.name, tags=tags, **kwargs)
        # automl.submit nests only under the *active* run; this run need not be active.
        self._client.set_tag(automl_run.run_id, MLFLOW_PARENT_RUN_ID, self.id)
        return automl_run

    # --- ending ---------------------------------------------------------------------------------
    def complete(self) -> None:
        """Captures the outputs folder, then marks the run FINISHED."""
        self._end("FINISHED")

    def fail(self, error_details: Any = None) -> None:
        """Captures the outputs folder, records ``error_details`` (tag ``automl.error``) and
        marks the run FAILED."""
        if error_details is not None:
            self.set_tags({tracking.TAG_ERROR: error_details})
        self._end("FAILED")

    def cancel(self) -> None:
        """Captures the outputs folder, then marks the run KILLED."""
        self._end("KILLED")

    def _end(self, status: str) -> None:
        if self._outputs is not None and self._outputs.is_dir() and any(self._outputs.iterdir()):
            self._write_dir(self._outputs, OUTPUTS_DIR)
        self._terminate(status)
        self._ended = True

    # --- reading --------------------------------------------------------------------------------
    def get_metrics(self, name: str | None = None) -> dict[str, Any]:
        """Everything logged with ``log*``: name → value, or list of values in step order.

        Tables (``log_row``/``log_table``) come back as dicts of column lists.
        """
        metrics = {**self._read_metrics(), **self._read_tables()}
        for key in self.get_tags():
            if key.startswith(STRING_TAG_PREFIX):
                name_ = key[len(STRING_TAG_PREFIX) :]
                metrics.setdefault(name_, self._read_strings(name_))
        metrics = {
            k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in metrics.items()
        }
        return metrics if name is None else {name: metrics[name]} if name in metrics else {}

    def get_tags(self) -> dict[str, str]:
        return dict(self._run().data.tags)

    def get_properties(self) -> dict[str, str]:
        return dict(self._run().data.params)

    def get_file_names(self) -> list[str]:
        """Every artifact path of the run, recursively, sorted."""
        found, pending = [], [None]
        while pending:
            for info in self._client.list_artifacts(self.id, pending.pop()):
                (pending if info.is_dir else found).append(info.path)
        return sorted(found)

    def get_details(self) -> dict[str, Any]:
        """A dict shaped like Azure's run details (times in ISO 8601 UTC)."""
        run = self._run()
        info = run.info
        return {
            "runId": info.run_id,
            "displayName": info.run_name,
            "experimentId": info.experiment_id,
            "target": "local",
            "status": info.status,
            "startTimeUtc": _iso(info.start_time),
            "endTimeUtc": _iso(info.end_time),
            "submittedBy": run.data.tags.get("mlflow.user"),
            "properties": dict(run.data.params),
            "tags": dict(run.data.tags),
            "inputDatasets": [
                {
                    "dataset": {
                        "name": d.dataset.name,
                        "digest": d.dataset.digest,
                        "sourceType": d.dataset.source_type,
                        "source": d.dataset.source,
                    },
                    "consumptionDetails": {
                        "inputName": {t.key: t.value for t in d.tags}.get("mlflow.data.context")
                    },
                }
                for d in (run.inputs.dataset_inputs if run.inputs else [])
            ],
            "outputDatasets": [],
            "artifactUri": info.artifact_uri,
        }

    # --- storage primitives (OfflineRun overrides these) -----------------------------------------
    def _run(self) -> Any:
        return self._client.get_run(self.id)

    def _metric_count(self, name: str) -> int:
        history = self._client.get_metric_history(self.id, name)
        return max((m.step for m in history), default=-1) + 1

    def _write_metrics(self, name: str, values: list[float], steps: list[int]) -> None:
        now = tracking._now_ms()
        metrics = [Metric(name, v, now, s) for v, s in zip(values, steps)]
        for start in range(0, len(metrics), _MAX_METRICS_PER_BATCH):
            self._client.log_batch(self.id, metrics=metrics[start : start + _MAX_METRICS_PER_BATCH])

    def _read_metrics(self) -> dict[str, list[float]]:
        result = {}
        for key in self._run().data.metrics:
            history = sorted(
                self._client.get_metric_history(self.id, key), key=lambda m: (m.step, m.timestamp)
            )
            result[key] = [m.value for m in history]
        return result

    def _read_strings(self, name: str) -> list[Any]:
        if name not in self._strings:
            has_tag = f"{STRING_TAG_PREFIX}{name}" in self.get_tags()
            self._strings[name] = self._load_json(f"{STRINGS_DIR}/{name}.json") if has_tag else []
        return list(self._strings[name])

    def _write_strings(self, name: str, values: list[Any]) -> None:
        self._client.log_dict(self.id, values, f"{STRINGS_DIR}/{name}.json")
        self._write_tags({f"{STRING_TAG_PREFIX}{name}": tracking._tag_value(values[-1])})

    def _write_table(self, name: str, table: dict[str, list[Any]]) -> None:
        # MLflow's log_table appends rows when the artifact exists (verified on 3.17).
        self._client.log_table(self.id, data=table, artifact_file=f"{TABLES_DIR}/{name}.json")

    def _read_tables(self) -> dict[str, dict[str, list[Any]]]:
        tables = {}
        for info in self._client.list_artifacts(self.id, TABLES_DIR):
            if info.path.endswith(".json"):
                payload = self._load_json(info.path)
                rows = payload["data"]
                tables[Path(info.path).stem] = {
                    c: [row[i] for row in rows] for i, c in enumerate(payload["columns"])
                }
        return tables

    def _write_file(self, local: Path, artifact_dir: str) -> None:
        self._client.log_artifact(
            self.id, str(local), None if artifact_dir in ("", ".") else artifact_dir
        )

    def _write_dir(self, local: Path, artifact_path: str) -> None:
        self._client.log_artifacts(self.id, str(local), artifact_path)

    def _write_figure(self, figure: Any, artifact_file: str) -> None:
        self._client.log_figure(self.id, figure, artifact_file)

    def _write_tags(self, tags: dict[str, str]) -> None:
        self._client.log_batch(self.id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def _terminate(self, status: str) -> None:
        self._client.set_terminated(self.id, status=status)

    def _load_json(self, artifact_path: str) -> Any:
        with (
            tempfile.TemporaryDirectory() as tmp,
            tracking._env("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false"),
        ):
            return json.loads(
                Path(self._client.download_artifacts(self.id, artifact_path, tmp)).read_text()
            )


class OfflineRun(Run):
    """What ``Run.get_context()`` returns outside any MLflow run (Azure's offline run).

    Same methods as :class:`Run`; every call prints what it would log and keeps it in memory,
    so ``get_metrics``/``get_tags``/``get_file_names`` answer from memory. Nothing can fail on
    the store, because there is none.
    """

    def __init__(self) -> None:
        self._experiment = None
        self._id = f"OfflineRun_{uuid.uuid4()}"
        self._outputs = None  # nothing to capture into
        self._steps = _StepCounter(lambda name: 0)
        self._strings = {}
        self._ended = False
        self._status = "RUNNING"
        self._metrics: dict[str, list[float]] = {}
        self._tables: dict[str, dict[str, list[Any]]] = {}
        self._tags: dict[str, str] = {}
        self._files: set[str] = set()

    @property
    def display_name(self) -> str:
        return self._id

    name = display_name

    def get_status(self) -> str:
        return self._status

    @property
    def parent(self) -> None:
        return None

    def child_run(self, name: str | None = None, outputs: Any = False) -> OfflineRun:
        return OfflineRun()

    def submit(self, config: Any, tags: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return submit_automl(config, None, tags=tags, **kwargs)

    def get_tags(self) -> dict[str, str]:
        return dict(self._tags)

    def get_properties(self) -> dict[str, str]:
        return {}

    def add_properties(self, properties: dict[str, Any]) -> None:
        _say(f"properties {properties}")

    def get_file_names(self) -> list[str]:
        return sorted(self._files)

    def get_details(self) -> dict[str, Any]:
        return {
            "runId": self._id,
            "status": self._status,
            "target": "offline",
            "properties": {},
            "tags": self.get_tags(),
            "inputDatasets": [],
        }

    def _write_metrics(self, name: str, values: list[float], steps: list[int]) -> None:
        _say(f"metric {name} (steps {steps}): {values}")
        self._metrics.setdefault(name, []).extend(values)

    def _read_metrics(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self._metrics.items()}

    def _read_strings(self, name: str) -> list[Any]:
        return list(self._strings.get(name, []))

    def _write_strings(self, name: str, values: list[Any]) -> None:
        _say(f"string {name}: {values[-1]!r}")
        self._tags[f"{STRING_TAG_PREFIX}{name}"] = str(values[-1])

    def _write_table(self, name: str, table: dict[str, list[Any]]) -> None:
        _say(f"table {name}: {table}")
        current = self._tables.setdefault(name, {})
        height = max((len(v) for v in current.values()), default=0)
        added = max((len(v) for v in table.values()), default=0)
        for column in {**current, **table}:  # missing cells are None, as in MLflow's tables
            current.setdefault(column, [None] * height).extend(table.get(column, [None] * added))

    def _read_tables(self) -> dict[str, dict[str, list[Any]]]:
        return {k: {c: list(v) for c, v in t.items()} for k, t in self._tables.items()}

    def _write_file(self, local: Path, artifact_dir: str) -> None:
        self._files.add(_join(artifact_dir, local.name))
        _say(f"file {local.name}")

    def _write_dir(self, local: Path, artifact_path: str) -> None:
        for path in local.rglob("*"):
            if path.is_file():
                self._files.add(f"{artifact_path}/{path.relative_to(local).as_posix()}")
        _say(f"folder {local} as {artifact_path}/")

    def _write_figure(self, figure: Any, artifact_file: str) -> None:
        self._files.add(artifact_file)
        _say(f"image {artifact_file}")

    def _write_tags(self, tags: dict[str, str]) -> None:
        _say(f"tags {tags}")
        self._tags.update({k: str(v) for k, v in tags.items()})

    def _terminate(self, status: str) -> None:
        self._status = status


# --- helpers --------------------------------------------------------------------------------------
def submit_automl(config: Any, experiment_name: str | None, **kwargs: Any) -> Any:
    """``automl.submit`` for an ``AutoMLConfig``; a TypeError naming anything else."""
    from mlflow_automl.automl import submit
    from mlflow_automl.config import AutoMLConfig

    if not isinstance(config, AutoMLConfig):
        raise TypeError(
            f"submit() takes an AutoMLConfig, not {type(config).__name__}; run scripts and "
            "pipelines with `mlflow run` and Run.get_context() instead"
        )
    return submit(config, experiment_name=experiment_name, **kwargs)


def create_run(experiment_id: str, name: str | None, tags: dict[str, Any]) -> str:
    """Creates a RUNNING run (``None`` tag values dropped); returns its id."""
    from mlflow.tracking.context.registry import resolve_tags

    # resolve_tags adds what the fluent API would (user, source), for the MLflow UI.
    all_tags = resolve_tags({k: v for k, v in tags.items() if v is not None})
    return tracking.client().create_run(experiment_id, tags=all_tags, run_name=name).info.run_id


def _outputs_dir(outputs: str | os.PathLike | None | bool) -> Path | None:
    if outputs is False:
        return None
    return Path(OUTPUTS_DIR if outputs is None else outputs).absolute()


def _join(artifact_dir: str, name: str) -> str:
    """``dir/name``, or ``name`` when ``dir`` is the artifact root."""
    return name if artifact_dir in ("", ".") else f"{artifact_dir}/{name}"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, complex)


def _iso(millis: int | None) -> str | None:
    if not millis:
        return None
    return datetime.fromtimestamp(millis / 1000, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def _say(message: str) -> None:
    print(f"[OfflineRun] {message}", file=sys.stdout)


# --- snapshot ignore rules (.amlignore / .gitignore) ----------------------------------------------
def snapshot_files(root: Path) -> list[str]:
    """Relative POSIX paths of the files a snapshot of ``root`` holds.

    Rules come from ``root/.amlignore`` if it exists, else ``root/.gitignore`` (root-level files
    only), with git's semantics (``pathspec``); ``.git`` is never included.
    """
    import pathspec

    ignore = next((root / n for n in (".amlignore", ".gitignore") if (root / n).is_file()), None)
    lines = ignore.read_text().splitlines() if ignore else []
    spec = pathspec.GitIgnoreSpec.from_lines([*lines, ".git/"])
    return sorted(spec.match_tree_files(str(root), negate=True))
