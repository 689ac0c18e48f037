"""Azure ML SDK v1's ``Experiment`` and ``Run`` logging API on MLflow (see
``docs/logging_api.md``).

An :class:`Experiment` is a handle on one MLflow experiment, addressed by id; its name, tags and
archive state are read from the tracking store on every access, so handles never go stale.
Azure's *archive* is MLflow's soft delete. ``workspace`` arguments are accepted for source
compatibility and ignored: the MLflow tracking URI is the workspace.

A :class:`Run` owns its MLflow run id and writes through :mod:`mlflow_automl.tracking`, so it
never needs (or disturbs) the fluent *active* run. Every public method validates its input and
then calls a small set of ``_write_*`` / ``_read_*`` primitives; :class:`OfflineRun` overrides
only those primitives (and the read side) to keep everything in memory.

Experiment and Run refer to each other (``start_logging`` gives a Run, ``Run.experiment`` its
Experiment), so they share this module instead of importing each other.
"""

from __future__ import annotations

import numbers
import os
import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from mlflow_automl import tracking
from mlflow_automl.azureml.snapshot import snapshot_files
from mlflow_automl.tracking import experiments
from mlflow_automl.tracking.tags import (
    MLFLOW_DATASET_CONTEXT,
    MLFLOW_PARENT_RUN_ID,
    MLFLOW_USER,
    STRING_TAG_PREFIX,
    TAG_ARCHIVED_NAME,
    TAG_DELETED,
    TAG_ERROR,
    TAG_KIND,
    TAG_RUN_TYPE,
)

__all__ = ["Experiment", "OfflineRun", "Run"]

_NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,35}$")
_VIEW_TYPES = {"activeonly": "active", "archivedonly": "deleted", "all": "all"}
STRINGS_DIR = "logs"
TABLES_DIR = "tables"
IMAGES_DIR = "images"
OUTPUTS_DIR = "outputs"
SNAPSHOT_DIR = "snapshot"


