"""A generated corpus of hostile Open Inference Protocol requests for any served model: shapes,
datatypes, byte counts, BYTES layouts, names, parameters and outputs that a server must refuse
with a precise status (never UNKNOWN, INTERNAL or ABORTED), beside the good requests it must keep
answering. The accelerator's hostile-input tests and `edge bench accel-soak` walk it."""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from inference_protocol.generated import grpc_predict_v2_pb2 as pb

BAD_STATUSES = frozenset({"UNKNOWN", "INTERNAL", "ABORTED"})
"""Statuses that say the server failed, not the request: no hostile request may get one."""
REFUSED = frozenset({"INVALID_ARGUMENT", "RESOURCE_EXHAUSTED"})
"""How a request the model cannot take is refused."""
FREE_DIM = 256
"""Size given to a model's free (-1) non-batch dimensions in good requests: long enough for a
DAS window's STA/LTA, small enough to stay cheap."""
HOSTILE_NAMES: dict[str, str] = {
    "empty": "",
    "5000 chars": "m" * 5000,
    "parent path": "../x",
    "absolute path": "/etc/passwd",
    "nested path": "a/b",
    "backslash path": "..\\x",
    "dot": ".",
    "hidden": ".hidden",
    "NUL byte": "kpi\x00anomaly",
    "control chars": "kpi\x1b[2J",
    "right-to-left override": "\u202eylamona-ipk",
    "percent-encoded path": "%2e%2e%2fx",
    "non-ASCII 300 bytes": "모" * 100,
}
"""Model names no server may take for a directory or echo whole."""
DATATYPES = ("BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
             "FP16", "FP32", "FP64", "BYTES", "BF16")
_ITEM_BYTES = {"BOOL": 1, "UINT8": 1, "UINT16": 2, "UINT32": 4, "UINT64": 8, "INT8": 1, "INT16": 2, "INT32": 4,
               "INT64": 8, "FP16": 2, "FP32": 4, "FP64": 8, "BF16": 2}


@dataclass(frozen=True)
class InputDecl:
    """One input as ModelMetadata reports it, e.g. `InputDecl("features", "FP32", (-1, 22))`."""

    name: str
    datatype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class ServedModel:
    """What the corpus needs to know of a model: its inputs, outputs and batch limit."""

    name: str
    inputs: tuple[InputDecl, ...]
    outputs: tuple[str, ...]
    max_batch_size: int

    @classmethod
    def from_proto(cls, metadata: pb.ModelMetadataResponse, config: pb.ModelConfig) -> ServedModel:
        return cls(
            metadata.name,
            tuple(InputDecl(t.name, t.datatype, tuple(t.shape)) for t in metadata.inputs),
            tuple(t.name for t in metadata.outputs),
            config.max_batch_size,
        )


@dataclass(frozen=True)
class HostileCase:
    """One request and the statuses it may get, e.g. `kpi-anomaly: shape 65 dimensions` refused
    INVALID_ARGUMENT. `expected` holds OK for requests that are odd but fine (an unknown
    parameter) and must be answered."""

    label: str
    request: pb.ModelInferRequest
    expected: frozenset[str]


def good_shape(decl: InputDecl, rows: int) -> list[int]:
    return [rows, *(FREE_DIM if d == -1 else d for d in decl.shape[1:])]


def encode_elements(datatype: str, count: int) -> bytes:
    """Raw contents of `count` harmless elements (zeros; BYTES: the element `ok`)."""
    if datatype == "BYTES":
        return (struct.pack("<I", 2) + b"ok") * count
    return bytes(count * _ITEM_BYTES[datatype])


def good_request(model: ServedModel, rows: int = 1, request_id: str = "") -> pb.ModelInferRequest:
    """A request the model must answer: every input present, zeros in every element."""
    request = pb.ModelInferRequest(model_name=model.name, id=request_id)
    for decl in model.inputs:
        shape = good_shape(decl, rows)
        request.inputs.add(name=decl.name, datatype=decl.datatype, shape=shape)
        request.raw_input_contents.append(encode_elements(decl.datatype, math.prod(shape)))
    return request


