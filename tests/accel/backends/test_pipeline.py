"""The `pipeline` backend: steps wired by tensor name into one model with its own inputs and
outputs, every wiring mistake refused by file and field, and the shipped `fiber-events-classes`
and `fiber-events-raw` answering what `fiber-events` answers, through a real server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import grpc
import numpy as np
import pytest

from accel.backends.pipeline import PipelineBackend, build_pipeline
from accel.errors import ModelConfigError
from accel.model import TensorSpec
from accel.model_config import read_config
from accel.repository import ModelRepository
from accel.server import AccelServer
from accel.settings import AccelSettings
from edgectl.synthetic.das import DasWindowGenerator
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc
from inference_protocol.service import SiteIdentity
from kernels.das_features import das_features

from ..conftest import write_doubler

ONNX = {"step": "onnx", "model": "model.onnx"}
ARGMAX_OF_Y = {"step": "argmax_with_confidence", "inputs": {"scores": "y"}}


def _pipeline(model_dir: Path, steps: list[dict[str, object]], **keys: object) -> PipelineBackend:
    """Build version 1 of a pipeline whose version directory holds the doubler graph."""
    write_doubler(model_dir / "1" / "model.onnx")
    (model_dir / "config.json").write_text(json.dumps({"backend": "pipeline", "steps": steps, **keys}))
    return build_pipeline(read_config(model_dir), model_dir / "1", model_dir / "config.json")


def test_the_model_inputs_are_what_the_first_readers_need_and_the_outputs_the_last_steps(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path, [ONNX, ARGMAX_OF_Y])
    assert pipeline.inputs == [TensorSpec("x", "FP32", (-1, 4))]
    assert pipeline.outputs == [TensorSpec("class_index", "INT64", (-1,)), TensorSpec("confidence", "FP32", (-1,))]
    x = np.array([[0.1, 0.4, 0.2, 0.3], [0.5, 0.1, 0.1, 0.3]], np.float32)
    outputs = pipeline.run({"x": x})
    assert outputs["class_index"].tolist() == [1, 0]
    np.testing.assert_allclose(outputs["confidence"], [0.8, 1.0])
    pipeline.close()


def test_declared_outputs_pick_any_tensor_a_step_writes(tmp_path: Path) -> None:
    y = {"name": "y", "datatype": "FP32", "dims": [4]}
    index = {"name": "class_index", "datatype": "INT64", "dims": []}
    pipeline = _pipeline(tmp_path, [ONNX, ARGMAX_OF_Y], outputs=[index, y])
    assert [s.name for s in pipeline.outputs] == ["class_index", "y"]
    outputs = pipeline.run({"x": np.ones((3, 4), np.float32)})
    assert list(outputs) == ["class_index", "y"] and outputs["y"].shape == (3, 4)


def test_ports_bind_to_renamed_tensors_so_a_graph_can_run_twice(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path, [
        {**ONNX, "outputs": {"y": "doubled", "positive": "positive_once"}},
        {**ONNX, "inputs": {"x": "doubled"}, "outputs": {"y": "quadrupled"}},
        {"step": "top_k", "k": 2, "inputs": {"scores": "quadrupled"}, "outputs": {"indices": "top"}},
    ])
    assert [s.name for s in pipeline.inputs] == ["x"]
    assert [(s.name, s.shape) for s in pipeline.outputs] == [("top", (-1, 2)), ("values", (-1, 2))]
    outputs = pipeline.run({"x": np.array([[1, 3, 2, 0]], np.float32)})
    assert outputs["top"].tolist() == [[1, 2]] and outputs["values"].tolist() == [[12.0, 8.0]]


@pytest.mark.parametrize(
    ("steps", "keys", "message"),
    [
        ([ARGMAX_OF_Y], {}, "steps.0.inputs.scores: argmax_with_confidence reads tensor 'y', which no earlier step writes"),
        ([{**ONNX, "inputs": {"z": "x"}}], {}, r"steps.0.inputs: no port \['z'\] on this step; its inputs: \['x'\]"),
        ([{**ONNX, "outputs": {"why": "y"}}], {}, r"steps.0.outputs: no port \['why'\] on this step; its outputs: \['y', 'positive'\]"),
        ([ONNX, ONNX], {}, "steps.1.outputs: tensor 'y' is already written; bind the port 'y' to another name"),
        ([{**ONNX, "outputs": {"y": "x"}}], {}, "steps.0.outputs: tensor 'x' is already a model input"),
        ([ONNX, {**ONNX, "inputs": {"x": "positive"}}], {},
         r"steps.1: input 'x' needs FP32 \[-1, 4\], but tensor 'positive' is BOOL \[-1, 4\]"),
        ([ONNX, {"step": "argmax_with_confidence", "inputs": {"scores": "positive"}}], {},
         r"steps.1.inputs.scores: argmax_with_confidence needs floating-point scores \[batch, ..., n_classes\], got BOOL"),
        ([ONNX, {"step": "top_k", "k": 5, "inputs": {"scores": "y"}}], {}, "steps.1.k: 5 is more than the 4 classes scored"),
        ([{"step": "onnx", "model": "../../other/1/model.onnx"}], {}, "steps.0.model: '../../other/1/model.onnx' leaves the version directory"),
        ([{"step": "onnx", "model": "missing.onnx"}], {}, "steps.0.model: no file .*missing.onnx"),
        ([ONNX, ARGMAX_OF_Y], {"outputs": [{"name": "label", "datatype": "INT64", "dims": []}]},
         r"outputs.0.name: the pipeline has no tensor 'label'; it has \['class_index', 'confidence', 'positive', 'y'\]"),
        ([ONNX, ARGMAX_OF_Y], {"outputs": [{"name": "class_index", "datatype": "INT64", "dims": [3]}]},
         r"outputs.0: declared INT64 \[-1, 3\], but the steps give INT64 \[-1\]"),
        ([ONNX], {"inputs": [{"name": "x", "datatype": "FP64", "dims": [4]}]},
         r"inputs.0: declared FP64 \[-1, 4\], but the steps give FP32 \[-1, 4\]"),
        ([ONNX], {"inputs": []}, r"inputs: the steps also read \['x'\]; declare every model input"),
    ],
    ids=[
        "unwritten-scores", "unknown-input-port", "unknown-output-port", "written-twice", "overwrites-input",
        "datatype-mismatch", "bool-scores", "k-too-large", "path-escape", "missing-graph", "unknown-output",
        "output-dims", "input-datatype", "undeclared-input",
    ],
)
def test_a_wiring_mistake_names_the_file_and_the_field(
    tmp_path: Path, steps: list[dict[str, object]], keys: dict[str, object], message: str
) -> None:
    with pytest.raises(ModelConfigError, match=message) as caught:
        _pipeline(tmp_path, steps, **keys)
    assert str(caught.value).startswith(f"{tmp_path / 'config.json'}: ")


async def test_a_broken_pipeline_reload_keeps_the_served_version(tmp_path: Path) -> None:
    _pipeline(tmp_path / "p", [ONNX, ARGMAX_OF_Y]).close()
    repository = ModelRepository(tmp_path)
    await repository.load_all()
    try:
        (tmp_path / "p" / "config.json").write_text(json.dumps({"backend": "pipeline", "steps": [ARGMAX_OF_Y]}))
        with pytest.raises(ModelConfigError, match="which no earlier step writes"):
            await repository.load("p")
        outputs = await repository.resolve("p").batcher.infer({"x": np.eye(4, dtype=np.float32)})
        assert outputs["class_index"].tolist() == [0, 1, 2, 3]
    finally:
        await repository.close()


async def test_the_shipped_fiber_events_classes_answers_the_argmax_of_fiber_events() -> None:
    features = np.random.default_rng(11).normal(0.0, 3.0, size=(200, 32)).astype(np.float32)

    def request(model_name: str) -> pb.ModelInferRequest:
        message = pb.ModelInferRequest(model_name=model_name)
        message.inputs.add(name="features", datatype="FP32", shape=list(features.shape))
        message.raw_input_contents.append(features.tobytes())
        return message

    async with AccelServer(AccelSettings(port=0), SiteIdentity("kr-seoul", "S1")) as server:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            meta = await stub.ModelMetadata(pb.ModelMetadataRequest(name="fiber-events-classes"))
            config = (await stub.ModelConfig(pb.ModelConfigRequest(name="fiber-events-classes"))).config
            classes = await stub.ModelInfer(request("fiber-events-classes"))
            probabilities = await stub.ModelInfer(request("fiber-events"))
    assert (meta.platform, config.backend) == ("pipeline", "pipeline")
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.inputs] == [("features", "FP32", [-1, 32])]
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.outputs] == [
        ("class_index", "INT64", [-1]), ("confidence", "FP32", [-1])
    ]
    assert [(o.name, o.data_type, list(o.dims)) for o in config.output] == [
        ("class_index", pb.TYPE_INT64, []), ("confidence", pb.TYPE_FP32, [])
    ]
    p = np.frombuffer(probabilities.raw_output_contents[0], "<f4").reshape(200, 6)
    class_index = np.frombuffer(classes.raw_output_contents[0], "<i8")
    confidence = np.frombuffer(classes.raw_output_contents[1], "<f4")
    np.testing.assert_array_equal(class_index, p.argmax(axis=1))
    np.testing.assert_array_equal(confidence, p.max(axis=1))
    assert len(set(class_index.tolist())) >= 2, "the features exercise more than one class"


async def test_the_shipped_fiber_events_raw_answers_fiber_events_on_the_features_of_raw_windows() -> None:
    """Raw windows in, per-channel probabilities out: exactly what `fiber-events` answers on
    `das_features` of the same windows; windows of another size in the same moment are answered
    too, and a window too short is refused by name."""
    windows = np.stack([w.samples for w in DasWindowGenerator("kr-seoul", "S1", fibers=3, seed=5, event_rate=1.0).next_windows()])
    features = np.concatenate([das_features(w, 1000.0) for w in windows])

    def request(model_name: str, name: str, tensor: np.ndarray) -> pb.ModelInferRequest:
        message = pb.ModelInferRequest(model_name=model_name)
        message.inputs.add(name=name, datatype="FP32", shape=list(tensor.shape))
        message.raw_input_contents.append(np.ascontiguousarray(tensor, dtype="<f4").tobytes())
        return message

    async with AccelServer(AccelSettings(port=0), SiteIdentity("kr-seoul", "S1")) as server:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            meta = await stub.ModelMetadata(pb.ModelMetadataRequest(name="fiber-events-raw"))
            raw, shorter, reference = await asyncio.gather(
                stub.ModelInfer(request("fiber-events-raw", "samples", windows)),
                stub.ModelInfer(request("fiber-events-raw", "samples", windows[:1, :500, :40])),
                stub.ModelInfer(request("fiber-events", "features", features)),
            )
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.ModelInfer(request("fiber-events-raw", "samples", windows[:, :150]))
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.inputs] == [("samples", "FP32", [-1, -1, -1])]
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.outputs] == [("probabilities", "FP32", [-1, -1, 6])]
    assert list(raw.outputs[0].shape) == [3, 64, 6] and list(shorter.outputs[0].shape) == [1, 40, 6]
    np.testing.assert_array_equal(
        np.frombuffer(raw.raw_output_contents[0], "<f4"), np.frombuffer(reference.raw_output_contents[0], "<f4")
    )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "das_features: samples must hold more than 200 samples" in (caught.value.details() or "")
