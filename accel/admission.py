"""Cheap checks of what a request declares (input names, datatypes, shapes, byte counts) against
the model's inputs and the configured limits, before any tensor is built or any element parsed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from accel.errors import InvalidInput, RequestTooLarge
from accel.model import TensorSpec
from accel.names import preview
from inference_protocol.tensors import BYTES_PREFIX, DATATYPES, FIXED_DTYPES, MAX_DIMS

_ITEM_BYTES = {name: dtype.itemsize for name, dtype in FIXED_DTYPES.items()} | {"BF16": 2}
MAX_REQUEST_PARAMETERS = 64
"""Most parameters one request may set: clients send a handful (priority, timeout, sequence ids)."""
_LISTED_NAMES = 8
"""How many names an error message lists before saying how many more there are."""


@dataclass(frozen=True)
class RequestLimits:
    """What one request may carry, checked before any of it is decoded.

    Example: `RequestLimits(max_request_bytes=64 * 2**20, max_bytes_elements=2**20)` admits up to
    64 MiB of tensor contents and up to 1,048,576 BYTES elements in one request.
    """

    max_request_bytes: int
    """Bytes of tensor contents (raw, or typed contents decoded) over all inputs of one request."""
    max_bytes_elements: int
    """BYTES elements over all inputs of one request: each one becomes a Python object."""

    def __post_init__(self) -> None:
        if self.max_request_bytes < 1 or self.max_bytes_elements < 1:
            raise ValueError(f"limits must be >= 1, got {self}")

    def overridden(self, max_request_bytes: int | None, max_bytes_elements: int | None) -> RequestLimits:
        """These limits with a model's own values (from its config.json) where it sets them."""
        return RequestLimits(
            self.max_request_bytes if max_request_bytes is None else max_request_bytes,
            self.max_bytes_elements if max_bytes_elements is None else max_bytes_elements,
        )


@dataclass(frozen=True)
class TensorHeader:
    """What a request says about one input without its contents being read.

    Example: `TensorHeader("features", "FP32", (2, 22), content_bytes=176, raw=True)`.
    """

    name: str
    datatype: str
    shape: tuple[int, ...]
    content_bytes: int | None
    """Length of its raw contents; None until they are read (every read of a protobuf bytes
    field copies it, so a request is first checked without them), and for typed contents, whose
    decoded size (values x element size) is what counts."""
    raw: bool
    """Whether it travels as raw contents (else as typed contents)."""
    typed_values: int = 0
    """How many values its typed contents hold (raw: 0)."""


def describe_names(names: Sequence[str]) -> str:
    """A short list of client-given names for an error message: the first few, each cut short."""
    shown = ", ".join(preview(n) for n in names[:_LISTED_NAMES])
    more = len(names) - _LISTED_NAMES
    return f"[{shown}{f', and {more} more' if more > 0 else ''}]"


def check_raw_entries(inputs: int, raw_entries: int) -> None:
    """Raw contents come as one entry per input, in input order, or not at all.

    Raises:
        InvalidInput: any other count of `raw_input_contents` entries.
    """
    if raw_entries not in (0, inputs):
        raise InvalidInput(
            f"request has {inputs} inputs but {raw_entries} raw_input_contents entries; "
            "raw contents need one entry per input, in input order"
        )


def admit_counts(
    label: str, specs: Sequence[TensorSpec], produced: Sequence[str], inputs: int, raw_entries: int, outputs: int,
    parameters: int,
) -> None:
    """Refuse, before any of them is read, more inputs, raw entries, requested outputs or
    parameters than the model could use: each costs the server an object, and a few bytes on the
    wire can carry millions of them."""
    if inputs != len(specs):
        raise InvalidInput(f"{label} expects {len(specs)} inputs {sorted(s.name for s in specs)}; the request has {inputs}")
    check_raw_entries(inputs, raw_entries)
    if outputs > len(produced):
        raise InvalidInput(f"{label} produces {len(produced)} outputs {list(produced)}; the request asks for {outputs}")
    if parameters > MAX_REQUEST_PARAMETERS:
        raise InvalidInput(
            f"the request has {parameters} parameters; the limit is {MAX_REQUEST_PARAMETERS}"
        )


