"""The Rebellions NPU backend: a compiled `.rbln` model run by the vendor's `rebel` runtime.

The runtime comes from the vendor's own package index, so it is imported only when a model asks
for it; where it is missing the model is refused with RuntimeUnavailable and the server serves the
rest. A compiled model has static shapes, so batches run in chunks of the compiled batch size.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from accel.errors import BackendFailure, ModelConfigError, RuntimeUnavailable
from accel.model import Tensor, TensorSpec
from inference_protocol.tensors import datatype_of

RUNTIME_MODULE = "rebel"
MODEL_FILE = "model.rbln"


class RebelRuntime(Protocol):
    """The part of `rebel.Runtime` this backend uses: positional inputs in the model's input
    order, one array or a sequence of arrays back in its output order."""

    def run(self, *inputs: Tensor) -> Tensor | Sequence[Tensor]: ...


class RebelBackend:
    """A `.rbln` file on one NPU.

    Args:
        path: the compiled model.
        inputs, outputs: the model's tensors as config.json declares them (batch dimension -1).
        compiled_batch_size: rows the model was compiled for.
        device: NPU device number; None: the runtime's default.

    Raises:
        RuntimeUnavailable: the `rebel` module cannot be imported here.
        ModelConfigError: the file is missing or the runtime refuses it.
    """

    def __init__(
        self,
        path: Path,
        inputs: list[TensorSpec],
        outputs: list[TensorSpec],
        compiled_batch_size: int = 1,
        device: int | None = None,
    ) -> None:
        try:
            rebel = importlib.import_module(RUNTIME_MODULE)
        except ImportError as exc:
            raise RuntimeUnavailable(
                f"{path}: backend 'rebel' needs Rebellions' NPU runtime, the Python module "
                f"'rebel' (package rebel-compiler, from the vendor's package index), which cannot be imported "
                f"on this node: {exc}"
            ) from exc
        if not path.is_file():
            raise ModelConfigError(f"{path}: no compiled model (backend 'rebel' loads <version>/{MODEL_FILE})")
        options: dict[str, object] = {"tensor_type": "np"}
        if device is not None:
            options["device"] = device
        try:
            self._runtime: RebelRuntime = rebel.Runtime(str(path), **options)
        except Exception as exc:  # the vendor runtime's own exception types are not ours to know
            raise ModelConfigError(f"{path}: the rebel runtime cannot load the model: {exc}") from exc
        self.inputs = inputs
        self.outputs = outputs
        self._chunk_rows = compiled_batch_size

    def run(self, inputs: dict[str, Tensor]) -> dict[str, Tensor]:
        arrays = [np.ascontiguousarray(inputs[spec.name]) for spec in self.inputs]
        rows = arrays[0].shape[0]
        chunk = self._chunk_rows
        padded_rows = -(-rows // chunk) * chunk
        if padded_rows != rows:
            # the compiled graph takes exactly `chunk` rows; the padding rows' answers are dropped
            arrays = [np.concatenate([a, np.zeros((padded_rows - rows, *a.shape[1:]), a.dtype)]) for a in arrays]
        parts = [self._run_chunk([a[start : start + chunk] for a in arrays]) for start in range(0, padded_rows, chunk)]
        return {
            spec.name: (parts[0][i] if len(parts) == 1 else np.concatenate([p[i] for p in parts]))[:rows]
            for i, spec in enumerate(self.outputs)
        }

    def _run_chunk(self, arrays: list[Tensor]) -> list[Tensor]:
        try:
            result = self._runtime.run(*arrays)
        except Exception as exc:
            raise BackendFailure(f"rebel runtime failed: {exc}") from exc
        values = [result] if isinstance(result, np.ndarray) else [np.asarray(r) for r in result]
        if len(values) != len(self.outputs):
            raise BackendFailure(
                f"rebel runtime gave {len(values)} outputs; config.json declares {len(self.outputs)}: "
                f"{[s.name for s in self.outputs]}"
            )
        rows = arrays[0].shape[0]
        for spec, value in zip(self.outputs, values, strict=True):
            if datatype_of(value) != spec.datatype or value.ndim != len(spec.shape) or value.shape[0] != rows:
                raise BackendFailure(
                    f"rebel runtime gave output {spec.name!r} as {datatype_of(value)} {list(value.shape)} for "
                    f"{rows} rows; config.json declares {spec.describe()}"
                )
        return values

    def close(self) -> None:
        del self._runtime
