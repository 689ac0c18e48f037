"""Azure ML SDK v1's ``Experiment`` class on MLflow experiments (see ``docs/logging_api.md``).

An :class:`Experiment` is a handle on one MLflow experiment, addressed by id; its name, tags and
archive state are read from the tracking store on every access, so handles never go stale.
Azure's *archive* is MLflow's soft delete. ``workspace`` arguments are accepted for source
compatibility and ignored: the MLflow tracking URI is the workspace.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from typing import Any

from mlflow.entities import ViewType
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from mlflow_automl import tracking
from mlflow_automl.azureml.run import TAG_RUN_TYPE, OfflineRun, Run, create_run, submit_automl

__all__ = ["Experiment", "OfflineRun", "Run"]

TAG_ARCHIVED_NAME = "automl.archived_name"  # the name an archived experiment was moved off
TAG_DELETED = "automl.deleted"  # Experiment.delete(): hidden from every listing
_NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,35}$")
_VIEW_TYPES = {
    "activeonly": ViewType.ACTIVE_ONLY,
    "archivedonly": ViewType.DELETED_ONLY,
    "all": ViewType.ALL,
}


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
        return tracking.client().get_experiment(self.id)

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
        found, token = [], None
        while True:
            page = tracking.client().search_experiments(view_type=view, page_token=token)
            found += [
                e
                for e in page
                if (experiment_name is None or e.name == experiment_name)
                and TAG_DELETED not in e.tags
                and _matches(e.tags, tags)
            ]
            token = page.token
            if not token:
                return [Experiment._from_id(e.experiment_id) for e in found]

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
        view = ViewType.ALL if archived else ViewType.ACTIVE_ONLY
        token = None
        while True:
            page = tracking.client().search_runs(
                [self.id],
                run_view_type=view,
                order_by=["attributes.start_time DESC"],
                page_token=token,
            )
            for run in page:
                if (
                    (include_children or MLFLOW_PARENT_RUN_ID not in run.data.tags)
                    and (type is None or run_type(run.data.tags) == type)
                    and _matches(run.data.tags, tags)
                    and _matches(run.data.params, properties)
                ):
                    yield Run(self, run.info.run_id, outputs=False)
            token = page.token
            if not token:
                return

    # --- lifecycle ------------------------------------------------------------------------------
    def archive(self) -> None:
        """Archives (MLflow soft-deletes) the experiment: hidden from default listings, its runs
        with it, until ``reactivate()``."""
        tracking.client().delete_experiment(self.id)

    def reactivate(self, new_name: str | None = None) -> None:
        """Restores an archived experiment, as ``new_name`` or its own name.

        Its own name is the one it had when archived, even if a newer experiment was created
        under that name meanwhile (then that name must be free again, or pass ``new_name``).

        Raises:
            ValueError: The target name is used by another active experiment, or breaks the rule.
        """
        client = tracking.client()
        entity = self._entity()
        if TAG_DELETED in entity.tags:
            raise ValueError(f"experiment {self.id} was deleted, not archived")
        target = new_name or entity.tags.get(TAG_ARCHIVED_NAME, entity.name)
        if new_name is not None:
            _check_name(new_name)
        holder = client.get_experiment_by_name(target)
        if holder is not None and holder.experiment_id != self.id:
            if holder.lifecycle_stage != "deleted":
                raise ValueError(
                    f"cannot reactivate as {target!r}: an active experiment has that name "
                    "(pass new_name=...)"
                )
            _move_aside(holder)
        if entity.lifecycle_stage == "deleted":
            client.restore_experiment(self.id)
        if target != entity.name:
            client.rename_experiment(self.id, target)
        if TAG_ARCHIVED_NAME in entity.tags:
            client.delete_experiment_tag(self.id, TAG_ARCHIVED_NAME)

    @staticmethod
    def delete(workspace: Any, experiment_id: str) -> None:
        """Deletes an experiment as far as the MLflow client can.

        MLflow's client has no permanent delete: the experiment is soft-deleted and tagged
        ``automl.deleted``, which hides it from every ``list()`` view; ``mlflow gc`` removes it
        (and its runs) for good. Its name is free again at once for ``Experiment(name)``.
        """
        client = tracking.client()
        client.set_experiment_tag(experiment_id, TAG_DELETED, "true")
        client.delete_experiment(experiment_id)

    # --- tags -----------------------------------------------------------------------------------
    def tag(self, key: str, value: str | None = None) -> None:
        """Sets experiment tag ``key`` (``None`` → empty string)."""
        self.set_tags({key: value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Adds or changes these tags; other tags are kept."""
        client = tracking.client()
        for key, value in tags.items():
            client.set_experiment_tag(self.id, key, "" if value is None else str(value))

    def remove_tags(self, keys: str | Iterable[str]) -> None:
        """Deletes these experiment tags."""
        client = tracking.client()
        for key in [keys] if isinstance(keys, str) else keys:
            client.delete_experiment_tag(self.id, key)

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
        run_id = create_run(self.id, display_name, {TAG_RUN_TYPE: "interactive"})
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

        ``kwargs`` go to :func:`mlflow_automl.automl.submit` (e.g. ``run_name``).

        Raises:
            TypeError: ``config`` is not an ``AutoMLConfig``.
        """
        return submit_automl(config, self.name, tags=tags, show_output=show_output, **kwargs)


# --- helpers --------------------------------------------------------------------------------------
def run_type(tags: dict[str, str]) -> str:
    """A run's kind for ``get_runs(type=...)``: our tag, else inferred from AutoML's tags."""
    if TAG_RUN_TYPE in tags:
        return tags[TAG_RUN_TYPE]
    kind = tags.get(tracking.TAG_KIND)
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
    client = tracking.client()
    existing = client.get_experiment_by_name(name)
    if existing is not None and existing.lifecycle_stage != "deleted":
        return existing.experiment_id
    if existing is not None:
        # MLflow keeps a deleted experiment's name reserved; free it for the new one.
        _move_aside(existing)
    return client.create_experiment(
        name, tags={tracking.EXPERIMENT_KIND_TAG: "custom_model_development"}
    )


def _move_aside(archived: Any) -> None:
    """Renames an archived experiment to ``<name>-archived-<id>``, keeping it archived.

    MLflow renames only active experiments, hence restore → rename → delete.
    """
    client = tracking.client()
    experiment_id = archived.experiment_id
    client.restore_experiment(experiment_id)
    client.rename_experiment(experiment_id, f"{archived.name}-archived-{experiment_id}")
    if TAG_ARCHIVED_NAME not in archived.tags:
        client.set_experiment_tag(experiment_id, TAG_ARCHIVED_NAME, archived.name)
    client.delete_experiment(experiment_id)
