"""The packages type-check under `mypy --strict` (with the pydantic plugin), as the
style guide asks; generated protocol code is excluded by the project's mypy settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("edge", "kernels", "inference_protocol", "accel", "pipelines", "training", "edgectl")


def test_the_packages_are_mypy_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", *PACKAGES],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
