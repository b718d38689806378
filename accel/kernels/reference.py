"""NumPy references for the native kernels: same signatures, same argument checks, same results.

They define what each kernel computes, run wherever the extension is not built, and are what
`EDGE_KERNELS=reference` selects. Clarity wins over speed here.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt


class _ArraySpec(NamedTuple):
    name: str
    dtype: type[np.generic]
    ndim: int
    writeable: bool


def _checked_array(obj: object, spec: _ArraySpec) -> npt.NDArray[Any]:
    if not isinstance(obj, np.ndarray):
        raise TypeError(f"{spec.name} must be a numpy.ndarray, got {type(obj).__name__}")
    if obj.dtype != np.dtype(spec.dtype):
        raise TypeError(
            f"{spec.name} must have dtype {np.dtype(spec.dtype)} (native byte order), "
            f"got {obj.dtype}"
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
