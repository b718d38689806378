"""Small real ONNX models and model repositories built for the accelerator tests."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper


def write_doubler(path: Path, width: int = 4) -> None:
    """An ONNX graph `y = 2 * x` over FP32 [batch, width], plus `n = x > 0` as BOOL."""
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    zero = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["y"]), helper.make_node("Greater", ["x", "zero"], ["positive"])],
        "doubler",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", width])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", width]),
            helper.make_tensor_value_info("positive", TensorProto.BOOL, ["batch", width]),
        ],
        [two, zero],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())


@pytest.fixture
def doubler_repository(tmp_path: Path) -> Path:
    """A model repository serving `doubler` versions 1 and 2."""
    for version in (1, 2):
        write_doubler(tmp_path / "doubler" / str(version) / "model.onnx")
    (tmp_path / "doubler" / "config.json").write_text(json.dumps({"max_batch_size": 64, "max_queue_size": 8, "latest_versions": 2}))
    return tmp_path


@pytest.fixture
def doubler_path(tmp_path: Path) -> Path:
    path = tmp_path / "doubler.onnx"
    write_doubler(path)
    onnx.checker.check_model(str(path))
    return path
