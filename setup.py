"""Builds the native code (`kernels._native`, `pipelines.kpi_anomaly._codec`); everything
else is in pyproject.toml."""

from __future__ import annotations

import numpy
from setuptools import Extension, setup

# Warnings on, as the style guide asks, but not -Werror: a newer compiler on a user's machine
# must not turn a new warning into a failed install. tests/kernels/test_build.py compiles
# with -Werror here instead. -ffp-contract=off keeps a*b+c unfused so the kernels round as NumPy
# does on every target (clang fuses by default on aarch64).
setup(
    ext_modules=[
        Extension(
            "kernels._native",
            ["kernels/_native.c"],
            include_dirs=[numpy.get_include()],
            extra_compile_args=["-std=c99", "-O3", "-Wall", "-Wextra", "-ffp-contract=off"],
        ),
        Extension(
            "pipelines.kpi_anomaly._codec",
            ["pipelines/kpi_anomaly/_codec.c"],
            extra_compile_args=["-std=c99", "-O3", "-Wall", "-Wextra", "-ffp-contract=off"],
        ),
    ]
)
