"""The local journal: writes the tracking server could not take in time, kept until it can.

When the background writer cannot reach the tracking server (or the experiment's deadline
comes first), each write it still holds (a child run, a ``best_score`` step, the parent run's
end) is appended as one JSON line to ``<journal dir>/<parent run id>.jsonl``. The journal dir
is ``$MLFLOW_AUTOML_JOURNAL_DIR``, else ``~/.mlflow_automl/journal``. ``sync_journal`` writes the
lines back through the same tracker methods (``tracker.py``; idempotent: a child run
already on the server, e.g. written late by a retry, is not written twice) and removes the file
once all went through. It runs on the next ``submit`` or ``AutoMLRun(run_id)`` against that
tracking URI, and as ``mlflow-automl sync``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

JOURNAL_DIR_ENV = "MLFLOW_AUTOML_JOURNAL_DIR"
_PROBE_TIMEOUT_S = 1.0


def journal_dir() -> Path:
    return Path(os.environ.get(JOURNAL_DIR_ENV) or Path.home() / ".mlflow_automl" / "journal")


def journal_path(parent_run_id: str) -> Path:
    return journal_dir() / f"{parent_run_id}.jsonl"


class Journal:
    """Appends write records of one AutoML run to its JSONL file (thread-safe)."""

    def __init__(self, tracking_uri: str, experiment_id: str, run_id: str, run_name: str):
        self.path = journal_path(run_id)
        self._header = {
            "tracking_uri": tracking_uri,
            "experiment_id": experiment_id,
            "run_id": run_id,
            "run_name": run_name,
        }
        self._lock = threading.Lock()
        self.n_records = 0

    def append(self, call: str, args: tuple, kwargs: dict[str, Any]) -> None:
        record = {**self._header, "call": call, "args": list(args), "kwargs": kwargs}
        line = json.dumps(record, default=_jsonable)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as file:
                file.write(line + "\n")
            self.n_records += 1


def reachable(tracking_uri: str) -> bool:
    """Whether an HTTP tracking server answers its health check within a second (one try, no
    retries); other stores (a local SQLite file) count as reachable."""
    if not tracking_uri.startswith(("http://", "https://")):
        return True
    try:
        url = tracking_uri.rstrip("/") + "/health"
        with urllib.request.urlopen(url, timeout=_PROBE_TIMEOUT_S) as response:
            return response.status == 200
    except OSError:
        return False


def is_connection_error(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it: MLflow wraps requests' errors) is a failure to
    reach the server rather than a refused request."""
    import requests

    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConnectionError | TimeoutError | requests.ConnectionError):
            return True
        if isinstance(seen, requests.Timeout):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass
class SyncResult:
    written: int = 0  # records written to the tracking store
    left: int = 0  # records still in journals (the server is still unreachable, or refused)
    files: int = 0  # journal files for this tracking URI


def pending(tracking_uri: str, run_id: str | None = None) -> list[Path]:
    """Journal files for ``tracking_uri`` (only ``run_id``'s when given)."""
    folder = journal_dir()
    if not folder.is_dir():
        return []
    paths = [folder / f"{run_id}.jsonl"] if run_id else sorted(folder.glob("*.jsonl"))
    return [p for p in paths if p.is_file() and _uri_of(p) == tracking_uri]


def read(path: Path) -> list[dict[str, Any]]:
    """The records of a journal file, in the order they were written."""
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:  # a line cut short when the process died while writing it
            logger.warning("journal %s: skipped an incomplete line", path)
    return records


def keep(path: Path, records: list[dict[str, Any]]) -> None:
    """Rewrites the journal file with ``records`` (those still to write); none: removes it."""
    if records:
        path.write_text("".join(json.dumps(r, default=_jsonable) + "\n" for r in records))
    else:
        path.unlink()


def _uri_of(path: Path) -> str | None:
    with path.open() as file:
        first = file.readline()
    try:
        return json.loads(first)["tracking_uri"]
    except (ValueError, KeyError):
        return None


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)
