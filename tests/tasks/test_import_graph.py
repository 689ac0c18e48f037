"""The task strategies and the data preparation they own import in one direction: no cycle.

The graph is built from each module's imports (all of them, lazy ones inside functions too;
only ``if TYPE_CHECKING:`` blocks are left out), so a cycle hidden in a function body counts.
The task registry (``tasks/__init__.py``) names its classes as strings on purpose: it is how the
lower layers reach a task without importing the layer above them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mlflow_automl

PACKAGE = Path(mlflow_automl.__file__).parent
# Modules whose cycles this redesign removed (data.py <-> forecasting/data.py) and the task
# modules themselves.
OWNED = ("mlflow_automl.tasks", "mlflow_automl.data", "mlflow_automl.frames")
OWNED_EXACT = {"mlflow_automl.forecasting.data"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST, modules: set[str]) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m in modules}


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: _imports(ast.parse(p.read_text()), set(files)) for name, p in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def _owned(module: str) -> bool:
    return module in OWNED_EXACT or any(module == o or module.startswith(o + ".") for o in OWNED)


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [{"a", "b", "c"}]


def test_tasks_and_data_preparation_are_in_no_import_cycle():
    involved = [sorted(c) for c in cycles(import_graph()) if any(map(_owned, c))]
    assert involved == []


@pytest.mark.parametrize("module", ["forecasting/data.py", "forecasting/charts.py"])
def test_forecasting_builds_on_public_helpers_only(module):
    """Forecasting's data preparation and charts import no private name of another module."""
    tree = ast.parse((PACKAGE / module).read_text())
    private = [
        f"{node.module}.{a.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mlflow_automl")
        for a in node.names
        if a.name.startswith("_")
    ]
    assert private == []
