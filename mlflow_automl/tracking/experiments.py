"""MLflow experiments: look up, create, list, archive (soft delete), restore, rename, tag, and
list their runs. Used by the Azure-style ``Experiment`` (``azureml/experiment.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlflow.entities import ViewType

from mlflow_automl.tracking.store import client
from mlflow_automl.tracking.tags import EXPERIMENT_KIND_TAG

# Which experiments (or runs) a listing shows: MLflow's archive is its soft delete.
_VIEWS = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}


def _view(view: str | int) -> int:
    """``active`` / ``deleted`` / ``all``, or MLflow's ``ViewType`` number as it is."""
    return view if isinstance(view, int) else _VIEWS[view]


def get(experiment_id: str) -> Any:
    """The ``mlflow.entities.Experiment`` of ``experiment_id``."""
    return client().get_experiment(experiment_id)


def by_name(name: str) -> Any | None:
    return client().get_experiment_by_name(name)


def create(name: str) -> str:
    """A new experiment; the kind makes the MLflow UI open it on its training-runs view."""
    return client().create_experiment(name, tags={EXPERIMENT_KIND_TAG: "custom_model_development"})


def search(view: str | int = "active") -> Iterator[Any]:
    """Every experiment of the store in ``view`` (``active``, ``deleted`` or ``all``)."""
    token = None
    while True:
        page = client().search_experiments(view_type=_view(view), page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def runs(experiment_id: str, view: str | int = "active") -> Iterator[Any]:
    """The experiment's runs in ``view``, newest first."""
    token = None
    while True:
        page = client().search_runs(
            [experiment_id],
            run_view_type=_view(view),
            order_by=["attributes.start_time DESC"],
            page_token=token,
        )
        yield from page
        token = page.token
        if not token:
            return


def archive(experiment_id: str) -> None:
    client().delete_experiment(experiment_id)


def restore(experiment_id: str) -> None:
    client().restore_experiment(experiment_id)


def rename(experiment_id: str, name: str) -> None:
    client().rename_experiment(experiment_id, name)


def set_tag(experiment_id: str, key: str, value: str) -> None:
    client().set_experiment_tag(experiment_id, key, value)


def delete_tag(experiment_id: str, key: str) -> None:
    client().delete_experiment_tag(experiment_id, key)
