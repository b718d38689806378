"""The `onnx` step loads a graph from inside the version directory with the model's execution
providers, and exposes the graph's tensors as its ports."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from accel.errors import ModelConfigError
from accel.model import TensorSpec
from accel.steps import StepContext
from accel.steps.onnx import ONNX_STEP

from ..conftest import write_doubler


def _context(version_dir: Path, providers: tuple[str, ...] = ("CPUExecutionProvider",)) -> StepContext:
    return StepContext("config.json: steps.0", version_dir, execution_providers=providers)


def test_the_graphs_tensors_are_the_steps_ports(tmp_path: Path) -> None:
    write_doubler(tmp_path / "graphs" / "doubler.onnx")
    step = ONNX_STEP.build({"model": "graphs/doubler.onnx"}, _context(tmp_path))
    assert step.inputs == [TensorSpec("x", "FP32", (-1, 4))]
    assert [s.name for s in step.outputs] == ["y", "positive"]
    assert step.run({"x": np.ones((2, 4), np.float32)})["y"].tolist() == [[2.0] * 4] * 2
    step.close()


@pytest.mark.parametrize("model", ["../other/1/model.onnx", "graphs/../../model.onnx", "/tmp/model.onnx"])
def test_a_graph_path_that_leaves_the_version_directory_is_refused(tmp_path: Path, model: str) -> None:
    with pytest.raises(ModelConfigError, match=f"steps.0.model: '{model}' leaves the version directory"):
        ONNX_STEP.build({"model": model}, _context(tmp_path))


def test_a_link_an_operator_placed_in_the_version_directory_is_followed(tmp_path: Path) -> None:
    version_dir = tmp_path / "model" / "1"
    write_doubler(tmp_path / "shared" / "doubler.onnx")
    version_dir.mkdir(parents=True)
    os.symlink(tmp_path / "shared" / "doubler.onnx", version_dir / "model.onnx")
    assert [s.name for s in ONNX_STEP.build({}, _context(version_dir)).outputs] == ["y", "positive"]


def test_the_models_execution_providers_are_used(tmp_path: Path) -> None:
    write_doubler(tmp_path / "model.onnx")
    with pytest.raises(ModelConfigError, match=r"\['NoSuchExecutionProvider'\] are not in this ONNX Runtime build"):
        ONNX_STEP.build({}, _context(tmp_path, ("NoSuchExecutionProvider",)))


def test_extra_leading_dimensions_fold_into_the_graphs_rows_and_back(tmp_path: Path) -> None:
    write_doubler(tmp_path / "model.onnx")
    step = ONNX_STEP.build({"extra_leading_dims": 1}, _context(tmp_path))
    assert step.inputs == [TensorSpec("x", "FP32", (-1, -1, 4))]
    assert [s.shape for s in step.outputs] == [(-1, -1, 4), (-1, -1, 4)]
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    outputs = step.run({"x": x})
    np.testing.assert_array_equal(outputs["y"], 2 * x)
    assert outputs["positive"].shape == (2, 3, 4)