def large_bytes_request(model_name: str, input_name: str, total_bytes: int = 60 * 2**20) -> pb.ModelInferRequest:
    """The adversarial probe's request: one BYTES tensor of one-byte elements, `total_bytes` long."""
    count = total_bytes // 5
    request = pb.ModelInferRequest(model_name=model_name, id="large-bytes")
    request.inputs.add(name=input_name, datatype="BYTES", shape=[count])
    request.raw_input_contents.append(b"\x01\x00\x00\x00x" * count)
    return request


def _with_first_input(
    model: ServedModel, *, datatype: str | None = None, shape: Sequence[int] | None = None, raw: bytes | None = None,
    name: str | None = None,
) -> pb.ModelInferRequest:
    """A good request with its first input changed."""
    request = good_request(model)
    first = request.inputs[0]
    if datatype is not None:
        first.datatype = datatype
    if shape is not None:
        del first.shape[:]
        first.shape.extend(shape)
    if name is not None:
        first.name = name
    if raw is not None:
        request.raw_input_contents[0] = raw
    return request


def hostile_cases(model: ServedModel) -> Iterator[HostileCase]:
    """Every hostile request the corpus makes of `model`."""
    yield from _shape_cases(model)
    yield from _datatype_cases(model)
    yield from _size_cases(model)
    if any(decl.datatype == "BYTES" for decl in model.inputs):
        yield from _bytes_layout_cases(model)
    yield from _name_cases(model)
    yield from _parameter_cases(model)
    yield from _output_cases(model)


def _case(model: ServedModel, what: str, request: pb.ModelInferRequest, expected: frozenset[str] = REFUSED) -> HostileCase:
    return HostileCase(f"{model.name}: {what}", request, expected)


def _shape_cases(model: ServedModel) -> Iterator[HostileCase]:
    decl = model.inputs[0]
    rank = len(decl.shape)
    item = _ITEM_BYTES.get(decl.datatype, 5)
    one = encode_elements(decl.datatype, 1)
    shapes: dict[str, list[int]] = {
        "negative batch": [-1, *good_shape(decl, 1)[1:]],
        "negative inner": [1, *([-5] * (rank - 1))] if rank > 1 else [-5],
        "huge batch": [2**40, *good_shape(decl, 1)[1:]],
        "product overflows int64": [2**62, 2**62, *([2**62] * max(rank - 2, 0))][: max(rank, 2)],
        "product overflows, right rank": [2**31] * rank,
        "65 dimensions": [1] * 65,
        "1000 dimensions": [1] * 1000,
        "rank too small": good_shape(decl, 1)[:-1] or [],
        "rank too large": [*good_shape(decl, 1), 1],
        "rows over max_batch_size": [model.max_batch_size + 1, *good_shape(decl, 1)[1:]],
        "int64 max dims": [2**63 - 1] * rank,
    }
    for what, shape in shapes.items():
        yield _case(model, f"shape {what}", _with_first_input(model, shape=shape, raw=one))
    zero_shapes = {
        "zero rows": [0, *good_shape(decl, 1)[1:]],
        "zero inner": [1, *([0] * (rank - 1))] if rank > 1 else [0],
        "zero with huge others": [0, *([2**62] * (rank - 1))] if rank > 1 else [0],
        "huge then zero": [1, *([10**12] * (rank - 2)), 0] if rank > 1 else [0],
    }
    for what, shape in zero_shapes.items():
        yield _case(model, f"shape {what}, empty raw", _with_first_input(model, shape=shape, raw=b""))
        yield _case(model, f"shape {what}, some raw", _with_first_input(model, shape=shape, raw=bytes(item * 4)))


def _datatype_cases(model: ServedModel) -> Iterator[HostileCase]:
    decl = model.inputs[0]
    count = math.prod(good_shape(decl, 1))
    for what, datatype in {"unknown": "FP8", "empty": "", "lower case": decl.datatype.lower(),
                           "5000 chars": "X" * 5000, "NUL": "FP\x0032"}.items():
        yield _case(model, f"datatype {what}", _with_first_input(model, datatype=datatype))
    for datatype in DATATYPES:
        if datatype != decl.datatype:
            raw = encode_elements(datatype, count)
            yield _case(model, f"datatype {datatype} for {decl.datatype}", _with_first_input(model, datatype=datatype, raw=raw))


