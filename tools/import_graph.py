"""The package's import graph, read from its source with ``ast``, and its cycles.

    python -m tools.import_graph             # the cycles (exit status 1 if there is one)
    python -m tools.import_graph --edges     # every edge, "importer -> imported"

Every import counts, also those inside functions (they are cycles deferred, not removed);
imports under ``if TYPE_CHECKING:`` do not (they never run). ``from a import b`` is an edge to
module ``a.b`` when that is a module of the package, else to ``a``. ``tests/test_layering.py``
uses the same functions.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "mlflow_automl"


@dataclass(frozen=True)
class Import:
    """One import statement's target, as written (any package) or resolved (ours)."""

    importer: str
    target: str  # a dotted module name; for ``from a import b``: ``a.b`` if a module, else ``a``
    names: tuple[str, ...]  # what ``from ... import`` took (empty for ``import a``)
    line: int


def modules(root: Path = PACKAGE_ROOT) -> dict[str, Path]:
    """Dotted name -> source file, for every module of the package at ``root``."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(module: str, path: Path, known: set[str]) -> Iterator[Import]:
    """The imports that run in ``module`` (anywhere in it, ``if TYPE_CHECKING:`` excepted)."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the importer's package up
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names = tuple(alias.name for alias in node.names)
            submodules = [f"{base}.{name}" for name in names if f"{base}.{name}" in known]
            for target in submodules:
                yield Import(module, target, (target.rpartition(".")[2],), node.lineno)
            rest = tuple(name for name in names if f"{base}.{name}" not in known)
            if rest or not submodules:
                yield Import(module, base, rest, node.lineno)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, skipping the bodies of ``if TYPE_CHECKING:``."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                pending.extend(child.orelse)
                continue
            pending.append(child)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def graph(root: Path = PACKAGE_ROOT) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    found = modules(root)
    known = set(found)
    edges: dict[str, set[str]] = {name: set() for name in found}
    for name, path in found.items():
        for item in imports(name, path, known):
            if item.target in known and item.target != name:
                edges[name].add(item.target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(edges) + 100))
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.import_graph", description=__doc__)
    parser.add_argument("--edges", action="store_true", help="print every edge")
    args = parser.parse_args(argv)
    edges = graph()
    if args.edges:
        for importer in sorted(edges):
            for target in sorted(edges[importer]):
                print(f"{importer} -> {target}")
    found = cycles(edges)
    for component in found:
        print("cycle: " + " <-> ".join(component))
    n_edges = sum(map(len, edges.values()))
    print(f"{len(edges)} modules, {n_edges} edges, {len(found)} cycle(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
