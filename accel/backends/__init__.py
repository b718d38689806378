"""Backends that run a model: one small interface, several runtimes."""

from __future__ import annotations

from typing import Protocol

from accel.model import Tensor, TensorSpec


class Backend(Protocol):
    """A loaded model that computes a whole batch synchronously (called from a worker thread)."""

    inputs: list[TensorSpec]
    outputs: list[TensorSpec]

    def run(self, inputs: dict[str, Tensor]) -> dict[str, Tensor]:
        """Compute every output for a batch of inputs whose first dimension is the batch."""
        ...

    def close(self) -> None:
        """Release the runtime's resources."""
        ...
