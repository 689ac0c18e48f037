"""``mlflow-automl history``: run history from the command line, like Azure ML's ``az ml history``.

    mlflow-automl history list -o table --experiment penguins   # or -o tsv, -o json
    mlflow-automl history info RUN_ID            # JSON
    mlflow-automl history last                   # JSON of the most recent run
    mlflow-automl history compare RUN_ID RUN_ID [RUN_ID]
    mlflow-automl history download RUN_ID -d outputs/ [--path charts | --code]
    mlflow-automl history promote RUN_ID model --name penguins-classifier

JSON goes to stdout alone so scripts can parse it; MLflow's logs go to stderr. Bad arguments
(unknown run ids or experiments, a wrong number of runs) exit with a usage error, store
failures with an error message; neither prints a traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

logger = logging.getLogger(__name__)

_OUTPUT = click.Choice(["table", "tsv", "json"])
_MAX_CELL = 40  # characters of a table cell; run ids (32) always fit
_SHORT_ID = 8


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--tracking-uri",
    help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or sqlite:///mlflow.db).",
)
def history(tracking_uri: str | None) -> None:
    """View the run history of MLflow experiments: list, inspect, compare, download, promote."""
    if tracking_uri:
        from mlflow_automl import tracking

        tracking.set_tracking_uri(tracking_uri)


@history.command("list")
@click.option("-o", "--output", type=_OUTPUT, default="table", show_default=True)
@click.option("--experiment", help="Only runs of this experiment (default: all experiments).")
@click.option(
    "--max-results", type=click.IntRange(min=1), default=50, show_default=True, help="Runs shown."
)
def list_command(output: str, experiment: str | None, max_results: int) -> None:
    """List runs, newest first."""
    from mlflow_automl.tracking import history as runs

    with _errors():
        frame = runs.list_runs(experiment, max_results=max_results)
    records = _records(frame)
    if output == "json":
        _echo_json(records)
        return
    metric_columns = frame.attrs.get("metric_columns", [])
    rows = [
        {
            "run_id": r["run_id"],
            "run_name": r["run_name"],
            "experiment": r["experiment"],
            "kind": r["kind"],
            "status": r["status"],
            "start_time": _short_time(r["start_time"]),
            "duration": _hms(r["duration_s"]),
            "parent": (r["parent_run_id"] or "")[:_SHORT_ID],
            "metric": r["primary_metric"],
            "score": r["score"],
            **{column: r[column] for column in metric_columns},
        }
        for r in records
    ]
    if output == "tsv":
        # Every value in full, for scripts: the times as stored, seconds as numbers.
        rows = [
            {**row, "start_time": r["start_time"], "duration": r["duration_s"]}
            for row, r in zip(rows, records)
        ]
    click.echo(_rows(rows, output) if rows else "No runs.")


@history.command()
@click.argument("run_id")
@click.option("-o", "--output", type=_OUTPUT, default="json", show_default=True)
def info(run_id: str, output: str) -> None:
    """Details about one run."""
    from mlflow_automl.tracking import history as runs

    with _errors():
        _echo_run(runs.run_info(run_id), output)


@history.command()
@click.option("--experiment", help="Most recent run of this experiment (default: of all).")
@click.option("-o", "--output", type=_OUTPUT, default="json", show_default=True)
def last(experiment: str | None, output: str) -> None:
    """Details about the most recent run."""
    from mlflow_automl.tracking import history as runs

    with _errors():
        _echo_run(runs.last_run(experiment), output)


@history.command()
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID RUN_ID [RUN_ID]")
@click.option("-o", "--output", type=_OUTPUT, default="table", show_default=True)
def compare(run_ids: tuple[str, ...], output: str) -> None:
    """Compare the metrics and params of two or three runs."""
    from mlflow_automl.tracking import history as runs

    with _errors():
        frame = runs.compare_runs(list(run_ids))
    if output == "json":
        names = [column.partition(" ")[2] or None for column in frame.columns]
        columns = dict(zip(frame.columns, frame.attrs["run_ids"]))
        values = {
            row: {columns[c]: _plain(v) for c, v in frame.loc[row].items()} for row in frame.index
        }
        _echo_json(
            {
                "runs": [
                    {"run_id": r, "run_name": n} for r, n in zip(frame.attrs["run_ids"], names)
                ],
                "metrics": _section(values, "metric:"),
                "params": _section(values, "param:"),
            }
        )
        return
    rows = [{"": row, **frame.loc[row].to_dict()} for row in frame.index]
    click.echo(_rows(rows, output) if rows else "The runs have no metrics or params.")


@history.command()
@click.argument("run_id")
@click.option(
    "-d", "--dest", required=True, type=click.Path(file_okay=False), help="Destination folder."
)
@click.option("--path", "artifact_path", help="Only this artifact file or folder.")
@click.option("--code", is_flag=True, help="Only the generated code (the code/ folder).")
def download(run_id: str, dest: str, artifact_path: str | None, code: bool) -> None:
    """Download the artifacts of a run into DEST; prints the local path."""
    from mlflow_automl.codegen import CODE_DIR
    from mlflow_automl.tracking import history as runs

    if code and artifact_path:
        raise click.UsageError("--code and --path are exclusive")
    artifact_path = CODE_DIR if code else artifact_path
    with _errors():
        local = runs.download_run(run_id, dest, artifact_path)
    click.echo(local)


@history.command()
@click.argument("run_id")
@click.argument("artifact")
@click.option("--name", "model_name", required=True, help="Registered model name.")
def promote(run_id: str, artifact: str, model_name: str) -> None:
    """Register a model that a run logged, such as ARTIFACT=model, in the model registry."""
    from mlflow_automl.tracking import history as runs

    with _errors():
        version = runs.promote(run_id, artifact, model_name)
    click.echo(f"Registered {version['name']} version {version['version']}", err=True)
    _echo_json(version)


# --- output --------------------------------------------------------------------------------------
@contextmanager
def _errors() -> Iterator[None]:
    """Errors as one-line messages: bad arguments exit 2, anything else 1, never a traceback."""
    try:
        yield
    except ValueError as exc:  # history's "unknown run id", "compare takes 2 or 3 ..."
        raise click.UsageError(str(exc)) from exc
    except click.ClickException:
        raise
    except Exception as exc:
        logger.debug("history command failed", exc_info=True)
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc


def _echo_json(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2, default=_plain))


def _echo_run(details: dict[str, Any], output: str) -> None:
    if output == "json":
        _echo_json(details)
        return
    rows = [
        {"field": k, "value": v}
        for k, v in details.items()
        if not isinstance(v, dict | list) and v is not None
    ]
    for section in ("properties", "params", "metrics", "tags"):
        rows += [
            {"field": f"{section}.{k}", "value": v}
            for k, v in details[section].items()
            if v is not None
        ]
    rows += [{"field": "artifact", "value": path} for path in details["artifacts"]]
    rows += [
        {"field": "logged_model", "value": f"{m['name']} ({m['model_uri']})"}
        for m in details["logged_models"]
    ]
    click.echo(_tsv(rows, header=False) if output == "tsv" else _table(rows, False, 100))


def _rows(rows: Sequence[dict[str, Any]], output: str) -> str:
    return _tsv(rows) if output == "tsv" else _table(rows)


def _tsv(rows: Sequence[dict[str, Any]], header: bool = True) -> str:
    """Tab-separated values, nothing cut; a missing value is an empty field."""

    def field(value: Any) -> str:
        value = _plain(value)
        text = "" if value is None else repr(value) if isinstance(value, float) else str(value)
        return " ".join(text.split("\t")).replace("\n", " ")

    columns = list(rows[0])
    lines = [columns] if header else []
    lines += [[field(row[c]) for c in columns] for row in rows]
    return "\n".join("\t".join(line) for line in lines)


def _table(rows: Sequence[dict[str, Any]], header: bool = True, max_cell: int = _MAX_CELL) -> str:
    """Aligned columns: numbers right, text left, long cells cut with an ellipsis."""
    columns = list(rows[0])
    cells = [[_cell(row[c], max_cell) for c in columns] for row in rows]
    numeric = [all(_is_number(row[c]) for row in rows) for c in columns]
    lines = [[str(c) for c in columns], ["-" * len(str(c)) for c in columns]] if header else []
    widths = [max(len(line[i]) for line in lines + cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(
            text.rjust(width) if right else text.ljust(width)
            for text, width, right in zip(line, widths, numeric)
        ).rstrip()
        for line in lines + cells
    )


def _cell(value: Any, max_cell: int) -> str:
    value = _plain(value)
    if value is None:
        return ""
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return text if len(text) <= max_cell else text[: max_cell - 1] + "…"


def _is_number(value: Any) -> bool:
    value = _plain(value)
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars as Python ones, NaN and pandas' missing values as None."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    import pandas as pd

    return None if pd.api.types.is_scalar(value) and pd.isna(value) else value


def _records(frame: Any) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _section(values: dict[str, dict[str, Any]], prefix: str) -> dict[str, dict[str, Any]]:
    return {k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)}


def _short_time(iso: str | None) -> str | None:
    """``2024-05-01T10:00:00.123+00:00`` → ``2024-05-01 10:00:00`` (UTC)."""
    return iso[:19].replace("T", " ") if iso else None


def _hms(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:04.1f}"


if __name__ == "__main__":  # pragma: no cover
    history()
