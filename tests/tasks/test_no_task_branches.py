"""No module outside ``mlflow_automl/tasks/`` compares a task name: each asks its task object.

Task-specific behaviour lives in one strategy per task (``mlflow_automl/tasks/``); a
``task == "forecasting"`` anywhere else is the scattered branch that design removed. Membership
in a learner's declared tasks (``task in learner.tasks``) is data, not a branch, and allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mlflow_automl

TASK_NAMES = {"classification", "regression", "forecasting"}
TASK_CONSTANTS = {"CLASSIFICATION", "REGRESSION", "FORECASTING"}
PACKAGE = Path(mlflow_automl.__file__).parent
PLUGINS = PACKAGE.parent / "plugins"


def _is_task_name(node: ast.AST) -> bool:
    """A task name literal or constant."""
    if isinstance(node, ast.Constant):
        return node.value in TASK_NAMES
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
    return name in TASK_CONSTANTS


def _is_task_value(node: ast.AST) -> bool:
    """An expression that holds a task name: ``task``, ``x.task``, ``v["task"]``."""
    if isinstance(node, ast.Name):
        return node.id == "task"
    if isinstance(node, ast.Attribute):
        return node.attr == "task"
    if isinstance(node, ast.Subscript):
        key = node.slice
        return isinstance(key, ast.Constant) and key.value == "task" or _is_task_value(key)
    return False


def _is_literal_of_names(node: ast.AST) -> bool:
    return isinstance(node, ast.Tuple | ast.List | ast.Set) and any(
        _is_task_name(e) for e in node.elts
    )


def _is_branch(op: ast.cmpop, left: ast.AST, right: ast.AST) -> bool:
    """``x == "forecasting"``, ``task != other``, ``task in ("regression", ...)``; not
    ``task in learner.tasks`` (a declaration) nor ``v["task"] is None``."""
    if isinstance(op, ast.In | ast.NotIn):
        return _is_literal_of_names(right)
    if _is_task_name(left) or _is_task_name(right):
        return True
    return isinstance(op, ast.Eq | ast.NotEq) and (_is_task_value(left) or _is_task_value(right))


def task_branches(source: str) -> list[int]:
    """Line numbers of comparisons against a task name in ``source``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands[:-1], operands[1:], strict=True):
            if _is_branch(op, left, right):
                lines.append(node.lineno)
    return sorted(set(lines))


def _modules() -> list[Path]:
    files = [*PACKAGE.rglob("*.py"), *PLUGINS.glob("*.py")]
    return [f for f in files if "tasks" not in f.relative_to(PACKAGE.parent).parts[:2]]


def test_the_checker_finds_the_branches_it_is_meant_to_find():
    source = (
        "if task == 'forecasting': pass\n"
        "if config.task != FORECASTING: pass\n"
        "if v['task'] == CLASSIFICATION: pass\n"
        "x = task in ('regression', 'forecasting')\n"
        "y = _base(task) == REGRESSION\n"
        "ok = task in learner.tasks\n"
        "declared = REGRESSION in cls.estimators\n"
        "unset = v['task'] is None\n"
        "fine = metric == 'accuracy'\n"
    )
    assert task_branches(source) == [1, 2, 3, 4, 5]


def test_no_task_name_comparison_outside_the_tasks_package():
    found = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in _modules()
        if (lines := task_branches(path.read_text()))
    }
    assert found == {}, f"task-name branches outside mlflow_automl/tasks/: {found}"
