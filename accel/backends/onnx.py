"""The ONNX Runtime backend, with execution providers chosen per model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from accel.errors import BackendFailure, ModelConfigError
from accel.model import Tensor, TensorSpec

_ORT_TO_DATATYPE = {
    "tensor(bool)": "BOOL",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(float16)": "FP16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(string)": "BYTES",
}


def _spec(node: ort.NodeArg) -> TensorSpec:
    shape = tuple(d if isinstance(d, int) else -1 for d in node.shape)
    return TensorSpec(node.name, _ORT_TO_DATATYPE.get(node.type, node.type), shape)


class OnnxBackend:
    """A model file run by ONNX Runtime.

    Args:
        path: the `.onnx` file.
        providers: execution provider names in preference order, e.g. `["CPUExecutionProvider"]`.
        intra_op_threads: threads one computation may use (0: the runtime decides).
    """

    def __init__(self, path: Path, providers: list[str], intra_op_threads: int = 1) -> None:
        available = ort.get_available_providers()
        missing = [p for p in providers if p not in available]
        if missing:
            raise ModelConfigError(
                f"{path}: execution provider(s) {missing} are not in this ONNX Runtime build; "
                f"available: {available}"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        except Exception as exc:  # ORT raises its own untyped exceptions for bad files
            raise ModelConfigError(f"{path}: ONNX Runtime cannot load the model: {exc}") from exc
        self.inputs = [_spec(i) for i in self._session.get_inputs()]
        self.outputs = [_spec(o) for o in self._session.get_outputs()]
        self._output_names = [o.name for o in self.outputs]

    def run(self, inputs: dict[str, Tensor]) -> dict[str, Tensor]:
        try:
            results = self._session.run(self._output_names, inputs)
        except Exception as exc:
            raise BackendFailure(f"ONNX Runtime failed: {exc}") from exc
        return {name: np.asarray(value) for name, value in zip(self._output_names, results, strict=True)}

    def close(self) -> None:
        del self._session
