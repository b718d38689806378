"""The `onnx` step: an ONNX graph from the model version's directory, run by ONNX Runtime with the
model's execution providers. Its ports are the graph's input and output names.

A row-wise graph can also run over tensors with extra leading dimensions (per channel of each
window, say): `extra_leading_dims` folds them into the graph's rows and back.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from accel.backends.onnx import OnnxBackend
from accel.errors import InvalidInput, ModelConfigError
from accel.model import Tensor, TensorSpec
from accel.steps import Step, StepContext, TypedStepKind


class OnnxStepOptions(BaseModel):
    """Example: `{"step": "onnx", "model": "model.onnx"}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = "model.onnx"
    """The graph file, relative to the version directory and inside it (no `..`, not absolute), so
    that a version directory holds what its version computes: another model's retraining never
    changes it, and repository polling sees its files. A symbolic link placed there by an
    operator is followed."""
    extra_leading_dims: int = Field(0, ge=0)
    """Dimensions the tensors carry between the batch dimension and the graph's own, e.g. 1 to
    run a graph of `[rows, 32]` over `[batch, n_channels, 32]`; every position is one graph row."""


class FoldedGraph:
    """A row-wise graph over tensors with `extra` more leading dimensions: inputs
    `[batch, d1.., *graph_dims]` run as `[batch * d1.., *graph_dims]`, outputs come back as
    `[batch, d1.., *output_dims]`."""

    def __init__(self, graph: Step, extra: int) -> None:
        self._graph = graph
        self._extra = extra
        self.inputs = [self._widen(spec) for spec in graph.inputs]
        self.outputs = [self._widen(spec) for spec in graph.outputs]

    def _widen(self, spec: TensorSpec) -> TensorSpec:
        return TensorSpec(spec.name, spec.datatype, (spec.shape[0], *(-1,) * self._extra, *spec.shape[1:]))

    def run(self, inputs: dict[str, Tensor]) -> dict[str, Tensor]:
        leading = {value.shape[: 1 + self._extra] for value in inputs.values()}
        if len(leading) != 1:
            raise InvalidInput(f"onnx step: inputs disagree on their leading dimensions {sorted(leading)}")
        [shape] = leading
        rows = {name: value.reshape(-1, *value.shape[1 + self._extra :]) for name, value in inputs.items()}
        outputs = self._graph.run(rows)
        return {name: value.reshape(*shape, *value.shape[1:]) for name, value in outputs.items()}

    def close(self) -> None:
        self._graph.close()


def build_onnx_step(options: OnnxStepOptions, context: StepContext) -> Step:
    relative = Path(options.model)
    if relative.is_absolute() or ".." in relative.parts:
        raise ModelConfigError(
            f"{context.where}.model: {options.model!r} leaves the version directory {context.version_dir}; "
            "copy the graph into the version directory"
        )
    path = context.version_dir / relative
    if not path.is_file():
        raise ModelConfigError(f"{context.where}.model: no file {path}")
    graph = OnnxBackend(path, list(context.execution_providers), context.intra_op_threads)
    return FoldedGraph(graph, options.extra_leading_dims) if options.extra_leading_dims else graph


ONNX_STEP = TypedStepKind(OnnxStepOptions, build_onnx_step)
