"""NumPy references for the native kernels: same signatures, same argument checks, same results.

They define what each kernel computes, run wherever the extension is not built, and are what
`EDGE_KERNELS=reference` selects. Clarity wins over speed here.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt


class _ArraySpec(NamedTuple):
    name: str
    dtype: type[np.generic]
    ndim: int
    writeable: bool
    also: type[np.generic] | None = None
    """A second dtype accepted (`samples` of `das_channel_stats` takes float32 or float64)."""


def _checked_array(obj: object, spec: _ArraySpec) -> npt.NDArray[Any]:
    if not isinstance(obj, np.ndarray):
        raise TypeError(f"{spec.name} must be a numpy.ndarray, got {type(obj).__name__}")
    accepted = [np.dtype(spec.dtype)] + ([np.dtype(spec.also)] if spec.also else [])
    if obj.dtype not in accepted:
        raise TypeError(
            f"{spec.name} must have dtype {' or '.join(str(d) for d in accepted)} "
            f"(native byte order), got {obj.dtype}"
        )
    if obj.ndim != spec.ndim:
        raise ValueError(f"{spec.name} must be {spec.ndim}-dimensional, got {obj.ndim} dimensions")
    if not (obj.flags.c_contiguous and obj.flags.aligned):
        raise ValueError(
            f"{spec.name} must be C-contiguous and aligned "
            f"(pass numpy.ascontiguousarray({spec.name}))"
        )
    if spec.writeable and not obj.flags.writeable:
        raise ValueError(f"{spec.name} must be writeable: the kernel updates it in place")
    return obj


def _check_dim(name: str, axis: int, got: int, expected: int, because: str) -> None:
    if got != expected:
        raise ValueError(f"{name}.shape[{axis}] must be {expected} ({because}), got {got}")


_WINDOW_SPECS = (
    _ArraySpec("values", np.float64, 3, True),
    _ArraySpec("counts", np.int64, 1, True),
    _ArraySpec("slots", np.int64, 1, False),
    _ArraySpec("kpis", np.float64, 2, False),
    _ArraySpec("hours", np.float64, 2, False),
    _ArraySpec("std_floor", np.float64, 1, False),
    _ArraySpec("out", np.float32, 2, True),
    _ArraySpec("history", np.int64, 1, True),
)


def _check_window_args(arrays: tuple[object, ...], min_history: object, clip: object) -> float:
    """Raise TypeError or ValueError naming the first bad argument, as the native kernel does."""
    checked = [_checked_array(obj, spec) for obj, spec in zip(arrays, _WINDOW_SPECS, strict=True)]
    values, counts, slots, kpis, hours, std_floor, out, history = checked
    cells, window, n_kpis = values.shape
    rows, n_hours = len(slots), hours.shape[1]
    if window < 1:
        raise ValueError("values.shape[1] (the window) must be at least 1")
    _check_dim("counts", 0, counts.shape[0], cells, "values.shape[0], the cells")
    _check_dim("kpis", 0, kpis.shape[0], rows, "len(slots), the rows")
    _check_dim("kpis", 1, kpis.shape[1], n_kpis, "values.shape[2], the KPIs")
    _check_dim("hours", 0, hours.shape[0], rows, "len(slots), the rows")
    _check_dim("std_floor", 0, std_floor.shape[0], n_kpis, "values.shape[2], the KPIs")
    _check_dim("out", 0, out.shape[0], rows, "len(slots), the rows")
    _check_dim(
        "out",
        1,
        out.shape[1],
        2 * n_kpis + n_hours,
        "2 * values.shape[2] + hours.shape[1], the features",
    )
    _check_dim("history", 0, history.shape[0], rows, "len(slots), the rows")
    for w in (0, 1, 6, 7):
        for i, other in enumerate(checked):
            if i != w and checked[w].size and other.size and np.may_share_memory(checked[w], other):
                name = _WINDOW_SPECS[w].name
                raise ValueError(
                    f"{name} shares memory with {_WINDOW_SPECS[i].name}; the kernel writes {name}, "
                    "so it must not overlap another argument"
                )
    if not isinstance(min_history, int) or isinstance(min_history, bool):
        raise TypeError(f"min_history must be an int, got {type(min_history).__name__}")
    if min_history < 1:
        raise ValueError(f"min_history must be at least 1, got {min_history}")
    if not isinstance(clip, int | float) or isinstance(clip, bool):
        raise TypeError(f"clip must be a float, got {type(clip).__name__}")
    if not (math.isfinite(float(clip)) and clip > 0):
        raise ValueError(f"clip must be finite and positive, got {clip!r}")
    for k, lowest in enumerate(std_floor.tolist()):
        if not (math.isfinite(lowest) and lowest > 0):
            raise ValueError(f"std_floor[{k}] must be finite and positive, got {lowest!r}")
    negative = np.flatnonzero(counts < 0)
    if negative.size:
        i = int(negative[0])
        raise ValueError(f"counts[{i}] must not be negative, got {counts[i]}")
    outside = np.flatnonzero((slots < 0) | (slots >= cells))
    if outside.size:
        row = int(outside[0])
        raise ValueError(f"slots[{row}] = {slots[row]} is not a cell of values (0 to {cells - 1})")
    return float(clip)


def window_features(
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
) -> None:
    """Score each row against its cell's window, then append it; see `WindowFeaturesKernel`."""
    clip = _check_window_args(
        (values, counts, slots, kpis, hours, std_floor, out, history), min_history, clip
    )
    window, n_kpis = values.shape[1], values.shape[2]
    # inf - inf, and inf narrowed to float32, are expected here: the answer is defined by the
    # NaN handling below, not an error.
    with np.errstate(all="ignore"):
        for row, slot in enumerate(slots.tolist()):
            count = int(counts[slot])
            held = min(count, window)
            current = kpis[row]
            past = values[slot, :held]
            valid = ~np.isnan(past)
            n = valid.sum(axis=0)
            mean = np.where(n > 0, np.nansum(past, axis=0) / np.maximum(n, 1), np.nan)
            filled = np.where(np.isnan(current), mean, current)
            out[row, :n_kpis] = np.nan_to_num(filled, nan=0.0)
            out[row, n_kpis : 2 * n_kpis] = 0.0
            enough = n >= min_history
            if enough.any():
                spread = np.sqrt(np.nansum((past - mean) ** 2, axis=0) / np.maximum(n - 1, 1))
                dev = (current - mean) / np.maximum(spread, std_floor)
                out[row, n_kpis : 2 * n_kpis] = np.where(enough & ~np.isnan(current), dev, 0.0)
            out[row, 2 * n_kpis :] = hours[row]
            history[row] = held
            values[slot, count % window] = current
            counts[slot] = count + 1
        np.clip(out, -clip, clip, out=out)


