"""The layering rules of ARCHITECTURE.md, checked on the package's source (``ast``).

Layers, bottom up: ``_version.py`` < ``tracking/`` (the only code that calls MLflow's tracking
APIs) < the engine (every other module) < ``azureml/`` (Azure's API on top of the engine) <
``cli/`` (the command line; ``mlflow_automl/project.py`` is its MLproject shim). A module imports
its own layer or lower ones; the package's ``__init__`` (lazy public names) stands above all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mlflow_automl.tracking import tags
from tools.import_graph import PACKAGE_ROOT, cycles, graph, imports, modules

PACKAGE = "mlflow_automl"
LAYERS = ("base", "tracking", "engine", "azureml", "cli", "api")

# mlflow imports allowed outside tracking/: a model signature describes what the ONNX graph
# takes (MLflow's onnx flavor needs one); building it calls nothing on a tracking store.
ALLOWED_MLFLOW_IMPORTS = {
    (f"{PACKAGE}.onnx_export", "mlflow.models"),
    (f"{PACKAGE}.onnx_export", "mlflow.types"),
}
# Literals that look like tag keys and are not: a value of tag automl.run_type (Azure's
# run type of a trial, ``Experiment.get_runs(type="automl.trial")``).
NOT_TAG_KEYS = {"automl.trial"}


def layer(module: str) -> str:
    parts = module.split(".")
    if module == PACKAGE:
        return "api"
    if module == f"{PACKAGE}._version":  # a constant every layer may read
        return "base"
    if parts[1] in ("tracking", "azureml", "cli"):
        return parts[1]
    if module == f"{PACKAGE}.project":  # python -m mlflow_automl.project: the cli's shim
        return "cli"
    return "engine"


SOURCES = modules()
KNOWN = set(SOURCES)


def _all_imports():
    for module, path in SOURCES.items():
        for item in imports(module, path, KNOWN):
            yield item, path


def _where(item, path: Path) -> str:
    return f"{path.relative_to(PACKAGE_ROOT.parent)}:{item.line}"


def test_only_tracking_imports_mlflow():
    found = [
        f"{_where(item, path)} imports {item.target}"
        for item, path in _all_imports()
        if (item.target == "mlflow" or item.target.startswith("mlflow."))
        and layer(item.importer) != "tracking"
        and (item.importer, item.target) not in ALLOWED_MLFLOW_IMPORTS
    ]
    assert not found, "MLflow is called through mlflow_automl.tracking only:\n" + "\n".join(found)


def test_no_raw_mlflow_client_outside_tracking():
    """``tracking.client()`` hands out MLflow's client: outside tracking/ it would be an MLflow
    call that no import shows."""
    found = []
    for module, path in SOURCES.items():
        if layer(module) == "tracking":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "client"
                and isinstance(node.value, ast.Name)
                and node.value.id == "tracking"
            ):
                found.append(f"{path.relative_to(PACKAGE_ROOT.parent)}:{node.lineno}")
    assert not found, "tracking.client() used outside tracking/: " + ", ".join(found)


@pytest.mark.parametrize("lower", LAYERS)
def test_layers_import_only_downwards(lower):
    """No module imports a layer above its own: the engine never imports azureml or cli, and
    tracking/ (which only wraps MLflow) imports no engine module; the package root is read by
    tracking for its own path (the logged model's code)."""
    rank = {name: i for i, name in enumerate(LAYERS)}
    found = [
        f"{_where(item, path)} ({layer(item.importer)}) imports {item.target} "
        f"({layer(item.target)})"
        for item, path in _all_imports()
        if layer(item.importer) == lower
        and item.target in KNOWN
        and item.target != PACKAGE
        and rank[layer(item.target)] > rank[lower]
    ]
    assert not found, "\n".join(found)


def _tag_values() -> set[str]:
    return {
        value
        for name, value in vars(tags).items()
        if name.isupper() and isinstance(value, str) and "." in value
    }


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes of the module, classes and functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _looks_like_key(text: str) -> bool:
    return (
        text.startswith(("automl.", "mlflow."))
        and " " not in text
        and not text.endswith((".py", "."))  # a path, or a sentence's end
    )


def test_no_tag_literal_outside_tracking():
    """Tag keys are written and read through tracking.tags constants: a literal equal to one
    of them, or shaped like one (``"automl.x"``, ``"mlflow.x"``, ``f"automl.{...}"``), is
    refused outside tracking/."""
    values = _tag_values()
    found = []
    for module, path in SOURCES.items():
        if layer(module) == "tracking":
            continue
        tree = ast.parse(path.read_text())
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if id(node) in skip or text in NOT_TAG_KEYS:
                    continue
                if text in values or _looks_like_key(text):
                    found.append(f"{path.relative_to(PACKAGE_ROOT.parent)}:{node.lineno} {text!r}")
            elif isinstance(node, ast.JoinedStr) and node.values:
                first = node.values[0]
                if (
                    isinstance(first, ast.Constant)
                    and isinstance(first.value, str)
                    and first.value in ("automl.", "mlflow.")
                ):
                    found.append(f"{path.relative_to(PACKAGE_ROOT.parent)}:{node.lineno} f-string")
    assert not found, "tag literals outside tracking/:\n" + "\n".join(found)


def test_no_import_cycle():
    """``python -m tools.import_graph`` shows the same; function-level imports count."""
    assert cycles(graph()) == []


def test_the_rules_see_a_violation(tmp_path):
    """The checks are not vacuous: a module in a package that breaks each rule is caught."""
    package = tmp_path / PACKAGE
    (package / "tracking").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "tracking" / "__init__.py").write_text("")
    (package / "a.py").write_text(
        "import mlflow\nfrom mlflow_automl import b\n\ndef f():\n    from mlflow_automl import a\n"
    )
    (package / "b.py").write_text("def g():\n    import mlflow_automl.a\n")
    found = modules(package)
    known = set(found)
    targets = {item.target for item in imports(f"{PACKAGE}.a", found[f"{PACKAGE}.a"], known)}
    assert {"mlflow", f"{PACKAGE}.b"} <= targets
    assert cycles(graph(package)) == [[f"{PACKAGE}.a", f"{PACKAGE}.b"]]
