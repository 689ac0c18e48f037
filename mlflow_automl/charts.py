"""Charts of a model's predictions, as PNG images plus the data they were drawn from.

Everything here is computed from predictions only (validation / out-of-fold scores and the true
labels), so the same charts serve child runs, the best model and the model-evaluator plugin.
Figures are drawn with matplotlib's object-oriented API (no pyplot state, no GUI backend).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Chart:
    """One chart: ``name`` (file stem), the PNG bytes, and the JSON-serializable data behind it."""

    name: str
    png: bytes = field(repr=False)
    data: dict[str, Any]


def figure_to_png(figure: Any, dpi: int = 90) -> bytes:
    """Renders a ``matplotlib.figure.Figure`` to PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def new_figure(width: float = 6.0, height: float = 4.5) -> Any:
    """A fresh figure that is not registered with pyplot (safe in threads and servers)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))