class Experiment:
    """Get-or-create the MLflow experiment ``name``.

    Args:
        name: 3–36 characters: letters, digits, ``_`` and ``-``, starting with a letter or digit.
            ``Experiment(workspace, name)`` (Azure's argument order) works too.
        workspace: Ignored; the current MLflow tracking URI is used.
        _create_in_cloud: ``False`` defers creating a missing experiment until ``id`` is read.

    If the only experiment called ``name`` is archived, it is renamed to
    ``<name>-archived-<id>`` and a new active experiment takes the name (Azure: "writing to an
    archived name creates a new active one"); ``reactivate()`` can give the old one its name back.

    Raises:
        ValueError: ``name`` breaks the naming rule.
    """

    def __init__(
        self, name: Any, workspace: Any = None, _create_in_cloud: bool = True, **kwargs: Any
    ):
        if not isinstance(name, str) and isinstance(workspace, str):
            name, workspace = workspace, name  # Azure's Experiment(workspace, name)
        _check_name(name)
        self._name = name
        self._id: str | None = None
        if _create_in_cloud:
            _ = self.id

    @classmethod
    def _from_id(cls, experiment_id: str) -> Experiment:
        """A handle on an existing experiment, with no name check (other tools name freely)."""
        experiment = cls.__new__(cls)
        experiment._id = experiment_id
        experiment._name = None
        return experiment

    def __repr__(self) -> str:
        return f"Experiment(name={self.name!r}, id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Experiment) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    # --- attributes -----------------------------------------------------------------------------
    @property
    def id(self) -> str:
        if self._id is None:
            self._id = _get_or_create(self._name)
        return self._id

    @property
    def name(self) -> str:
        return self._name if self._id is None else self._entity().name

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._entity().tags)

    @property
    def archived_time(self) -> int | None:
        """Milliseconds since the epoch when archived (MLflow's last update), else ``None``."""
        entity = self._entity()
        return entity.last_update_time if entity.lifecycle_stage == "deleted" else None

    def _entity(self) -> Any:
        return experiments.get(self.id)

    # --- listing --------------------------------------------------------------------------------
    @staticmethod
    def list(
        workspace: Any = None,
        experiment_name: str | None = None,
        view_type: str | int = "ActiveOnly",
        tags: str | Iterable[str] | dict[str, str] | None = None,
    ) -> list[Experiment]:
        """Experiments of the tracking store, in MLflow's search order.

        Args:
            workspace: Ignored.
            experiment_name: Only the experiment(s) with exactly this name.
            view_type: ``"ActiveOnly"``, ``"ArchivedOnly"``, ``"All"`` or an MLflow ``ViewType``.
            tags: A tag key, a list of keys that must exist, or a dict key → value.

        Raises:
            ValueError: Unknown ``view_type``.
        """
        view = view_type if isinstance(view_type, int) else _VIEW_TYPES.get(str(view_type).lower())
        if view is None:
            raise ValueError(
                f"view_type must be ActiveOnly, ArchivedOnly or All, not {view_type!r}"
            )
        return [
            Experiment._from_id(e.experiment_id)
            for e in experiments.search(view)
            if (experiment_name is None or e.name == experiment_name)
            and TAG_DELETED not in e.tags
            and _matches(e.tags, tags)
        ]

    def get_runs(
        self,
        type: str | None = None,  # noqa: A002 - Azure's parameter name
        tags: str | Iterable[str] | dict[str, str] | None = None,
        properties: str | Iterable[str] | dict[str, str] | None = None,
        include_children: bool = False,
    ) -> Iterator[Run]:
        """Runs of this experiment, newest first, as a generator of :class:`Run`.

        Args:
            type: ``"automl"`` (AutoML parent runs), ``"automl.trial"`` (their iterations),
                ``"interactive"`` (``start_logging``) or ``"script"`` (any other MLflow run), or
                a value of tag ``automl.run_type``.
            tags: A tag key, a list of keys that must exist, or a dict key → value.
            properties: The same against the run's params (Azure properties are MLflow params).
            include_children: Also yield runs that have ``mlflow.parentRunId``.
        """
        archived = self._entity().lifecycle_stage == "deleted"  # its runs are deleted with it
        for run in experiments.runs(self.id, "all" if archived else "active"):
            if (
                (include_children or MLFLOW_PARENT_RUN_ID not in run.data.tags)
                and (type is None or run_type(run.data.tags) == type)
                and _matches(run.data.tags, tags)
                and _matches(run.data.params, properties)
            ):
                yield Run(self, run.info.run_id, outputs=False)

    # --- lifecycle ------------------------------------------------------------------------------
    def archive(self) -> None:
        """Archives (MLflow soft-deletes) the experiment: hidden from default listings, its runs
        with it, until ``reactivate()``."""
        experiments.archive(self.id)

    def reactivate(self, new_name: str | None = None) -> None:
        """Restores an archived experiment, as ``new_name`` or its own name.

        Its own name is the one it had when archived, even if a newer experiment was created
        under that name meanwhile (then that name must be free again, or pass ``new_name``).

        Raises:
            ValueError: The target name is used by another active experiment, or breaks the rule.
        """
        entity = self._entity()
        if TAG_DELETED in entity.tags:
            raise ValueError(f"experiment {self.id} was deleted, not archived")
        target = new_name or entity.tags.get(TAG_ARCHIVED_NAME, entity.name)
        if new_name is not None:
            _check_name(new_name)
        holder = experiments.by_name(target)
        if holder is not None and holder.experiment_id != self.id:
            if holder.lifecycle_stage != "deleted":
                raise ValueError(
                    f"cannot reactivate as {target!r}: an active experiment has that name "
                    "(pass new_name=...)"
                )
            _move_aside(holder)
        if entity.lifecycle_stage == "deleted":
            experiments.restore(self.id)
        if target != entity.name:
            experiments.rename(self.id, target)
        if TAG_ARCHIVED_NAME in entity.tags:
            experiments.delete_tag(self.id, TAG_ARCHIVED_NAME)

    @staticmethod
    def delete(workspace: Any, experiment_id: str) -> None:
        """Deletes an experiment as far as the MLflow client can.

        MLflow's client has no permanent delete: the experiment is soft-deleted and tagged
        ``automl.deleted``, which hides it from every ``list()`` view; ``mlflow gc`` removes it
        (and its runs) for good. Its name is free again at once for ``Experiment(name)``.
        """
        experiments.set_tag(experiment_id, TAG_DELETED, "true")
        experiments.archive(experiment_id)

    # --- tags -----------------------------------------------------------------------------------
    def tag(self, key: str, value: str | None = None) -> None:
        """Sets experiment tag ``key`` (``None`` → empty string)."""
        self.set_tags({key: value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Adds or changes these tags; other tags are kept."""
        for key, value in tags.items():
            experiments.set_tag(self.id, key, "" if value is None else str(value))

    def remove_tags(self, keys: str | Iterable[str]) -> None:
        """Deletes these experiment tags."""
        for key in [keys] if isinstance(keys, str) else keys:
            experiments.delete_tag(self.id, key)

    # --- runs -----------------------------------------------------------------------------------
    def start_logging(
        self,
        outputs: str | os.PathLike | None | bool = None,
        snapshot_directory: str | os.PathLike | None = None,
        display_name: str | None = None,
        **kwargs: Any,
    ) -> Run:
        """Starts an interactive run (RUNNING until ``complete``/``fail``/``cancel``).

        Args:
            outputs: Folder captured as artifacts ``outputs/`` when the run ends
                (``None``: ``./outputs``; ``False``: none).
            snapshot_directory: Uploaded now as ``snapshot/`` (see ``Run.take_snapshot``).
            display_name: The MLflow run name.

        The run does not become MLflow's active run; use it as a context manager to complete it
        (or fail it when the block raises).
        """
        run_id = _start_run(self.id, display_name, {TAG_RUN_TYPE: "interactive"})
        run = Run(self, run_id, outputs=outputs)
        if snapshot_directory is not None:
            run.take_snapshot(snapshot_directory)
        return run

    def submit(
        self,
        config: Any,
        tags: dict[str, str] | None = None,
        show_output: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Runs an ``AutoMLConfig`` in this experiment; returns the ``AutoMLRun``.

        ``kwargs`` go to :func:`mlflow_automl.submit` (e.g. ``run_name``).

        Raises:
            TypeError: ``config`` is not an ``AutoMLConfig``.
        """
        return submit_automl(config, self.name, tags=tags, show_output=show_output, **kwargs)


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
        info = tracking.get_run(run_id).info  # fails early on an unknown id
        if experiment is None:
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
        current = tracking.current_run()
        if current is not None:
            return cls(None, current.info.run_id)
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
        tracking.rename_run(self.id, value)

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
        run_id = _start_run(self._experiment.id, name, tags)
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
        self._write_tags({k: "" if v is None else v for k, v in tags.items()})

    def add_properties(self, properties: dict[str, Any]) -> None:
        """Azure's immutable run properties are MLflow params (changing one raises)."""
        # A None property is stored as "None", as before (log_params drops None values).
        tracking.log_params(self.id, {k: str(v) if v is None else v for k, v in properties.items()})

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
        tracking.set_run_tags(automl_run.run_id, {MLFLOW_PARENT_RUN_ID: self.id})
        return automl_run

    # --- ending ---------------------------------------------------------------------------------
    def complete(self) -> None:
        """Captures the outputs folder, then marks the run FINISHED."""
        self._end("FINISHED")

    def fail(self, error_details: Any = None) -> None:
        """Captures the outputs folder, records ``error_details`` (tag ``automl.error``) and
        marks the run FAILED."""
        if error_details is not None:
            self.set_tags({TAG_ERROR: error_details})
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
            for info in tracking.list_artifacts(self.id, pending.pop()):
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
            "startTimeUtc": tracking.iso_utc(info.start_time),
            "endTimeUtc": tracking.iso_utc(info.end_time),
            "submittedBy": run.data.tags.get(MLFLOW_USER),
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
                        "inputName": {t.key: t.value for t in d.tags}.get(MLFLOW_DATASET_CONTEXT)
                    },
                }
                for d in (run.inputs.dataset_inputs if run.inputs else [])
            ],
            "outputDatasets": [],
            "artifactUri": info.artifact_uri,
        }

    # --- storage primitives (OfflineRun overrides these) -----------------------------------------
    def _run(self) -> Any:
        return tracking.get_run(self.id)

    def _metric_count(self, name: str) -> int:
        return tracking.next_metric_step(self.id, name)

    def _write_metrics(self, name: str, values: list[float], steps: list[int]) -> None:
        tracking.log_metric_steps(self.id, name, values, steps)

    def _read_metrics(self) -> dict[str, list[float]]:
        return tracking.metric_values(self.id)

    def _read_strings(self, name: str) -> list[Any]:
        if name not in self._strings:
            has_tag = f"{STRING_TAG_PREFIX}{name}" in self.get_tags()
            self._strings[name] = self._load_json(f"{STRINGS_DIR}/{name}.json") if has_tag else []
        return list(self._strings[name])

    def _write_strings(self, name: str, values: list[Any]) -> None:
        tracking.log_json(self.id, values, f"{STRINGS_DIR}/{name}.json")
        self._write_tags({f"{STRING_TAG_PREFIX}{name}": values[-1]})

    def _write_table(self, name: str, table: dict[str, list[Any]]) -> None:
        tracking.append_table(self.id, table, f"{TABLES_DIR}/{name}.json")

    def _read_tables(self) -> dict[str, dict[str, list[Any]]]:
        tables = {}
        for info in tracking.list_artifacts(self.id, TABLES_DIR):
            if info.path.endswith(".json"):
                payload = self._load_json(info.path)
                rows = payload["data"]
                tables[Path(info.path).stem] = {
                    c: [row[i] for row in rows] for i, c in enumerate(payload["columns"])
                }
        return tables

    def _write_file(self, local: Path, artifact_dir: str) -> None:
        tracking.upload_file(self.id, local, artifact_dir)

    def _write_dir(self, local: Path, artifact_path: str) -> None:
        tracking.upload_dir(self.id, local, artifact_path)

    def _write_figure(self, figure: Any, artifact_file: str) -> None:
        tracking.log_figure(self.id, figure, artifact_file)

    def _write_tags(self, tags: dict[str, Any]) -> None:
        tracking.set_run_tags(self.id, tags)

    def _terminate(self, status: str) -> None:
        tracking.finish_run(self.id, status)

    def _load_json(self, artifact_path: str) -> Any:
        return tracking.read_json_artifact(self.id, artifact_path)


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
def run_type(tags: dict[str, str]) -> str:
    """A run's kind for ``get_runs(type=...)``: our tag, else inferred from AutoML's tags."""
    if TAG_RUN_TYPE in tags:
        return tags[TAG_RUN_TYPE]
    kind = tags.get(TAG_KIND)
    return {"experiment": "automl", "trial": "automl.trial"}.get(kind, "script")


