"""The Rebellions NPU adapter: without the vendor runtime a `rebel` model is UNAVAILABLE with its
reason while the server serves the rest; with it (here a FAKE of the runtime, tests/accel/fake_rebel,
as there is no NPU) batches run in chunks of the compiled batch size through a real server."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType

import grpc
import numpy as np
import pytest
from onnx import TensorProto, helper

from accel.backends.rebel import RebelBackend
from accel.errors import BackendFailure, ModelConfigError, RuntimeUnavailable
from accel.model import TensorSpec
from accel.server import AccelServer
from accel.settings import AccelSettings
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc
from inference_protocol.service import SiteIdentity

FAKE_REBEL_DIR = Path(__file__).resolve().parents[1] / "fake_rebel"
X = TensorSpec("x", "FP32", (-1, 4))
Y = TensorSpec("y", "FP32", (-1, 4))
TOTAL = TensorSpec("total", "FP32", (-1,))


def write_compiled(path: Path, batch: int, width: int = 4) -> None:
    """What the FAKE runtime takes as a compiled model: an ONNX graph of fixed shape [batch, width]
    giving `y = 2 * x` and `total`, the row sums of x."""
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["y"]), helper.make_node("ReduceSum", ["x", "axes"], ["total"], keepdims=0)],
        "compiled",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, width])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, width]),
            helper.make_tensor_value_info("total", TensorProto.FLOAT, [batch]),
        ],
        [two, axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())


@pytest.fixture
def fake_rebel(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """Makes `import rebel` find the FAKE NPU runtime, with its records emptied."""
    monkeypatch.delitem(sys.modules, "rebel", raising=False)
    monkeypatch.syspath_prepend(str(FAKE_REBEL_DIR))
    module = importlib.import_module("rebel")
    assert module.IS_FAKE
    module.opened.clear()
    module.runs.clear()
    yield module
    sys.modules.pop("rebel", None)


@pytest.fixture
def no_rebel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes `import rebel` fail, as on a node without the vendor runtime (even if one is installed)."""
    monkeypatch.setitem(sys.modules, "rebel", None)


@pytest.fixture
def npu_repository(doubler_repository: Path) -> Path:
    """The doubler repository plus `npu-doubler`, a rebel model compiled for batches of 4."""
    model_dir = doubler_repository / "npu-doubler"
    write_compiled(model_dir / "1" / "model.rbln", batch=4)
    (model_dir / "config.json").write_text(json.dumps({
        "backend": "rebel",
        "max_batch_size": 64,
        "rebel": {"compiled_batch_size": 4},
        "inputs": [{"name": "x", "datatype": "FP32", "dims": [4]}],
        "outputs": [{"name": "y", "datatype": "FP32", "dims": [4]}, {"name": "total", "datatype": "FP32", "dims": []}],
    }))
    return doubler_repository


@pytest.fixture
async def stub(npu_repository: Path) -> AsyncIterator[pb_grpc.GRPCInferenceServiceStub]:
    settings = AccelSettings(port=0, model_repository=npu_repository)
    async with AccelServer(settings, SiteIdentity("kr-seoul", "SEL-GN-0042")) as server:
        async with grpc.aio.insecure_channel(server.address) as channel:
            yield pb_grpc.GRPCInferenceServiceStub(channel)


def _request(model_name: str, rows: int) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name=model_name)
    request.inputs.add(name="x", datatype="FP32", shape=[rows, 4])
    request.raw_input_contents.append(np.arange(rows * 4, dtype=np.float32).tobytes())
    return request


def test_without_the_runtime_the_backend_says_what_is_missing(no_rebel: None, tmp_path: Path) -> None:
    with pytest.raises(RuntimeUnavailable) as caught:
        RebelBackend(tmp_path / "m" / "1" / "model.rbln", [X], [Y])
    assert caught.value.status == "UNAVAILABLE" and caught.value.retriable
    assert "needs Rebellions' NPU runtime, the Python module 'rebel'" in str(caught.value)
    assert "cannot be imported on this node" in str(caught.value)


async def test_without_the_runtime_the_model_is_unavailable_and_the_server_serves_the_others(
    no_rebel: None, stub: pb_grpc.GRPCInferenceServiceStub
) -> None:
    index = {m.name: m for m in (await stub.RepositoryIndex(pb.RepositoryIndexRequest())).models if m.name == "npu-doubler"}
    assert index["npu-doubler"].state == "UNAVAILABLE"
    reason = index["npu-doubler"].reason
    assert "needs Rebellions' NPU runtime" in reason
    assert not (await stub.ModelReady(pb.ModelReadyRequest(name="npu-doubler"))).ready
    for call in (
        stub.ModelInfer(_request("npu-doubler", 2)),
        stub.ModelMetadata(pb.ModelMetadataRequest(name="npu-doubler")),
        stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name="npu-doubler")),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "needs Rebellions' NPU runtime" in (caught.value.details() or "")
    assert (await stub.ModelReady(pb.ModelReadyRequest(name="doubler"))).ready
    assert (await stub.ModelInfer(_request("doubler", 2))).raw_output_contents


