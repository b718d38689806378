"""Per-entity state as changelog data (JSON), read back exactly as it was held: arrays as base64 of
their little-endian bytes, bit for bit, and times and numbers that may be infinite or NaN, which
JSON numbers cannot carry. Every reader checks what it reads and names the field, never the entity.

Example: `{"power": packed(power, "<f8"), "since_s": exact(-math.inf)}` is written; on restore,
`unpacked(data, "power", "<f8", (4,))` and `read_float(data, "since_s")` give them back."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def packed(array: npt.ArrayLike, dtype: str) -> str:
    """An array's values as base64 of `dtype` bytes (e.g. `"<f4"`), in C order; pass the array's
    own dtype so that nothing is rounded."""
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode()


def unpacked(data: Mapping[str, Any], field: str, dtype: str, shape: tuple[int, ...]) -> npt.NDArray[Any]:
    """The array `packed` wrote under `field`, of `shape`, as native values of `dtype`'s kind.

    Raises:
        ValueError: `field` is not base64 of exactly that many values.
    """
    encoded = data.get(field)
    if type(encoded) is not str:
        raise ValueError(f"`{field}` must be base64 text")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"`{field}` is not base64 ({exc})") from exc
    width = np.dtype(dtype).itemsize
    expected = math.prod(shape)
    if len(raw) != expected * width:
        raise ValueError(f"`{field}` must hold {expected} values of {width} bytes, got {len(raw)} bytes")
    return np.frombuffer(raw, dtype=dtype).astype(np.dtype(dtype).newbyteorder("="), copy=True).reshape(shape)


def exact(value: float) -> float | str:
    """A float as JSON data that `read_float` gives back exactly: itself when finite, else
    `"NaN"`, `"Infinity"` or `"-Infinity"`."""
    if math.isfinite(value):
        return float(value)
    return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"


def read_float(data: Mapping[str, Any], field: str, *, finite: bool = False) -> float:
    """The float `exact` wrote under `field`.

    Raises:
        ValueError: it is not a number (or, with `finite`, not a finite one).
    """
    value: Any = data.get(field)
    if isinstance(value, str) and value in _NON_FINITE and not finite:
        return _NON_FINITE[value]
    number = float(value) if type(value) in (int, float) else math.nan  # a JSON true/false is no number
    if not math.isfinite(number):
        raise ValueError(f"`{field}` must be a {'finite ' if finite else ''}number")
    return number


def read_count(data: Mapping[str, Any], field: str) -> int:
    """A count (an integer >= 0) under `field`.

    Raises:
        ValueError: it is not one.
    """
    value = data.get(field)
    if type(value) is not int or value < 0:
        raise ValueError(f"`{field}` must be an integer >= 0")
    return value


def read_flag(data: Mapping[str, Any], field: str) -> bool:
    """A true/false under `field`.

    Raises:
        ValueError: it is not one.
    """
    value = data.get(field)
    if type(value) is not bool:
        raise ValueError(f"`{field}` must be true or false")
    return value


def read_section(data: Mapping[str, Any], field: str) -> dict[str, Any] | None:
    """The object under `field`; None where it is null.

    Raises:
        ValueError: it is neither.
    """
    value = data.get(field)
    if value is not None and not isinstance(value, dict):
        raise ValueError(f"`{field}` must be an object or null")
    return value