def _matches(values: dict[str, str], wanted: str | Iterable[str] | dict[str, str] | None) -> bool:
    """Azure's tag/property filter: a key, keys that must exist, or key → value pairs."""
    if wanted is None:
        return True
    if isinstance(wanted, str):
        wanted = [wanted]
    if isinstance(wanted, dict):
        return all(key in values and values[key] == str(v) for key, v in wanted.items())
    return all(key in values for key in wanted)


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not _NAME_RULE.match(name):
        raise ValueError(
            f"invalid experiment name {name!r}: it must be 3-36 characters long, start with a "
            "letter or digit, and contain only letters, digits, '_' and '-'"
        )


def _get_or_create(name: str) -> str:
    existing = experiments.by_name(name)
    if existing is not None and existing.lifecycle_stage != "deleted":
        return existing.experiment_id
    if existing is not None:
        # MLflow keeps a deleted experiment's name reserved; free it for the new one.
        _move_aside(existing)
    return experiments.create(name)


def _move_aside(archived: Any) -> None:
    """Renames an archived experiment to ``<name>-archived-<id>``, keeping it archived.

    MLflow renames only active experiments, hence restore → rename → delete.
    """
    experiment_id = archived.experiment_id
    experiments.restore(experiment_id)
    experiments.rename(experiment_id, f"{archived.name}-archived-{experiment_id}")
    if TAG_ARCHIVED_NAME not in archived.tags:
        experiments.set_tag(experiment_id, TAG_ARCHIVED_NAME, archived.name)
    experiments.archive(experiment_id)


