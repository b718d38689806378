"""Protobuf <-> domain conversion for ModelInfer: raw contents decode with one NumPy view per
tensor; typed contents are accepted too; outputs always go back raw."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from accel.errors import InvalidInput
from accel.model import InferenceRequest, InferenceResponse, Tensor
from accel.protocol import grpc_predict_v2_pb2 as pb
from accel.tensors import FIXED_DTYPES, array_from_raw, array_to_raw, element_count

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


def request_from_proto(request: pb.ModelInferRequest) -> InferenceRequest:
    """Decode a ModelInferRequest, refusing any mismatch between shapes, datatypes and contents."""
    raw = request.raw_input_contents
    if raw and len(raw) != len(request.inputs):
        raise InvalidInput(
            f"request has {len(request.inputs)} inputs but {len(raw)} raw_input_contents entries; "
            "raw contents need one entry per input, in input order"
        )
    inputs: dict[str, Tensor] = {}
    for index, tensor in enumerate(request.inputs):
        if tensor.name in inputs:
            raise InvalidInput(f"input {tensor.name!r} appears twice")
        shape = list(tensor.shape)
        if raw:
            if tensor.HasField("contents"):
                raise InvalidInput(
                    f"input {tensor.name!r} sets typed contents while the request uses raw_input_contents; "
                    "use one or the other"
                )
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


def _array_from_typed(tensor: pb.ModelInferRequest.InferInputTensor, shape: list[int]) -> Tensor:
    field = _TYPED_FIELD.get(tensor.datatype)
    if field is None:
        raise InvalidInput(
            f"input {tensor.name!r}: datatype {tensor.datatype!r} travels only as raw_input_contents"
            if tensor.datatype in ("FP16", "BF16")
            else f"input {tensor.name!r}: unknown datatype {tensor.datatype!r}"
        )
    values = getattr(tensor.contents, field)
    count = element_count(tensor.name, shape)
    if len(values) != count:
        raise InvalidInput(
            f"input {tensor.name!r}: shape {shape} needs {count} values in contents.{field}, got {len(values)}"
        )
    if tensor.datatype == "BYTES":
        out = np.empty(count, dtype=object)
        out[:] = list(values)
        return out.reshape(shape)
    dtype = FIXED_DTYPES[tensor.datatype]
    try:
        return np.array(values, dtype=dtype.newbyteorder("=")).reshape(shape)
    except OverflowError as exc:
        raise InvalidInput(f"input {tensor.name!r}: a value does not fit {tensor.datatype}") from exc


def response_to_proto(response: InferenceResponse, requested: list[str] | None) -> pb.ModelInferResponse:
    """Encode outputs raw, keeping only the requested ones when the request named any."""
    names = requested if requested is not None else list(response.outputs)
    unknown = [n for n in names if n not in response.outputs]
    if unknown:
        raise InvalidInput(
            f"requested output(s) {unknown} not produced by {response.model_name}; outputs are {list(response.outputs)}"
        )
    message = pb.ModelInferResponse(
        model_name=response.model_name, model_version=response.model_version, id=response.request_id
    )
    for name in names:
        datatype, shape, raw = array_to_raw(response.outputs[name])
        message.outputs.add(name=name, datatype=datatype, shape=shape)
        message.raw_output_contents.append(raw)
    return message