async def test_an_npu_model_is_served_through_the_adapter(
    fake_rebel: ModuleType, stub: pb_grpc.GRPCInferenceServiceStub
) -> None:
    meta = await stub.ModelMetadata(pb.ModelMetadataRequest(name="npu-doubler"))
    assert meta.platform == "rebel_rbln"
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.inputs] == [("x", "FP32", [-1, 4])]
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.outputs] == [("y", "FP32", [-1, 4]), ("total", "FP32", [-1])]
    config = (await stub.ModelConfig(pb.ModelConfigRequest(name="npu-doubler"))).config
    assert (config.backend, [list(o.dims) for o in config.output]) == ("rebel", [[4], []])

    response = await stub.ModelInfer(_request("npu-doubler", 6))
    x = np.arange(24, dtype=np.float32).reshape(6, 4)
    np.testing.assert_array_equal(np.frombuffer(response.raw_output_contents[0], "<f4").reshape(6, 4), 2 * x)
    np.testing.assert_array_equal(np.frombuffer(response.raw_output_contents[1], "<f4"), x.sum(axis=1))
    assert fake_rebel.runs == [[(4, 4)], [(4, 4)], [(4, 4)]]  # the warm-up at load; 6 rows: one full chunk, one padded
    assert [(Path(o.path).name, o.tensor_type) for o in fake_rebel.opened] == [("model.rbln", "np")]


def test_a_batch_runs_in_compiled_chunks_with_the_last_one_padded(fake_rebel: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "model.rbln"
    write_compiled(path, batch=4)
    backend = RebelBackend(path, [X], [Y, TOTAL], compiled_batch_size=4, device=1)
    x = np.random.default_rng(3).normal(size=(10, 4)).astype(np.float32)
    outputs = backend.run({"x": x})
    np.testing.assert_array_equal(outputs["y"], 2 * x)
    np.testing.assert_allclose(outputs["total"], x.sum(axis=1), rtol=1e-6)
    assert fake_rebel.runs == [[(4, 4)]] * 3
    assert fake_rebel.opened[0].device == 1
    backend.close()


def test_a_model_compiled_for_one_row_runs_row_by_row(fake_rebel: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "model.rbln"
    write_compiled(path, batch=1)
    backend = RebelBackend(path, [X], [Y, TOTAL])
    outputs = backend.run({"x": np.ones((3, 4), np.float32)})
    assert outputs["y"].shape == (3, 4) and outputs["total"].tolist() == [4.0] * 3
    assert fake_rebel.runs == [[(1, 4)]] * 3
    assert fake_rebel.opened[0].device == 0  # device unset: the fake's (the runtime's) default


def test_outputs_that_differ_from_the_config_fail_the_batch_by_name(fake_rebel: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "model.rbln"
    write_compiled(path, batch=2)
    too_few = RebelBackend(path, [X], [Y, TOTAL, TensorSpec("extra", "FP32", (-1,))], compiled_batch_size=2)
    with pytest.raises(BackendFailure, match=r"gave 2 outputs; config.json declares 3: \['y', 'total', 'extra'\]"):
        too_few.run({"x": np.ones((2, 4), np.float32)})
    wrong_type = RebelBackend(path, [X], [TensorSpec("y", "FP16", (-1, 4)), TOTAL], compiled_batch_size=2)
    with pytest.raises(BackendFailure, match=r"gave output 'y' as FP32 \[2, 4\] for 2 rows; config.json declares FP16 \[-1, 4\]"):
        wrong_type.run({"x": np.ones((2, 4), np.float32)})
    shape_mismatch = RebelBackend(path, [X], [Y, TOTAL], compiled_batch_size=4)
    with pytest.raises(BackendFailure, match="rebel runtime failed: input x was compiled for shape"):
        shape_mismatch.run({"x": np.ones((2, 4), np.float32)})


def test_a_missing_or_unreadable_compiled_model_names_the_file(fake_rebel: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(ModelConfigError, match=r"model.rbln: no compiled model \(backend 'rebel' loads <version>/model.rbln\)"):
        RebelBackend(tmp_path / "model.rbln", [X], [Y])
    (tmp_path / "model.rbln").write_bytes(b"not compiled")
    with pytest.raises(ModelConfigError, match="model.rbln: the rebel runtime cannot load the model"):
        RebelBackend(tmp_path / "model.rbln", [X], [Y])


async def test_an_npu_model_is_warmed_up_at_its_compiled_batch_size_before_it_is_served(
    fake_rebel: ModuleType, npu_repository: Path
) -> None:
    from accel.repository import ModelRepository

    repository = ModelRepository(npu_repository)
    await repository.load("npu-doubler")
    assert fake_rebel.runs, "a computation ran at load, before any request"
    assert fake_rebel.runs == [[(4, 4)]], "one computation at the one compiled shape"
    await repository.unload("npu-doubler")
