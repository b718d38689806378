"""Kernels for the pipelines' hot paths, and the one place that picks their implementation.

`native` is the C99 extension `accel.kernels._native`, built by the package's own build;
`reference` is the NumPy code in `accel.kernels.reference` that defines what each kernel computes.
The environment variable `EDGE_KERNELS` chooses, read once at import:

- unset or `auto`: native if the extension is built, otherwise the reference;
- `native`: native, and importing this module fails if the extension is not built;
- `reference`: the reference, to rule the extension out when chasing a bug.

`IMPLEMENTATION` says which one loaded; the kernels are module attributes (`window_features`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

import numpy as np
import numpy.typing as npt

ImplementationName = Literal["native", "reference"]
ENV_VAR = "EDGE_KERNELS"


class WindowFeaturesKernel(Protocol):
    """Scores a batch of KPI rows against per-cell windows, then appends each row to its window.

    State, updated in place: `values[cells, window, n_kpis]` holds each cell's ring buffer (NaN
    where empty) and `counts[cells]` how many samples each cell has ever appended; sample `i` of a
    cell lives at `values[cell, i % window]`. Row `r` belongs to cell `slots[r]` and brings
    `kpis[r]` (NaN: missing) and time features `hours[r]`. Rows are handled in order, so a row
    sees the rows of its cell before it in the same batch.

    For each row and KPI, over the non-NaN samples held (`n` of them): the mean, and the sample
    standard deviation floored at `std_floor`. `out[r]` (float32) is, in this order: the KPIs with
    NaN filled by the window mean (0 without one); the deviations `(kpi - mean) / std` where
    `n >= min_history` and the KPI is not NaN (0 elsewhere); `hours[r]`; everything clipped to
    `[-clip, clip]` (NaN stays NaN). `history[r]` is the samples held before row `r`.

    Every argument is checked before any state changes: a wrong type or dtype raises TypeError;
    a wrong shape, non-contiguous or read-only output array, overlapping arrays, slot out of range,
    negative count, `min_history` under 1, or a non-positive `std_floor` or `clip` raises
    ValueError. The message names the argument.
    """

    def __call__(
        self,
        values: npt.NDArray[np.float64],
        counts: npt.NDArray[np.int64],
        slots: npt.NDArray[np.int64],
        kpis: npt.NDArray[np.float64],
        hours: npt.NDArray[np.float64],
        std_floor: npt.NDArray[np.float64],
        min_history: int,
        clip: float,
        out: npt.NDArray[np.float32],
        history: npt.NDArray[np.int64],
    ) -> None: ...


@dataclass(frozen=True)
class KernelSet:
    """One implementation of every kernel, e.g. `load_kernels("reference").window_features`."""

    name: ImplementationName
    window_features: WindowFeaturesKernel


def load_kernels(name: ImplementationName) -> KernelSet:
    """The kernels of one implementation, whatever `EDGE_KERNELS` says (benchmarks and tests).

    Raises:
        ImportError: `native` was asked for and the extension is not built.
    """
    if name == "native":
        from accel.kernels import _native

        return KernelSet("native", _native.window_features)
    if name == "reference":
        from accel.kernels import reference

        return KernelSet("reference", reference.window_features)
    raise ValueError(
        f"kernel implementation must be one of {get_args(ImplementationName)}, got {name!r}"
    )


def select_kernels(environ: Mapping[str, str]) -> KernelSet:
    """The implementation `EDGE_KERNELS` in `environ` asks for (see the module docstring)."""
    choice = environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if choice == "auto":
        try:
            return load_kernels("native")
        except ImportError:
            return load_kernels("reference")
    names: dict[str, ImplementationName] = {name: name for name in get_args(ImplementationName)}
    if choice in names:
        return load_kernels(names[choice])
    raise ValueError(f"{ENV_VAR} must be auto, native or reference, got {environ[ENV_VAR]!r}")


KERNELS = select_kernels(os.environ)
IMPLEMENTATION: ImplementationName = KERNELS.name
window_features: WindowFeaturesKernel = KERNELS.window_features

__all__ = [
    "ENV_VAR",
    "IMPLEMENTATION",
    "KERNELS",
    "ImplementationName",
    "KernelSet",
    "WindowFeaturesKernel",
    "load_kernels",
    "select_kernels",
    "window_features",
]