def submit_automl(config: Any, experiment_name: str | None, **kwargs: Any) -> Any:
    """``automl.submit`` for an ``AutoMLConfig``; a TypeError naming anything else."""
    from mlflow_automl.azureml.automl_run import submit
    from mlflow_automl.config import AutoMLConfig

    if not isinstance(config, AutoMLConfig):
        raise TypeError(
            f"submit() takes an AutoMLConfig, not {type(config).__name__}; run scripts and "
            "pipelines with `mlflow run` and Run.get_context() instead"
        )
    return submit(config, experiment_name=experiment_name, **kwargs)


def _start_run(experiment_id: str, name: str | None, tags: dict[str, Any]) -> str:
    """``tracking.create_run`` for a run a person starts: with the user, source and git tags
    MLflow's UI shows."""
    return tracking.create_run(experiment_id, name, tags, context_tags=True)


def _outputs_dir(outputs: str | os.PathLike | None | bool) -> Path | None:
    if outputs is False:
        return None
    return Path(OUTPUTS_DIR if outputs is None else outputs).absolute()


def _join(artifact_dir: str, name: str) -> str:
    """``dir/name``, or ``name`` when ``dir`` is the artifact root."""
    return name if artifact_dir in ("", ".") else f"{artifact_dir}/{name}"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, complex)


def _say(message: str) -> None:
    print(f"[OfflineRun] {message}", file=sys.stdout)
