"""The `pipeline` backend: a model's `steps` chained into one served model, tensors passed from step
to step by name within one batch computation, so clients make one call for pre-processing, the
graph and post-processing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from accel.errors import AccelError, BackendFailure, ModelConfigError
from accel.model import Tensor, TensorSpec
from accel.model_config import ModelConfig, TensorConfig
from accel.steps import Step, StepContext
from accel.steps.registry import STEP_KINDS


@dataclass(frozen=True)
class BoundStep:
    """A built step and where its ports read and write the pipeline's tensors."""

    label: str
    step: Step
    reads: Mapping[str, str]
    """Input port -> pipeline tensor."""
    writes: Mapping[str, str]
    """Output port -> pipeline tensor."""


class PipelineBackend:
    """Runs bound steps in order over one batch; `inputs` are the tensors the first readers need,
    `outputs` the tensors returned."""

    def __init__(self, steps: list[BoundStep], inputs: list[TensorSpec], outputs: list[TensorSpec]) -> None:
        self.steps = steps
        self.inputs = inputs
        self.outputs = outputs

    def run(self, inputs: dict[str, Tensor]) -> dict[str, Tensor]:
        tensors = dict(inputs)
        rows = next(iter(inputs.values())).shape[0]
        for bound in self.steps:
            try:
                results = bound.step.run({port: tensors[name] for port, name in bound.reads.items()})
            except AccelError:
                raise
            except Exception as exc:  # a step's failure fails this batch's requests, named, not the server
                raise BackendFailure(f"{bound.label} failed: {exc}") from exc
            for port, name in bound.writes.items():
                value = results[port]
                if value.ndim == 0 or value.shape[0] != rows:
                    raise BackendFailure(
                        f"{bound.label} gave {port!r} with shape {list(value.shape)} for a batch of {rows} rows"
                    )
                tensors[name] = value
        return {spec.name: tensors[spec.name] for spec in self.outputs}

    def close(self) -> None:
        for bound in self.steps:
            bound.step.close()


def build_pipeline(config: ModelConfig, version_dir: Path, config_path: Path) -> PipelineBackend:
    """Build every step of `config.steps` for one version, wiring ports to tensors.

    A tensor read by a step and not written by an earlier one is a model input (in order of first
    reading); a tensor is written once. The outputs are `config.outputs` (checked against what the
    steps write) or else the last step's outputs.

    Raises:
        ModelConfigError: naming the file and `steps.<i>`, `inputs` or `outputs`.
    """
    assert config.steps
    built: list[BoundStep] = []
    opened: list[Step] = []
    try:
        written: dict[str, TensorSpec] = {}
        model_inputs: dict[str, TensorSpec] = {}
        for i, step_config in enumerate(config.steps):
            where = f"{config_path}: steps.{i}"
            context = StepContext(
                where, version_dir, written, step_config.inputs,
                tuple(config.execution_providers), config.intra_op_threads,
            )
            step = STEP_KINDS[step_config.step].build(step_config.options, context)
            opened.append(step)
            _check_ports(where, "inputs", step_config.inputs, step.inputs)
            _check_ports(where, "outputs", step_config.outputs, step.outputs)
            reads = {spec.name: step_config.inputs.get(spec.name, spec.name) for spec in step.inputs}
            for spec in step.inputs:
                tensor = reads[spec.name]
                given = written.get(tensor) or model_inputs.get(tensor)
                if given is None:
                    model_inputs[tensor] = TensorSpec(tensor, spec.datatype, spec.shape)
                elif not spec.accepts(given):
                    raise ModelConfigError(
                        f"{where}: input {spec.name!r} needs {spec.describe()}, but tensor {tensor!r} "
                        f"is {given.describe()}"
                    )
            writes = {spec.name: step_config.outputs.get(spec.name, spec.name) for spec in step.outputs}
            for spec in step.outputs:
                tensor = writes[spec.name]
                if tensor in written or tensor in model_inputs:
                    raise ModelConfigError(
                        f"{where}.outputs: tensor {tensor!r} is already {'written' if tensor in written else 'a model input'}"
                        f"; bind the port {spec.name!r} to another name"
                    )
                written[tensor] = TensorSpec(tensor, spec.datatype, spec.shape)
            built.append(BoundStep(f"{config_path.parent.name} steps.{i} ({step_config.step})", step, reads, writes))
        inputs = _declared(config_path, "inputs", config.inputs, list(model_inputs.values()), every=True)
        last = [written[name] for name in built[-1].writes.values()]
        outputs = _declared(config_path, "outputs", config.outputs, list(written.values()), every=False) or last
    except BaseException:
        for opened_step in opened:
            opened_step.close()
        raise
    return PipelineBackend(built, inputs, outputs)


def _check_ports(where: str, field: str, bindings: Mapping[str, str], ports: list[TensorSpec]) -> None:
    unknown = sorted(set(bindings) - {p.name for p in ports})
    if unknown:
        raise ModelConfigError(f"{where}.{field}: no port {unknown} on this step; its {field}: {[p.name for p in ports]}")


def _declared(
    config_path: Path, field: str, declared: list[TensorConfig] | None, available: list[TensorSpec], every: bool
) -> list[TensorSpec]:
    """The tensors config.json declares in `field`, checked against `available` (and, with
    `every`, required to name all of them); the declared spec is served, as it may be narrower.
    Nothing declared: `available` with `every`, else nothing."""
    if declared is None:
        return available if every else []
    by_name = {spec.name: spec for spec in available}
    specs: list[TensorSpec] = []
    for i, tensor in enumerate(declared):
        spec = tensor.spec()
        found = by_name.get(spec.name)
        if found is None:
            raise ModelConfigError(
                f"{config_path}: {field}.{i}.name: the pipeline has no tensor {spec.name!r}; it has {sorted(by_name)}"
            )
        if not found.accepts(spec):
            raise ModelConfigError(
                f"{config_path}: {field}.{i}: declared {spec.describe()}, but the steps give {found.describe()}"
            )
        specs.append(spec)
    missing = sorted(set(by_name) - {s.name for s in specs}) if every else []
    if missing:
        raise ModelConfigError(f"{config_path}: {field}: the steps also read {missing}; declare every model input")
    return specs
