"""The framework worker runs in an interpreter without mlflow_automl (AutoGluon's own venv):
it imports neither our package nor MLflow; and its best-so-far curve."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

from benchmarks import frameworks

REPO = Path(__file__).resolve().parents[2]


def test_worker_module_imports_neither_mlflow_nor_our_package():
    probe = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('mlflow', 'mlflow_automl', 'benchmarks', 'sklearn', 'flaml')))"
    )
    script = str(REPO / "benchmarks" / "frameworks.py")
    output = subprocess.run(
        [sys.executable, "-I", "-c", probe, script],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        timeout=120,
    )
    assert output.stdout.strip() == "[]"


def test_best_so_far_keeps_each_improvement_in_time_order():
    points = [(12.0, 0.7), (3.0, 0.5), (7.0, float("nan")), (9.0, 0.45), (20.0, 0.7), (25.0, 0.8)]
    assert frameworks.best_so_far(points) == [[3.0, 0.5], [12.0, 0.7], [25.0, 0.8]]
    assert frameworks.best_so_far([]) == []


def test_installed_asks_the_given_interpreter(tmp_path):
    """A bare virtualenv (no packages) has no FLAML, although this interpreter has it."""
    venv.create(tmp_path / "bare", with_pip=False)
    bare = str(tmp_path / "bare" / "bin" / "python")
    flaml = frameworks.FRAMEWORKS["flaml"]
    assert flaml.installed() and flaml.installed(sys.executable)
    assert not flaml.installed(bare)
    assert not flaml.installed(str(tmp_path / "no-such-python"))
