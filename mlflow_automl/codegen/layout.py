"""Calls and lists laid out as ``ruff format`` would: on one line when they fit in the line
length, else one argument per line. Generated code is tidy without ruff installed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlflow_automl.codegen.spec import literal

LINE_LENGTH = 100

# The three generated files of a run, under code/.
TRAINING_SCRIPT = "training_script.py"
TRAINING_NOTEBOOK = "training_notebook.ipynb"
SCORING_SCRIPT = "scoring_script.py"


@dataclass
class Call:
    """``name(*args, **kwargs)``; with ``brackets="[]"`` and no name, a list; with no name, a
    tuple. Arguments are Calls or Python source text."""

    name: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    brackets: str = "()"


def listed(values: list[Any]) -> Call:
    """A list of plain values (column names)."""
    return Call("", [literal(v) for v in values], brackets="[]")


def mapping(values: dict[Any, Any]) -> Call:
    """A dict of plain values."""
    return Call("", [f"{literal(k)}: {literal(v)}" for k, v in values.items()], brackets="{}")


def _flat(node: Any) -> str:
    if not isinstance(node, Call):
        return str(node)
    parts = [_flat(a) for a in node.args] + [f"{k}={_flat(v)}" for k, v in node.kwargs.items()]
    return f"{node.name}{node.brackets[0]}{', '.join(parts)}{node.brackets[1]}"


def layout(node: Any, indent: int = 0, prefix: int = 0) -> str:
    """Source of ``node`` starting at column ``indent + prefix`` (``prefix``: text before it on
    the same line, such as ``"NAME = "``); continuation lines are indented from ``indent``."""
    flat = _flat(node)
    if not isinstance(node, Call) or indent + prefix + len(flat) <= LINE_LENGTH:
        return flat
    pad = " " * (indent + 4)
    lines = [f"{pad}{layout(a, indent + 4)}," for a in node.args]
    lines += [f"{pad}{k}={layout(v, indent + 4, len(k) + 1)}," for k, v in node.kwargs.items()]
    body = "\n".join(lines)
    return f"{node.name}{node.brackets[0]}\n{body}\n{' ' * indent}{node.brackets[1]}"


def assignment(name: str, value: str) -> str:
    """``NAME = value``, in parentheses on its own line when too long (as ruff lays it out)."""
    line = f"{name} = {value}"
    return line if len(line) <= 100 else f"{name} = (\n    {value}\n)"


def markdown_of(docstring: str) -> str:
    text = docstring.strip().strip('"').strip()
    title, _, body = text.partition("\n")
    return f"# {title}\n{body}"


def notebook_text(cells: list[Any]) -> str:
    """An ``.ipynb`` of ``cells`` (nbformat v4) for a Python 3 kernel."""
    import nbformat
    from nbformat import v4

    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nbformat.writes(notebook)
