"""Imports point down the house only: the foundation imports nothing of ours, the accelerator
server and the pipelines import the foundation and the shared floor but never each other, offline
training code and the entry points sit on top, and a pipeline process never loads ONNX Runtime."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FLOORS: dict[str, frozenset[str]] = {
    # package: the packages of ours it may import (itself always)
    "edge": frozenset(),
    "kernels": frozenset(),
    "inference_protocol": frozenset(),
    "accel": frozenset({"edge", "kernels", "inference_protocol"}),
    "pipelines": frozenset({"edge", "kernels", "inference_protocol"}),
    "training": frozenset({"edge", "kernels", "inference_protocol", "pipelines", "edgectl"}),
    "edgectl": frozenset({"edge", "kernels", "inference_protocol", "accel", "pipelines"}),
}
"""`training` reads the synthetic traffic of `edgectl`; `edgectl` never imports `training`."""


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """Our top-level packages a module imports, at module level or inside functions, with the line."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update((name.split(".")[0], node.lineno) for name in names if name.split(".")[0] in FLOORS)
    return found


def upward_imports(package: str) -> list[str]:
    allowed = FLOORS[package] | {package}
    return sorted(
        f"{path.relative_to(ROOT)}:{line} imports {imported}"
        for path in (ROOT / package).rglob("*.py")
        for imported, line in imported_packages(path)
        if imported not in allowed
    )


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_a_package_imports_only_the_floors_below_it(package: str) -> None:
    assert upward_imports(package) == []


def test_the_walk_finds_an_upward_import(tmp_path: Path) -> None:
    """The check itself can fail: a foundation module that imports a pipeline is reported."""
    module = tmp_path / "settings.py"
    module.write_text("import os\nfrom pipelines.registry import build_pipeline\n\ndef f():\n    import accel.server\n")
    assert imported_packages(module) == {("pipelines", 2), ("accel", 5)}


def test_every_package_of_the_project_has_a_floor() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name not in {"tests", "build"}}
    assert packages == set(FLOORS)


def test_a_pipeline_process_never_loads_onnx_runtime_or_the_server() -> None:
    """What `edge pipeline run` imports to run any pipeline leaves ONNX Runtime and the
    accelerator server out of `sys.modules`."""
    probe = (
        "import sys\n"
        "import pipelines.main, pipelines.registry\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in {'onnxruntime', 'accel', 'onnx'})\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == ""
