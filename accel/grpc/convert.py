"""Protobuf <-> domain conversion for ModelInfer: raw contents decode with one NumPy view per
tensor; typed contents are accepted too; outputs always go back raw."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from accel.admission import TensorHeader, check_raw_entries, describe_names
from accel.errors import InvalidInput
from accel.model import InferenceRequest, InferenceResponse, Tensor
from accel.names import preview
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.tensors import (
    FIXED_DTYPES,
    MAX_DIMS,
    array_from_raw,
    array_to_raw,
    element_count,
)

INLINE_DECODE_MAX_VALUES = 4096
"""Requests whose decoding walks at most this many values (BYTES elements, typed contents) are
decoded on the event loop; larger ones in a worker thread, so the loop keeps answering health
checks and other calls. Raw fixed-size tensors cost nothing to decode (a NumPy view) either way."""

_TYPED_FIELD = {
    "BOOL": "bool_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


def parameter_value(param: pb.InferParameter) -> bool | int | float | str:
    """The Python value of one InferParameter, whichever of its fields is set."""
    which = param.WhichOneof("parameter_choice")
    if which is None:
        return ""
    value: bool | int | float | str = getattr(param, which)
    return value


def parameters_dict(params: Mapping[str, pb.InferParameter]) -> dict[str, bool | int | float | str]:
    return {key: parameter_value(value) for key, value in params.items()}


def _non_negative_integer(parameters: Mapping[str, bool | int | float | str], key: str, meaning: str) -> int | None:
    """A request parameter that must be a whole number >= 0 (int64_param or uint64_param)."""
    if key not in parameters:
        return None
    value = parameters[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"request parameter {key!r} ({meaning}) must be an integer in int64_param or uint64_param, "
            f"got {type(value).__name__} {value!r}"
        )
    if value < 0:
        raise InvalidInput(f"request parameter {key!r} ({meaning}) must be >= 0, got {value}")
    return value


def tensor_headers(request: pb.ModelInferRequest, raw: Sequence[bytes] | None = None) -> list[TensorHeader]:
    """What each input declares, read without decoding any contents.

    Args:
        raw: `request.raw_input_contents` as a list, once the caller has read it (every read of a
            protobuf bytes field makes a new copy of it); None leaves raw lengths unknown.

    Raises:
        InvalidInput: raw contents whose count disagrees with the inputs, an input with both raw and
            typed contents, or a datatype that cannot travel as typed contents.
    """
    inputs = request.inputs
    raw_entries = len(request.raw_input_contents)
    check_raw_entries(len(inputs), raw_entries)
    headers = []
    for index, tensor in enumerate(inputs):
        if len(tensor.shape) > MAX_DIMS:  # before the dimensions become a tuple
            raise InvalidInput(
                f"input {preview(tensor.name)}: shape has {len(tensor.shape)} dimensions; the limit is {MAX_DIMS}"
            )
        shape = tuple(tensor.shape)
        if raw_entries:
            _refuse_mixed_contents(tensor)
            length = None if raw is None else len(raw[index])
            headers.append(TensorHeader(tensor.name, tensor.datatype, shape, length, raw=True))
            continue
        values = len(getattr(tensor.contents, _typed_field(tensor)))
        headers.append(TensorHeader(tensor.name, tensor.datatype, shape, None, raw=False, typed_values=values))
    return headers


def _refuse_mixed_contents(tensor: pb.ModelInferRequest.InferInputTensor) -> None:
    if tensor.HasField("contents"):
        raise InvalidInput(
            f"input {preview(tensor.name)} sets typed contents while the request uses raw_input_contents; "
            "use one or the other"
        )


def requested_outputs(request: pb.ModelInferRequest, produced: list[str], model: str) -> list[str] | None:
    """The output names the request asks for (None: all), each one the model produces."""
    names = [o.name for o in request.outputs]
    unknown = [n for n in names if n not in produced]
    if unknown:
        raise InvalidInput(
            f"requested output(s) {describe_names(unknown)} not produced by {model}; outputs are {sorted(produced)}"
        )
    if len(set(names)) != len(names):
        raise InvalidInput(f"requested outputs {describe_names(names)} name an output more than once")
    return names or None


def decodes_inline(headers: list[TensorHeader]) -> bool:
    """Whether decoding costs so little that it may run on the event loop: every input raw and
    fixed-size, or at most INLINE_DECODE_MAX_VALUES values to walk in all."""
    values = sum(
        h.typed_values if not h.raw else (math.prod(h.shape) if h.datatype == "BYTES" else 0) for h in headers
    )
    return values <= INLINE_DECODE_MAX_VALUES


def request_from_proto(request: pb.ModelInferRequest, raw: Sequence[bytes] | None = None) -> InferenceRequest:
    """Decode a ModelInferRequest, refusing any mismatch between shapes, datatypes and contents.
    `raw`: its raw_input_contents when the caller has already read them."""
    if raw is None:
        raw = list(request.raw_input_contents)
    check_raw_entries(len(request.inputs), len(raw))
    inputs: dict[str, Tensor] = {}
    for index, tensor in enumerate(request.inputs):
        if tensor.name in inputs:
            raise InvalidInput(f"input {preview(tensor.name)} appears twice")
        shape = list(tensor.shape)
        if raw:
            _refuse_mixed_contents(tensor)
            inputs[tensor.name] = array_from_raw(tensor.name, tensor.datatype, shape, raw[index])
        else:
            inputs[tensor.name] = _array_from_typed(tensor, shape)
    parameters = parameters_dict(request.parameters)
    timeout_us = _non_negative_integer(parameters, "timeout", "microseconds the request may wait")
    return InferenceRequest(
        model_name=request.model_name,
        model_version=request.model_version,
        inputs=inputs,
        request_id=request.id,
        requested_outputs=[o.name for o in request.outputs] or None,
        parameters=parameters,
        priority=_non_negative_integer(parameters, "priority", "1 is the highest") or 0,
        # As in Triton, timeout 0 sets no timeout: the model's default applies.
        timeout_us=timeout_us or None,
    )


def _typed_field(tensor: pb.ModelInferRequest.InferInputTensor) -> str:
    """The typed-contents field of an input's datatype.

    Raises:
        InvalidInput: a datatype that has none (FP16, BF16: raw only) or no datatype we know.
    """
    field = _TYPED_FIELD.get(tensor.datatype)
    if field is None:
        raise InvalidInput(
            f"input {preview(tensor.name)}: datatype {preview(tensor.datatype)} travels only as raw_input_contents"
            if tensor.datatype in ("FP16", "BF16")
            else f"input {preview(tensor.name)}: unknown datatype {preview(tensor.datatype)}"
        )
    return field


def _array_from_typed(tensor: pb.ModelInferRequest.InferInputTensor, shape: list[int]) -> Tensor:
    field = _typed_field(tensor)
    values = getattr(tensor.contents, field)
    count = element_count(tensor.name, shape)
    if len(values) != count:
        raise InvalidInput(
            f"input {preview(tensor.name)}: shape {shape} needs {count} values in contents.{field}, got {len(values)}"
        )
    if tensor.datatype == "BYTES":
        out = np.empty(count, dtype=object)
        out[:] = list(values)
        return out.reshape(shape)
    dtype = FIXED_DTYPES[tensor.datatype]
    try:
        return np.array(values, dtype=dtype.newbyteorder("=")).reshape(shape)
    except OverflowError as exc:
        raise InvalidInput(f"input {preview(tensor.name)}: a value does not fit {tensor.datatype}") from exc


def response_to_proto(response: InferenceResponse, requested: list[str] | None) -> pb.ModelInferResponse:
    """Encode outputs raw, keeping only the requested ones when the request named any."""
    names = requested if requested is not None else list(response.outputs)
    unknown = [n for n in names if n not in response.outputs]
    if unknown:
        raise InvalidInput(
            f"requested output(s) {describe_names(unknown)} not produced by {response.model_name}; "
            f"outputs are {list(response.outputs)}"
        )
    message = pb.ModelInferResponse(
        model_name=response.model_name, model_version=response.model_version, id=response.request_id
    )
    for name in names:
        datatype, shape, raw = array_to_raw(response.outputs[name])
        message.outputs.add(name=name, datatype=datatype, shape=shape)
        message.raw_output_contents.append(raw)
    return message
