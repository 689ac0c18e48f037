"""`plugins/` installs as `mlflow_automl_plugins`, and the evaluator entry point follows.

Builds the install layout offline (setuptools' `build_py` and `egg_info`, the steps a wheel is
made of) and imports from it in a fresh interpreter whose path holds only that build and the
dependencies: no repository root, so `plugins` can only come from the build.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import importlib.util, json, sys
from importlib.metadata import entry_points
build = sys.argv[1]
import mlflow_automl_plugins.evaluator as evaluator
points = [
    p for p in entry_points(group="mlflow.model_evaluator")
    if p.name == "automl" and str(p.dist._path).startswith(build)
]
print(json.dumps({
    "plugins": importlib.util.find_spec("plugins") is not None,
    "evaluator_file": evaluator.__file__,
    "entry_points": [p.value for p in points],
    "loads": points[0].load() is evaluator.AutoMLEvaluator if points else False,
}))
"""


def _site_packages() -> str:
    return sysconfig.get_paths()["purelib"]


@pytest.mark.slow
def test_built_package_installs_plugins_as_mlflow_automl_plugins(tmp_path):
    build = tmp_path / "lib"
    setup = [sys.executable, "setup.py", "-q"]
    subprocess.run(
        [*setup, "egg_info", "--egg-base", str(tmp_path), "build_py", "--build-lib", str(build)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (egg_info,) = tmp_path.glob("*.egg-info")
    egg_info.rename(build / egg_info.name)  # importlib.metadata finds it beside the packages

    assert (build / "mlflow_automl_plugins" / "evaluator.py").is_file()
    assert not (build / "plugins").exists()

    # -I -S: no PYTHONPATH, no cwd, no site (.pth files: no editable install of the checkout);
    # the dependencies' site-packages comes after the build, as a plain path entry.
    path = f"import sys; sys.path[:0] = [{str(build)!r}]; sys.path.append({_site_packages()!r})"
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", f"{path}\n{_PROBE}", str(build)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["plugins"] is False
    assert probe["evaluator_file"].startswith(str(build / "mlflow_automl_plugins"))
    assert probe["entry_points"] == ["mlflow_automl_plugins.evaluator:AutoMLEvaluator"]
    assert probe["loads"] is True
