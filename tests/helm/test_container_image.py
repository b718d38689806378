"""The image recipe: multi-stage, non-root, `edge` as entrypoint, and a lean build context."""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            if current.strip():
                logical.append(current.strip())
            current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from:]


def _exec_form(name: str) -> list[str]:
    (arguments,) = [args for instruction, args in _final_stage() if instruction == name]
    parsed: list[str] = json.loads(arguments)
    return parsed


def test_the_image_entrypoint_is_the_edge_cli_and_defaults_to_help() -> None:
    assert _exec_form("ENTRYPOINT") == ["edge"]
    assert _exec_form("CMD") == ["--help"]


def test_the_image_is_built_in_a_builder_stage_and_runs_on_python_3_11_slim() -> None:
    instructions = _instructions()
    args = {
        a.split("=", 1)[0]: a.split("=", 1)[1] for n, a in instructions if n == "ARG" and "=" in a
    }
    stages = [
        a.replace("${PYTHON_IMAGE}", args["PYTHON_IMAGE"]) for n, a in instructions if n == "FROM"
    ]
    assert stages == ["python:3.11-slim AS builder", "python:3.11-slim AS runtime"]
    builder_runs = " ".join(
        a for n, a in instructions[: instructions.index(_final_stage()[0])] if n == "RUN"
    )
    assert "pip install" in builder_runs and "python -m venv" in builder_runs
    assert any(n == "COPY" and a.startswith("--from=builder /opt/venv") for n, a in _final_stage())


def test_the_image_runs_as_numeric_non_root_user_10001() -> None:
    (user,) = [a for n, a in _final_stage() if n == "USER"]
    assert user.split(":")[0] == "10001"


def test_the_build_does_not_pin_the_builder_to_the_build_host_platform() -> None:
    # Wheels and C kernels are per-architecture, so every stage builds on the target platform.
    assert not [a for n, a in _instructions() if n == "FROM" and "BUILDPLATFORM" in a]


def _excluded(path: str) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (last matching rule wins)."""
    excluded = False
    for raw in DOCKERIGNORE.read_text().splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negated, pattern = rule.startswith("!"), rule.lstrip("!")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if pattern.startswith("**/"):
            matched = any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
        else:
            matched = any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes)
        if matched:
            excluded = not negated
    return excluded


def test_the_build_context_leaves_out_the_venv_git_caches_tests_and_local_builds() -> None:
    for path in [
        ".venv/bin/python",
        ".git/HEAD",
        ".tools/bin/helm",
        "tests/helm/conftest.py",
        "accel/__pycache__/server.cpython-311.pyc",
        ".pytest_cache/v/x",
        ".mypy_cache/x",
        "kernels/_native.cpython-311-x86_64-linux-gnu.so",
        "helm/sovereign-edge/Chart.yaml",
        "training/kpi_anomaly/dataset.py",
    ]:
        assert _excluded(path), path


def test_the_build_context_keeps_what_pip_install_needs() -> None:
    for path in [
        "pyproject.toml",
        "README.md",
        "edgectl/cli.py",
        "accel/server.py",
        "pipelines/__init__.py",
        "kernels/reference.py",
        "inference_protocol/service.py",
        "edge/settings.py",
    ]:
        assert not _excluded(path), path


def test_edge_help_runs_from_the_same_environment_as_the_tests() -> None:
    # The image's ENTRYPOINT is the `edge` console script; here, the one installed with the tests.
    beside_python = Path(sys.executable).parent / "edge"
    edge = str(beside_python) if beside_python.exists() else shutil.which("edge")
    assert edge, f"no `edge` console script beside {sys.executable} or on PATH; install the project"
    result = subprocess.run([edge, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout.lower()
