"""FAKE of Rebellions' NPU runtime module `rebel`, for tests only: there is no NPU here.

It offers the part of the vendor API that accel/backends/rebel.py uses, `Runtime(path,
tensor_type="np", device=0)` and `.run(*inputs)` (one array back for one output, a list for
several), and behaves like a compiled model where the adapter depends on it: inputs are
positional, and their shapes must equal the compiled ones exactly, batch dimension included.
The "compiled model" this fake loads is an ONNX graph with fixed shapes, run by ONNX Runtime.
Tests put this directory on sys.path to make `import rebel` find it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

IS_FAKE = True
"""Lets a test assert that the fake, not a real runtime, was imported."""


@dataclass(frozen=True)
class Opened:
    path: str
    tensor_type: str
    device: int


opened: list[Opened] = []
"""Every Runtime created, in order."""
runs: list[list[tuple[int, ...]]] = []
"""The input shapes of every run, in order."""


class Runtime:
    """One compiled model on one (pretend) NPU."""

    def __init__(self, path: str, tensor_type: str = "np", device: int = 0) -> None:
        if tensor_type != "np":
            raise ValueError(f"this fake supports tensor_type 'np' only, got {tensor_type!r}")
        self._session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        self._inputs = self._session.get_inputs()
        opened.append(Opened(path, tensor_type, device))

    def run(self, *inputs: npt.NDArray[np.generic]) -> npt.NDArray[np.generic] | list[npt.NDArray[np.generic]]:
        if len(inputs) != len(self._inputs):
            raise RuntimeError(f"the compiled model takes {len(self._inputs)} inputs, got {len(inputs)}")
        for given, compiled in zip(inputs, self._inputs, strict=True):
            if list(given.shape) != compiled.shape:
                raise RuntimeError(f"input {compiled.name} was compiled for shape {compiled.shape}, got {list(given.shape)}")
        runs.append([x.shape for x in inputs])
        outputs = self._session.run(None, {compiled.name: x for compiled, x in zip(self._inputs, inputs, strict=True)})
        return outputs[0] if len(outputs) == 1 else list(outputs)
