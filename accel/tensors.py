"""Tensor codec of the Open Inference Protocol: datatype names <-> NumPy dtypes, and raw
little-endian row-major contents <-> arrays without per-element Python work."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from accel.errors import InvalidInput

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


def datatype_of(array: npt.NDArray[np.generic]) -> str:
    """The protocol datatype name of an array (object arrays of bytes are BYTES)."""
    if array.dtype == np.dtype(object) or array.dtype.kind in "SU":
        return "BYTES"
    name = _DTYPE_TO_NAME.get(array.dtype.newbyteorder("<"))
    if name is None:
        raise InvalidInput(f"arrays of dtype {array.dtype} have no protocol datatype")
    return name


def element_count(name: str, shape: Sequence[int]) -> int:
    """Number of elements of a shape, refusing negative dimensions."""
    for dim in shape:
        if dim < 0:
            raise InvalidInput(f"input {name!r}: shape {list(shape)} has a negative dimension")
    return math.prod(shape)


def array_from_raw(name: str, datatype: str, shape: Sequence[int], raw: bytes) -> npt.NDArray[np.generic]:
    """Decode one tensor's raw contents, checking the byte count against the shape.

    Raises:
        InvalidInput: naming the input, the expected and the received byte counts.
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
        raise InvalidInput(f"input {name!r}: unknown datatype {datatype!r}; expected one of {sorted(DATATYPES)}")
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
    items: list[bytes] = []
    view = memoryview(raw)
    offset = 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise InvalidInput(
                f"input {name!r}: BYTES element {len(items)} has a truncated 4-byte length prefix"
            )
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > len(raw):
            raise InvalidInput(
                f"input {name!r}: BYTES element {len(items)} declares {length} bytes, "
                f"only {len(raw) - offset} remain"
            )
        items.append(bytes(view[offset : offset + length]))
        offset += length
    if len(items) != count:
        raise InvalidInput(f"input {name!r}: shape {list(shape)} needs {count} BYTES elements, got {len(items)}")
    out = np.empty(count, dtype=object)
    out[:] = items
    return out.reshape(shape)


def _size_error(name: str, datatype: str, shape: Sequence[int], expected: int, got: int) -> InvalidInput:
    return InvalidInput(
        f"input {name!r}: shape {list(shape)} of {datatype} needs {expected} bytes of raw contents, got {got}"
    )