def _size_cases(model: ServedModel) -> Iterator[HostileCase]:
    good = good_request(model)
    raw = good.raw_input_contents[0]
    yield _case(model, "raw one byte short", _with_first_input(model, raw=raw[:-1]))
    yield _case(model, "raw one byte long", _with_first_input(model, raw=raw + b"\0"))
    yield _case(model, "raw empty", _with_first_input(model, raw=b""))
    yield _case(model, "raw 1 MiB for the shape", _with_first_input(model, raw=bytes(2**20)))
    extra = good_request(model)
    extra.raw_input_contents.append(b"\0" * 8)
    yield _case(model, "more raw entries than inputs", extra)
    both = good_request(model)
    both.inputs[0].contents.fp32_contents.append(1.0)
    yield _case(model, "raw and typed contents together", both)
    typed = good_request(model)
    del typed.raw_input_contents[:]
    yield _case(model, "no raw and no typed contents", typed)
    missing = pb.ModelInferRequest(model_name=model.name)
    yield _case(model, "no inputs", missing)
    many = good_request(model)
    for i in range(1000):
        many.inputs.add(name=f"extra{i}", datatype="FP32", shape=[1])
        many.raw_input_contents.append(b"\0\0\0\0")
    yield _case(model, "1000 extra inputs", many)
    repeated = good_request(model)
    repeated.inputs.append(repeated.inputs[0])
    repeated.raw_input_contents.append(repeated.raw_input_contents[0])
    yield _case(model, "input repeated", repeated)
    typed_wrong = good_request(model)
    del typed_wrong.raw_input_contents[:]
    typed_wrong.inputs[0].contents.int64_contents.extend(range(3))
    yield _case(model, "typed contents in the wrong field", typed_wrong)
    half = _with_first_input(model, datatype="FP16", raw=None)
    del half.raw_input_contents[:]
    half.inputs[0].contents.fp32_contents.append(1.0)
    yield _case(model, "typed contents for FP16", half)


def _bytes_layout_cases(model: ServedModel) -> Iterator[HostileCase]:
    length = struct.Struct("<I")
    layouts = {
        "truncated length prefix": length.pack(2) + b"ok" + b"\x02\x00\x00",
        "length past the end": length.pack(2) + b"ok" + length.pack(2**31) + b"x",
        "length 0xFFFFFFFF": length.pack(2**32 - 1) + b"x" * 8,
        "trailing bytes": length.pack(2) + b"ok" + length.pack(2) + b"ok" + b"junk",
        "too few elements": length.pack(2) + b"ok",
        "empty": b"",
    }
    decl = next(d for d in model.inputs if d.datatype == "BYTES")
    index = [d.name for d in model.inputs].index(decl.name)
    for what, raw in layouts.items():
        request = good_request(model)
        del request.inputs[index].shape[:]
        request.inputs[index].shape.extend([2, *([1] * (len(decl.shape) - 1))])
        request.raw_input_contents[index] = raw
        yield _case(model, f"BYTES {what}", request)
    over = good_request(model)
    del over.inputs[index].shape[:]
    over.inputs[index].shape.extend([2**40, *([1] * (len(decl.shape) - 1))])
    over.raw_input_contents[index] = bytes(4096)
    yield _case(model, "BYTES 2**40 elements declared", over)


def _name_cases(model: ServedModel) -> Iterator[HostileCase]:
    for what, name in HOSTILE_NAMES.items():
        request = good_request(model)
        request.model_name = name
        yield _case(model, f"model name {what}", request, REFUSED | {"NOT_FOUND"})
    for what, version in {"letters": "abc", "negative": "-1", "21 digits": "9" * 21, "5000 chars": "1" * 5000,
                          "not served": "999"}.items():
        request = good_request(model)
        request.model_version = version
        yield _case(model, f"model version {what}", request, REFUSED | {"NOT_FOUND"})
    for what, name in {"unknown": "nope", "5000 chars": "i" * 5000, "empty": "", "NUL": "x\x00"}.items():
        yield _case(model, f"input name {what}", _with_first_input(model, name=name))


