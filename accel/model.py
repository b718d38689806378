"""The accelerator's domain types: tensor specs, inference requests and responses.
Nothing here knows about protobuf; accel/grpc/convert.py translates at the edge."""

from __future__ import annotations

from dataclasses import dataclass, field

from inference_protocol.tensors import Tensor

__all__ = ["InferenceRequest", "InferenceResponse", "Tensor", "TensorSpec"]


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output, e.g. `TensorSpec("features", "FP32", (-1, 22))` (-1: any size)."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def accepts(self, other: TensorSpec) -> bool:
        """Whether a tensor described by `other` can be given where this spec is expected: the same
        datatype and rank, and every dimension equal or -1 on either side."""
        return (
            self.datatype == other.datatype
            and len(self.shape) == len(other.shape)
            and all(a == b or -1 in (a, b) for a, b in zip(self.shape, other.shape, strict=True))
        )

    def describe(self) -> str:
        """E.g. `FP32 [-1, 32]`."""
        return f"{self.datatype} {list(self.shape)}"


@dataclass
class InferenceRequest:
    """A decoded ModelInfer request."""

    model_name: str
    model_version: str
    inputs: dict[str, Tensor]
    request_id: str = ""
    requested_outputs: list[str] | None = None
    parameters: dict[str, bool | int | float | str] = field(default_factory=dict)
    priority: int = 0
    """1 is the highest priority; 0 takes the model's default level."""
    timeout_us: int | None = None
    """How long the request may wait in the queue, in microseconds; None: the model's default."""


@dataclass
class InferenceResponse:
    """The outputs of one request, in the model's output order."""

    model_name: str
    model_version: str
    outputs: dict[str, Tensor]
    request_id: str = ""
