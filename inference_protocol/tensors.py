"""Tensor codec of the Open Inference Protocol: datatype names <-> NumPy dtypes, and raw
little-endian row-major contents <-> arrays without per-element Python work."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from inference_protocol.errors import MalformedTensor

_LENGTH = struct.Struct("<I")

Tensor = npt.NDArray[np.generic]
"""A tensor as both sides hold it: a NumPy array (object arrays of bytes for BYTES)."""

# Fixed-size datatypes; the dtypes are little-endian whatever the host's byte order.
FIXED_DTYPES: dict[str, np.dtype[np.generic]] = {
    "BOOL": np.dtype("?"),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
DATATYPES = frozenset(FIXED_DTYPES) | {"BYTES", "BF16"}

_DTYPE_TO_NAME = {dt: name for name, dt in FIXED_DTYPES.items()}
MAX_DIMS = 64
"""Most dimensions a tensor may have (NumPy's limit, and so every backend's here)."""
MAX_ELEMENTS = 2**63 // 16
"""Most elements a shape may describe: with the widest element (16 bytes), its byte size still
fits NumPy's signed 64-bit sizes."""
BYTES_PREFIX = 4
"""Bytes of the little-endian length that precedes every BYTES element."""


def datatype_of(array: npt.NDArray[np.generic]) -> str:
    """The protocol datatype name of an array (object arrays of bytes are BYTES)."""
    if array.dtype == np.dtype(object) or array.dtype.kind in "SU":
        return "BYTES"
    name = _DTYPE_TO_NAME.get(array.dtype.newbyteorder("<"))
    if name is None:
        raise MalformedTensor(f"arrays of dtype {array.dtype} have no protocol datatype")
    return name


def element_count(name: str, shape: Sequence[int]) -> int:
    """Number of elements of a shape, refusing what no array can have: more than MAX_DIMS
    dimensions, a negative dimension, or sizes whose product (zeros left out) passes
    MAX_ELEMENTS."""
    if len(shape) > MAX_DIMS:
        raise MalformedTensor(f"input {name!r}: shape has {len(shape)} dimensions; the limit is {MAX_DIMS}")
    for dim in shape:
        if dim < 0:
            raise MalformedTensor(f"input {name!r}: shape {list(shape)} has a negative dimension")
    # Every size counts, zeros left out: NumPy refuses [0, 2**62, 2**62] as too big.
    if math.prod(dim for dim in shape if dim) > MAX_ELEMENTS:
        raise MalformedTensor(
            f"input {name!r}: shape {list(shape)} describes more than {MAX_ELEMENTS} elements, "
            "more than any tensor can hold"
        )
    return math.prod(shape)


def array_from_raw(name: str, datatype: str, shape: Sequence[int], raw: bytes) -> npt.NDArray[np.generic]:
    """Decode one tensor's raw contents, checking the byte count against the shape.

    Raises:
        MalformedTensor: naming the input, the expected and the received byte counts.
    """
    count = element_count(name, shape)
    if datatype == "BYTES":
        return _bytes_from_raw(name, shape, count, raw)
    if datatype == "BF16":
        if len(raw) != count * 2:
            raise _size_error(name, datatype, shape, count * 2, len(raw))
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)
    dtype = FIXED_DTYPES.get(datatype)
    if dtype is None:
        raise MalformedTensor(f"input {name!r}: unknown datatype {datatype!r}; expected one of {sorted(DATATYPES)}")
    expected = count * dtype.itemsize
    if len(raw) != expected:
        raise _size_error(name, datatype, shape, expected, len(raw))
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def array_to_raw(array: npt.NDArray[np.generic]) -> tuple[str, list[int], bytes]:
    """Encode an array as (datatype, shape, raw little-endian row-major bytes)."""
    datatype = datatype_of(array)
    shape = list(array.shape)
    if datatype == "BYTES":
        parts = []
        for item in array.reshape(-1):
            data = item.encode() if isinstance(item, str) else bytes(item)  # type: ignore[call-overload]  # numpy object or bytes_ elements
            parts.append(struct.pack("<I", len(data)))
            parts.append(data)
        return datatype, shape, b"".join(parts)
    dtype = FIXED_DTYPES[datatype]
    return datatype, shape, np.ascontiguousarray(array, dtype=dtype).tobytes()


def _bytes_from_raw(name: str, shape: Sequence[int], count: int, raw: bytes) -> npt.NDArray[np.generic]:
    """Walk exactly `count` length-prefixed elements; whatever does not fit the layout is refused
    before the next element is copied."""
    if len(raw) < count * BYTES_PREFIX:
        raise MalformedTensor(
            f"input {name!r}: shape {list(shape)} needs {count} BYTES elements of at least {BYTES_PREFIX} bytes "
            f"each (the length prefix), but the raw contents hold {len(raw)} bytes"
        )
    out = np.empty(count, dtype=object)
    view = memoryview(raw)
    unpack = _LENGTH.unpack_from
    offset = 0
    end = len(raw)
    for index in range(count):
        if offset + BYTES_PREFIX > end:
            raise MalformedTensor(f"input {name!r}: BYTES element {index} has a truncated {BYTES_PREFIX}-byte length prefix")
        (length,) = unpack(raw, offset)
        offset += BYTES_PREFIX
        if length > end - offset:
            raise MalformedTensor(
                f"input {name!r}: BYTES element {index} declares {length} bytes, only {end - offset} remain"
            )
        out[index] = bytes(view[offset : offset + length])
        offset += length
    if offset != end:
        raise MalformedTensor(
            f"input {name!r}: shape {list(shape)} needs {count} BYTES elements; {end - offset} bytes follow the last one"
        )
    return out.reshape(shape)


def _size_error(name: str, datatype: str, shape: Sequence[int], expected: int, got: int) -> MalformedTensor:
    return MalformedTensor(
        f"input {name!r}: shape {list(shape)} of {datatype} needs {expected} bytes of raw contents, got {got}"
    )
