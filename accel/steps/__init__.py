"""Steps of a model pipeline: stateless batch computations (pre-processing kernels, ONNX graphs,
post-processing) that the `pipeline` backend chains into one served model.

A step kind is registered by name in `accel.steps.registry`; config.json names it and gives its
options. Built, a step declares the tensors it reads and writes (its ports) and computes a whole
batch at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from accel.errors import ModelConfigError
from accel.model import Tensor, TensorSpec


class Step(Protocol):
    """One built step: input specs -> output specs, computed for a whole batch (first dimension)
    synchronously, from the batcher's worker thread. Any `Backend` is a step too."""

    inputs: list[TensorSpec]
    outputs: list[TensorSpec]

    def run(self, inputs: dict[str, Tensor]) -> dict[str, Tensor]:
        """Every output for a batch of inputs keyed by port name; the batch dimension is kept."""
        ...

    def close(self) -> None:
        """Release what the step holds (a runtime session)."""
        ...


@dataclass(frozen=True)
class StepContext:
    """What a step kind may know while building one step of one model version.

    Example: `StepContext("…/fiber-events-classes/config.json: steps.1", version_dir,
    upstream={"probabilities": TensorSpec("probabilities", "FP32", (-1, 6))},
    bindings={"scores": "probabilities"})`.
    """

    where: str
    """`<config.json path>: steps.<i>`, the prefix of every error about this step."""
    version_dir: Path
    """The model version's directory; files a step loads live inside it."""
    upstream: Mapping[str, TensorSpec] = field(default_factory=dict)
    """Tensors written by earlier steps, by pipeline tensor name."""
    bindings: Mapping[str, str] = field(default_factory=dict)
    """Input port -> pipeline tensor name, from the step's `inputs` in config.json."""
    execution_providers: tuple[str, ...] = ("CPUExecutionProvider",)
    """ONNX Runtime providers of the model, for steps that run a graph."""
    intra_op_threads: int = 1
    """ONNX Runtime threads per computation."""

    def input_spec(self, port: str) -> TensorSpec | None:
        """The spec of the tensor an input port is bound to, if an earlier step writes it."""
        return self.upstream.get(self.bindings.get(port, port))

    def tensor_name(self, port: str) -> str:
        return self.bindings.get(port, port)


class StepKind(Protocol):
    """A kind of step as config.json names it."""

    def check(self, options: Mapping[str, object]) -> None:
        """Raise ValueError naming the option and its limit when `options` are not valid."""
        ...

    def build(self, options: Mapping[str, object], context: StepContext) -> Step:
        """Build one step; raise ModelConfigError prefixed with `context.where` when it cannot be."""
        ...


Options = TypeVar("Options", bound=BaseModel)


@dataclass(frozen=True)
class TypedStepKind(Generic[Options]):
    """A step kind whose options are one pydantic model (extra keys refused), e.g.
    `TypedStepKind(TopKOptions, build_top_k)`."""

    options: type[Options]
    make: Callable[[Options, StepContext], Step]

    def parse(self, options: Mapping[str, object]) -> Options:
        try:
            return self.options.model_validate(dict(options))
        except ValidationError as exc:
            problems = "; ".join(f"option {'.'.join(map(str, e['loc']))!r}: {e['msg']}" for e in exc.errors())
            raise ValueError(problems) from exc

    def check(self, options: Mapping[str, object]) -> None:
        self.parse(options)

    def build(self, options: Mapping[str, object], context: StepContext) -> Step:
        try:
            parsed = self.parse(options)
        except ValueError as exc:
            raise ModelConfigError(f"{context.where}: {exc}") from exc
        return self.make(parsed, context)
