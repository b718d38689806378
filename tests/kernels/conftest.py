"""Both kernel implementations as a fixture, and factories of valid kernel arguments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from kernels import KernelSet, load_kernels

WindowArgs = Callable[..., dict[str, Any]]
DasArgs = Callable[..., dict[str, Any]]


@pytest.fixture(params=["native", "reference"])
def kernels(request: pytest.FixtureRequest) -> KernelSet:
    """Each implementation in turn; native must be built, since the package's build compiles it."""
    return load_kernels(request.param)


def _window_args(
    rows: int = 4, cells: int = 3, window: int = 5, n_kpis: int = 2, n_hours: int = 2, seed: int = 0
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {
        "values": np.full((cells, window, n_kpis), np.nan),
        "counts": np.zeros(cells, dtype=np.int64),
        "slots": rng.integers(0, cells, rows, dtype=np.int64),
        "kpis": rng.normal(size=(rows, n_kpis)),
        "hours": rng.normal(size=(rows, n_hours)),
        "std_floor": np.full(n_kpis, 0.01),
        "min_history": min(3, window),
        "clip": 50.0,
        "out": np.empty((rows, 2 * n_kpis + n_hours), dtype=np.float32),
        "history": np.empty(rows, dtype=np.int64),
    }


@pytest.fixture
def window_args() -> WindowArgs:
    """Builds valid arguments: empty windows, random rows; override any by keyword after."""
    return _window_args


def _das_args(
    n_samples: int = 400,
    channels: int = 3,
    dtype: type[np.floating[Any]] = np.float64,
    sta_samples: int = 10,
    lta_samples: int = 100,
    seed: int = 0,
) -> dict[str, Any]:
    return {
        "samples": np.random.default_rng(seed).normal(size=(n_samples, channels)).astype(dtype),
        "sta_samples": sta_samples,
        "lta_samples": lta_samples,
        "floor": 1e-12,
        "stats": np.full((channels, 6), -7.0),
        "detrended": np.full((n_samples, channels), -7.0),
    }


@pytest.fixture
def das_args() -> DasArgs:
    """Builds valid `das_channel_stats` arguments: Gaussian noise, outputs filled with -7."""
    return _das_args