def _parameter_cases(model: ServedModel) -> Iterator[HostileCase]:
    params: dict[str, tuple[dict[str, pb.InferParameter], frozenset[str]]] = {
        "priority as string": ({"priority": pb.InferParameter(string_param="high")}, REFUSED),
        "priority as bool": ({"priority": pb.InferParameter(bool_param=True)}, REFUSED),
        "priority as double": ({"priority": pb.InferParameter(double_param=1.5)}, REFUSED),
        "priority negative": ({"priority": pb.InferParameter(int64_param=-1)}, REFUSED),
        "priority uint64 max": ({"priority": pb.InferParameter(uint64_param=2**64 - 1)}, REFUSED),
        "timeout negative": ({"timeout": pb.InferParameter(int64_param=-5)}, REFUSED),
        "timeout 1 MiB string": ({"timeout": pb.InferParameter(string_param="9" * 2**20)}, REFUSED),
        "unknown parameter 1 MiB string": ({"x": pb.InferParameter(string_param="y" * 2**20)}, frozenset({"OK"})),
        "empty parameter": ({"sequence_id": pb.InferParameter()}, frozenset({"OK"})),
        "100 parameters": ({f"p{i}": pb.InferParameter(int64_param=i) for i in range(100)}, REFUSED),
    }
    for what, (parameters, expected) in params.items():
        request = good_request(model)
        for key, value in parameters.items():
            request.parameters[key].CopyFrom(value)
        yield _case(model, f"parameters {what}", request, expected)


def _output_cases(model: ServedModel) -> Iterator[HostileCase]:
    for what, names in {
        "unknown": ["nope"],
        "5000 chars": ["o" * 5000],
        "repeated": [model.outputs[0]] * 2,
        "repeated past the model's count": [model.outputs[0]] * (len(model.outputs) + 1),
        "10000 outputs": [f"o{i}" for i in range(10_000)],
    }.items():
        request = good_request(model)
        for name in names:
            request.outputs.add(name=name)
        yield _case(model, f"outputs {what}", request)


@dataclass(frozen=True)
class RepositoryCall:
    """A hostile call of a model-management or metadata RPC: `method` of the stub, its request,
    and the statuses it may get."""

    label: str
    method: str
    request: object
    expected: frozenset[str]


def hostile_repository_calls(served_name: str) -> Iterator[RepositoryCall]:
    """RepositoryModelLoad/Unload, ModelMetadata, ModelConfig and ModelStatistics with every
    hostile name and version; none may touch a path outside the repository."""
    named = REFUSED | {"NOT_FOUND"}
    for what, name in HOSTILE_NAMES.items():
        yield RepositoryCall(f"load {what}", "RepositoryModelLoad", pb.RepositoryModelLoadRequest(model_name=name), named)
        yield RepositoryCall(
            f"unload {what}", "RepositoryModelUnload", pb.RepositoryModelUnloadRequest(model_name=name), named
        )
        yield RepositoryCall(f"metadata {what}", "ModelMetadata", pb.ModelMetadataRequest(name=name), named)
        yield RepositoryCall(f"config {what}", "ModelConfig", pb.ModelConfigRequest(name=name), named)
        if name:  # an empty name asks for every model's statistics
            yield RepositoryCall(f"statistics {what}", "ModelStatistics", pb.ModelStatisticsRequest(name=name), named)
    for what, version in {"letters": "abc", "5000 chars": "1" * 5000, "21 digits": "9" * 21}.items():
        yield RepositoryCall(
            f"metadata version {what}", "ModelMetadata", pb.ModelMetadataRequest(name=served_name, version=version), named
        )
    yield RepositoryCall(
        "index of a 5000-char repository", "RepositoryIndex", pb.RepositoryIndexRequest(repository_name="r" * 5000),
        REFUSED,
    )


def interleaved(models: Sequence[ServedModel], good_every: int = 1) -> Iterator[HostileCase]:
    """Every model's hostile cases with a good request (expected OK) after every `good_every` of
    them, each request with its own id (`hostile-N`, `good-N`) so that answers in completion
    order can be matched."""
    goods = itertools.cycle(models)
    cases = (case for model in models for case in hostile_cases(model))
    for number, case in enumerate(cases):
        request = pb.ModelInferRequest()
        request.CopyFrom(case.request)
        request.id = f"hostile-{number}"
        yield HostileCase(case.label, request, case.expected)
        if number % good_every == 0:
            model = next(goods)
            yield HostileCase(f"{model.name}: good", good_request(model, request_id=f"good-{number}"), frozenset({"OK"}))