def admit(
    label: str, specs: Sequence[TensorSpec], headers: Sequence[TensorHeader], limits: RequestLimits, max_batch_size: int
) -> int:
    """Check a request's inputs against the model's and the limits; return its rows. Raw contents
    whose length is not known yet (`content_bytes` None) are checked by a second call once read.

    Raises:
        InvalidInput: an input missing, unknown or repeated; a datatype or shape the model does
            not take; a tensor without elements; contents whose size disagrees with the shape;
            more rows than `max_batch_size`. The message names the input and what was expected.
        RequestTooLarge: more bytes or BYTES elements than `limits` allow (naming the limit).
    """
    by_name = {spec.name: spec for spec in specs}
    given = Counter(h.name for h in headers)
    unknown = [n for n in given if n not in by_name]
    missing = [n for n in by_name if n not in given]
    repeated = [n for n, times in given.items() if times > 1]
    if unknown or missing or repeated:
        raise InvalidInput(
            f"{label} expects inputs {sorted(by_name)}; missing {missing}, unknown {describe_names(unknown)}"
            + (f", repeated {describe_names(repeated)}" if repeated else "")
        )
    total_bytes = 0
    bytes_elements = 0
    rows: int | None = None
    for header in headers:
        spec = by_name[header.name]
        count = _admit_shape(label, spec, header, limits)
        if rows is None:
            rows = header.shape[0]
            if rows > max_batch_size:
                raise InvalidInput(f"{label}: request has {rows} rows, max_batch_size is {max_batch_size}")
        elif header.shape[0] != rows:
            raise InvalidInput(f"{label}: input {header.name!r} has {header.shape[0]} rows, other inputs have {rows}")
        if header.datatype == "BYTES":
            bytes_elements += count
            if bytes_elements > limits.max_bytes_elements:
                raise RequestTooLarge(
                    f"{label}: the request carries {bytes_elements} or more BYTES elements; the limit is "
                    f"{limits.max_bytes_elements} (max_bytes_elements)"
                )
        _admit_contents(label, header, count)
        total_bytes += max(header.content_bytes or 0, count * _ITEM_BYTES.get(header.datatype, 0))
        if total_bytes > limits.max_request_bytes:
            raise RequestTooLarge(
                f"{label}: the request's tensors hold {total_bytes} bytes or more; the limit is "
                f"{limits.max_request_bytes} bytes (max_request_bytes)"
            )
    if rows is None:
        raise InvalidInput(f"{label}: the request has no inputs; expected {sorted(by_name)}")
    return rows


def _admit_shape(label: str, spec: TensorSpec, header: TensorHeader, limits: RequestLimits) -> int:
    """The element count of an input whose datatype and shape fit the model's declaration."""
    name, shape = header.name, header.shape
    if header.datatype not in DATATYPES:
        raise InvalidInput(
            f"{label}: input {name!r}: unknown datatype {preview(header.datatype)}; "
            f"this input takes {spec.datatype}"
        )
    if header.datatype != spec.datatype:
        raise InvalidInput(f"{label}: input {name!r} must be {spec.datatype}, got {header.datatype}")
    if len(shape) > MAX_DIMS:
        raise InvalidInput(f"{label}: input {name!r}: shape has {len(shape)} dimensions; the limit is {MAX_DIMS}")
    if any(dim < 0 for dim in shape):
        raise InvalidInput(f"{label}: input {name!r}: shape {list(shape)} has a negative dimension")
    fits = len(shape) == len(spec.shape) and all(want in (-1, got) for got, want in zip(shape, spec.shape, strict=False))
    if not fits:
        raise InvalidInput(
            f"{label}: input {name!r} must have shape {list(spec.shape)} (-1: any), got {list(shape)}"
        )
    if 0 in shape:
        # No model here computes anything from nothing, and a zero size would let the other
        # dimensions claim any size without a byte to back them.
        raise InvalidInput(
            f"{label}: input {name!r}: shape {list(shape)} has no elements; every dimension must be at least 1"
        )
    # Every element takes at least one byte (a BYTES one its length prefix), so the byte limit
    # bounds the count; stop multiplying as soon as it is passed.
    per_element = _ITEM_BYTES.get(header.datatype, BYTES_PREFIX)
    cap = limits.max_request_bytes // per_element
    if header.datatype == "BYTES":
        cap = min(cap, limits.max_bytes_elements)
    count = 1
    for dim in shape:
        count *= dim
        if count > cap:
            limit = (
                f"max_bytes_elements {limits.max_bytes_elements}" if cap == limits.max_bytes_elements
                else f"max_request_bytes {limits.max_request_bytes} at {per_element} bytes each"
            )
            raise RequestTooLarge(
                f"{label}: input {name!r}: shape {list(shape)} describes more than {cap} elements ({limit})"
            )
    return count


def _admit_contents(label: str, header: TensorHeader, count: int) -> None:
    """Contents whose size agrees with the shape (BYTES: at least a length prefix per element)."""
    name, datatype = header.name, header.datatype
    if header.raw and header.content_bytes is None:
        return  # checked once the contents are read
    if not header.raw:
        if header.typed_values != count:
            raise InvalidInput(
                f"{label}: input {name!r}: shape {list(header.shape)} needs {count} values in its typed contents, "
                f"got {header.typed_values}"
            )
        return
    assert header.content_bytes is not None
    if datatype == "BYTES":
        if header.content_bytes < count * BYTES_PREFIX:
            raise InvalidInput(
                f"{label}: input {name!r}: shape {list(header.shape)} needs {count} BYTES elements of at least "
                f"{BYTES_PREFIX} bytes each (the length prefix), got {header.content_bytes} bytes of raw contents"
            )
        return
    expected = count * _ITEM_BYTES[datatype]
    if header.content_bytes != expected:
        raise InvalidInput(
            f"{label}: input {name!r}: shape {list(header.shape)} of {datatype} needs {expected} bytes of raw "
            f"contents, got {header.content_bytes}"
        )
