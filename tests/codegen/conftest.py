"""Data for the code-generation proofs: palmerpenguins plus a timestamp, free text and a
high-cardinality band code, so the scripts carry every featurizer."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest


@pytest.fixture(scope="session")
def penguins_plus(tmp_path_factory) -> str:
    """CSV path of the enriched penguins (344 rows)."""
    from benchmarks.codegen_fidelity import penguins_plus as enriched

    frame = enriched()
    i = np.arange(len(frame))
    frame["weight"] = 1.0 + (i % 3)
    path = tmp_path_factory.mktemp("data") / "penguins_plus.csv"
    frame.to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="session")
def script_store(tmp_path_factory) -> str:
    """One SQLite store for every generated script's run (its tables are created once)."""
    return f"sqlite:///{tmp_path_factory.mktemp('scripts') / 'mlflow.db'}"


def _formatted(files: dict[str, str], folder) -> None:
    """``ruff format --check``: the templates already lay code out as ruff does."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    check = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--diff", "--line-length", "100"]
        + [str(folder / name) for name in files],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.fixture
def assert_formatted():
    """``assert_formatted(files, folder)``: the generated files are laid out as ruff formats
    them."""
    return _formatted