DAS_STATS = ("trend_power", "power", "peak_to_peak", "kurtosis", "crest", "sta_lta_max")
"""The columns of `das_channel_stats`'s `stats`, in order."""
LTA_FLOOR_SHARE = 1e-3
"""The STA/LTA denominator's floor is this share of the mean detrended power, plus `floor`."""

_DAS_SAMPLES = _ArraySpec("samples", np.float32, 2, False, also=np.float64)
_DAS_WRITTEN = (
    _ArraySpec("stats", np.float64, 2, True),
    _ArraySpec("detrended", np.float64, 2, True),
)


def _check_count(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value


def _check_das_args(
    samples: object,
    sta_samples: object,
    lta_samples: object,
    floor: object,
    stats: object,
    detrended: object,
) -> tuple[int, int, float]:
    """Raise TypeError or ValueError naming the first bad argument, as the native kernel does."""
    arrays = [
        _checked_array(samples, _DAS_SAMPLES),
        _checked_array(stats, _DAS_WRITTEN[0]),
        _checked_array(detrended, _DAS_WRITTEN[1]),
    ]
    n, channels = arrays[0].shape
    if n < 3:
        raise ValueError(
            f"samples.shape[0] must be at least 3 (a quadratic trend needs 3 samples), got {n}"
        )
    _check_dim("stats", 0, arrays[1].shape[0], channels, "samples.shape[1], the channels")
    _check_dim("stats", 1, arrays[1].shape[1], len(DAS_STATS), "the statistics")
    _check_dim("detrended", 0, arrays[2].shape[0], n, "samples.shape[0], the samples")
    _check_dim("detrended", 1, arrays[2].shape[1], channels, "samples.shape[1], the channels")
    names = ("samples", "stats", "detrended")
    for w in (1, 2):
        for i, other in enumerate(arrays):
            if i != w and arrays[w].size and other.size and np.may_share_memory(arrays[w], other):
                raise ValueError(
                    f"{names[w]} shares memory with {names[i]}; the kernel writes {names[w]}, "
                    "so it must not overlap another argument"
                )
    sta = _check_count("sta_samples", sta_samples)
    if sta < 1:
        raise ValueError(f"sta_samples must be at least 1, got {sta}")
    lta = _check_count("lta_samples", lta_samples)
    if lta > n:
        raise ValueError(f"lta_samples must be at most samples.shape[0] ({n}), got {lta}")
    if lta <= sta:
        raise ValueError(f"lta_samples must be more than sta_samples ({sta}), got {lta}")
    if not isinstance(floor, int | float) or isinstance(floor, bool):
        raise TypeError(f"floor must be a float, got {type(floor).__name__}")
    if not (math.isfinite(float(floor)) and floor > 0):
        raise ValueError(f"floor must be finite and positive, got {floor!r}")
    return sta, lta, float(floor)


@lru_cache(maxsize=16)
def trend_basis(n_samples: int) -> npt.NDArray[np.float64]:
    """`[n_samples, 2]`: orthonormal linear and quadratic trends over `linspace(-1, 1, n)`.

    Both are orthogonal to a constant (t by symmetry, t*t - mean(t*t) by construction) and to
    each other (odd against even), so projecting a mean-removed channel on them fits its
    least-squares quadratic trend.
    """
    t = np.linspace(-1.0, 1.0, n_samples)
    u = t * t - np.mean(t * t)
    basis = np.stack([t / np.sqrt(np.sum(t * t)), u / np.sqrt(np.sum(u * u))], axis=1)
    basis.flags.writeable = False
    return basis


def das_channel_stats(
    samples: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    sta_samples: int,
    lta_samples: int,
    floor: float,
    stats: npt.NDArray[np.float64],
    detrended: npt.NDArray[np.float64],
) -> None:
    """Per-channel statistics of one DAS window; see `DasChannelStatsKernel`."""
    sta, lta, floor = _check_das_args(samples, sta_samples, lta_samples, floor, stats, detrended)
    x = samples.astype(np.float64)
    n = x.shape[0]
    basis = trend_basis(n)
    # NaN and inf samples are expected here: their channels are set to NaN at the end.
    with np.errstate(all="ignore"):
        # Shifted by the first sample, so a constant channel's mean is exact and its centred
        # signal exactly zero.
        mean = x[0] + np.mean(x - x[0], axis=0)
        centred = x - mean
        coef = basis.T @ centred
        d = centred - (np.outer(basis[:, 0], coef[0]) + np.outer(basis[:, 1], coef[1]))
        energy = d * d
        m2 = np.mean(energy, axis=0)
        m2_floored = m2 + floor
        cum = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(energy, axis=0)])
        short_mean = (cum[lta:] - cum[lta - sta : n + 1 - sta]) / sta
        long_mean = (cum[lta:] - cum[: n + 1 - lta]) / lta
        lta_floor = LTA_FLOOR_SHARE * m2 + floor
        stats[:, 0] = np.sum(coef**2, axis=0) / n
        stats[:, 1] = np.mean(centred * centred, axis=0)
        stats[:, 2] = np.max(x, axis=0) - np.min(x, axis=0)
        stats[:, 3] = np.mean(energy * energy, axis=0) / (m2_floored * m2_floored)
        stats[:, 4] = np.max(np.abs(d), axis=0) / np.sqrt(m2_floored)
        stats[:, 5] = np.max(short_mean / (long_mean + lta_floor), axis=0)
    detrended[...] = d
    nonfinite = ~np.isfinite(x).all(axis=0)
    stats[nonfinite] = np.nan
    detrended[:, nonfinite] = np.nan
