"""The native kernels and the KPI codec compile warning-free as plain C99 with -Wall -Wextra.

setup.py builds without -Werror so that a user's newer compiler cannot fail an install over a
new warning; this test holds the line with -Werror on the compiler Python was built with.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sysconfig
from pathlib import Path

import numpy as np
import pytest

import kernels
import pipelines.kpi_anomaly

SOURCES = [
    Path(kernels.__file__).parent / "_native.c",
    Path(pipelines.kpi_anomaly.__file__).parent / "_codec.c",
]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_the_native_source_compiles_without_a_warning(tmp_path: Path, source: Path) -> None:
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    if shutil.which(compiler[0]) is None:
        pytest.skip(f"no C compiler ({compiler[0]}) on this machine")
    result = subprocess.run(
        [
            *compiler,
            "-std=c99",
            "-O3",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-ffp-contract=off",
            "-fPIC",
            f"-I{sysconfig.get_paths()['include']}",
            f"-I{np.get_include()}",
            "-c",
            str(source),
            "-o",
            str(tmp_path / f"{source.stem}.o"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
