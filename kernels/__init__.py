"""Kernels for the pipelines' hot paths, and the one place that picks their implementation.

`native` is the C99 extension `kernels._native`, built by the package's own build;
`reference` is the NumPy code in `kernels.reference` that defines what each kernel computes.
The environment variable `EDGE_KERNELS` chooses, read once at import:

- unset or `auto`: native if the extension is built, otherwise the reference;
- `native`: native, and importing this module fails if the extension is not built;
- `reference`: the reference, to rule the extension out when chasing a bug.

`IMPLEMENTATION` says which one loaded; the kernels are module attributes (`window_features`,
`das_channel_stats`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar, get_args

import numpy as np
import numpy.typing as npt

ImplementationName = Literal["native", "reference"]
ENV_VAR = "EDGE_KERNELS"
T = TypeVar("T")


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


class DasChannelStatsKernel(Protocol):
    """The per-channel statistics of one DAS window that its features need besides the spectrum.

    `samples` is `[n_samples, n_channels]`, time-major, float32 or float64 (computed in
    float64). Each channel is centred (its mean taken as the first sample plus the mean of the
    differences from it, so a constant channel centres to exact zeros), then detrended: its
    projection on the orthonormal linear and quadratic trends over `numpy.linspace(-1, 1,
    n_samples)` (`reference.trend_basis`), coefficients `c1, c2`, is subtracted, leaving `d`,
    which is written to `detrended[n_samples, n_channels]`. `stats[n_channels, 6]` (float64)
    gets, in `reference.DAS_STATS` order:

    - `trend_power`: `(c1**2 + c2**2) / n_samples`, the mean-square of the trend;
    - `power`: the mean-square of the centred channel;
    - `peak_to_peak`: the channel's largest sample less its smallest;
    - `kurtosis`: `mean(d**4) / (mean(d**2) + floor)**2`;
    - `crest`: `max(abs(d)) / sqrt(mean(d**2) + floor)`;
    - `sta_lta_max`: the largest ratio `sta / (lta + 1e-3 * mean(d**2) + floor)`, where `sta`
      and `lta` are the means of `d**2` over trailing windows of `sta_samples` and `lta_samples`
      ending at the same sample, for every sample from `lta_samples - 1` on (differences of
      the cumulative sum, as `numpy.cumsum` gives it; 1e-3 is `reference.LTA_FLOOR_SHARE`).

    The implementations sum in different orders, so they agree to rounding (about 1e-12
    relative), not bit for bit. A channel that is exactly a quadratic (any channel of 3
    samples) detrends to rounding noise: its kurtosis, crest and STA/LTA are then figures of
    that noise, held near zero by `floor`, and differ between implementations.

    Non-finite input: a channel holding a NaN or infinite sample gets NaN in every statistic
    and all through its `detrended` column; other channels are unaffected. Finite samples so
    large that their powers overflow float64 (fourth powers past about 1e77) give inf or NaN
    statistics, not necessarily the same in both implementations. Nothing is raised for either.

    Every argument is checked before anything is written: a wrong type or dtype raises
    TypeError; a wrong shape, a non-contiguous array, a read-only output, overlapping arrays,
    fewer than 3 samples, `sta_samples` under 1, `lta_samples` above `n_samples` or not above
    `sta_samples`, or a non-positive or non-finite `floor` raises ValueError naming the
    argument.
    """

    def __call__(
        self,
        samples: npt.NDArray[np.float32] | npt.NDArray[np.float64],
        sta_samples: int,
        lta_samples: int,
        floor: float,
        stats: npt.NDArray[np.float64],
        detrended: npt.NDArray[np.float64],
    ) -> None: ...


@dataclass(frozen=True)
class KernelSet:
    """One implementation of every kernel, e.g. `load_kernels("reference").window_features`."""

    name: ImplementationName
    window_features: WindowFeaturesKernel
    das_channel_stats: DasChannelStatsKernel


def load_kernels(name: ImplementationName) -> KernelSet:
    """The kernels of one implementation, whatever `EDGE_KERNELS` says (benchmarks and tests).

    Raises:
        ImportError: `native` was asked for and the extension is not built.
    """
    if name == "native":
        from kernels import _native

        return KernelSet("native", _native.window_features, _native.das_channel_stats)
    if name == "reference":
        from kernels import reference

        return KernelSet("reference", reference.window_features, reference.das_channel_stats)
    raise ValueError(
        f"kernel implementation must be one of {get_args(ImplementationName)}, got {name!r}"
    )


def choose_implementation(environ: Mapping[str, str], load: Callable[[ImplementationName], T]) -> T:
    """What `load` gives for the implementation `EDGE_KERNELS` in `environ` asks for (see the
    module docstring); `load` raises ImportError when the native one is not built. Other native
    code (the KPI pipeline's codec) is chosen by the same switch through this."""
    choice = environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if choice == "auto":
        try:
            return load("native")
        except ImportError:
            return load("reference")
    names: dict[str, ImplementationName] = {name: name for name in get_args(ImplementationName)}
    if choice in names:
        return load(names[choice])
    raise ValueError(f"{ENV_VAR} must be auto, native or reference, got {environ[ENV_VAR]!r}")


def select_kernels(environ: Mapping[str, str]) -> KernelSet:
    """The implementation `EDGE_KERNELS` in `environ` asks for (see the module docstring)."""
    return choose_implementation(environ, load_kernels)


KERNELS = select_kernels(os.environ)
IMPLEMENTATION: ImplementationName = KERNELS.name
window_features: WindowFeaturesKernel = KERNELS.window_features
das_channel_stats: DasChannelStatsKernel = KERNELS.das_channel_stats

__all__ = [
    "ENV_VAR",
    "IMPLEMENTATION",
    "KERNELS",
    "DasChannelStatsKernel",
    "ImplementationName",
    "KernelSet",
    "WindowFeaturesKernel",
    "choose_implementation",
    "das_channel_stats",
    "load_kernels",
    "select_kernels",
    "window_features",
]
