"""Calls and lists laid out as ``ruff format`` would: on one line when they fit in the line
length, else one argument per line. Generated code is tidy without ruff installed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlflow_automl.codegen.spec import literal

LINE_LENGTH = 100


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
