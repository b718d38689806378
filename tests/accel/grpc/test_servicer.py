"""The model configuration, statistics and repository RPCs on a real server, and a reload under
load that fails no request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from accel.server import AccelServer
from accel.settings import AccelSettings
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc
from inference_protocol.service import SiteIdentity


@pytest.fixture
async def stub(doubler_repository: Path) -> AsyncIterator[pb_grpc.GRPCInferenceServiceStub]:
    broken = doubler_repository / "broken" / "1"
    broken.mkdir(parents=True)
    (broken / "model.onnx").write_bytes(b"not onnx")
    settings = AccelSettings(port=0, model_repository=doubler_repository)
    async with AccelServer(settings, SiteIdentity("kr-seoul", "SEL-GN-0042")) as server:
        async with grpc.aio.insecure_channel(server.address) as channel:
            yield pb_grpc.GRPCInferenceServiceStub(channel)


def _request(rows: int = 2, width: int = 4, model_name: str = "doubler", version: str = "") -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name=model_name, model_version=version)
    request.inputs.add(name="x", datatype="FP32", shape=[rows, width])
    request.raw_input_contents.append(np.ones((rows, width), dtype=np.float32).tobytes())
    return request


async def _refused(call: object, code: grpc.StatusCode, message: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code() == code, caught.value.details()
    assert message in (caught.value.details() or "")


async def test_server_metadata_lists_tritons_extension_names(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    meta = await stub.ServerMetadata(pb.ServerMetadataRequest())
    assert {"model_repository", "model_configuration", "statistics", "binary_tensor_data"} <= set(meta.extensions)


async def test_model_config_reports_batching_and_tensors_without_the_batch_dimension(
    stub: pb_grpc.GRPCInferenceServiceStub,
) -> None:
    config = (await stub.ModelConfig(pb.ModelConfigRequest(name="doubler"))).config
    assert (config.name, config.platform, config.backend, config.max_batch_size) == (
        "doubler", "onnxruntime_onnx", "onnxruntime", 64
    )
    assert [(i.name, i.data_type, list(i.dims)) for i in config.input] == [("x", pb.TYPE_FP32, [4])]
    assert [(o.name, o.data_type, list(o.dims)) for o in config.output] == [
        ("y", pb.TYPE_FP32, [4]), ("positive", pb.TYPE_BOOL, [4])
    ]
    assert config.dynamic_batching.max_queue_delay_microseconds == 0
    assert config.dynamic_batching.default_queue_policy.max_queue_size == 8
    assert config.version_policy.latest.num_versions == 2
    await _refused(stub.ModelConfig(pb.ModelConfigRequest(name="nope")), grpc.StatusCode.NOT_FOUND, "unknown model 'nope'")
    await _refused(
        stub.ModelConfig(pb.ModelConfigRequest(name="doubler", version="9")), grpc.StatusCode.NOT_FOUND, "no served version '9'"
    )


async def test_statistics_count_rows_executions_successes_and_failures(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    await asyncio.gather(*(stub.ModelInfer(_request(rows=3, version="1")) for _ in range(4)))
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.ModelInfer(_request(width=5, version="1"))
    reply = await stub.ModelStatistics(pb.ModelStatisticsRequest(name="doubler", version="1"))
    [stats] = reply.model_stats
    assert (stats.name, stats.version, stats.inference_count) == ("doubler", "1", 12)
    assert 1 <= stats.execution_count <= 4
    infer = stats.inference_stats
    assert (infer.success.count, infer.fail.count, infer.queue.count, infer.compute_infer.count) == (4, 1, 4, 4)
    assert infer.success.ns >= infer.compute_infer.ns / stats.execution_count > 0
    assert sum(b.batch_size * b.compute_infer.count for b in stats.batch_stats) == 12
    assert stats.last_inference > 0

    every = await stub.ModelStatistics(pb.ModelStatisticsRequest())
    assert [(s.name, s.version) for s in every.model_stats] == [("doubler", "1"), ("doubler", "2")]
    assert every.model_stats[1].inference_count == 0


async def test_statistics_refuse_unknown_models_and_a_version_without_a_name(
    stub: pb_grpc.GRPCInferenceServiceStub,
) -> None:
    await _refused(stub.ModelStatistics(pb.ModelStatisticsRequest(name="nope")), grpc.StatusCode.NOT_FOUND, "'nope'")
    await _refused(
        stub.ModelStatistics(pb.ModelStatisticsRequest(version="1")), grpc.StatusCode.INVALID_ARGUMENT, "need a model name"
    )


async def test_repository_index_lists_served_versions_and_models_that_failed(
    stub: pb_grpc.GRPCInferenceServiceStub,
) -> None:
    index = await stub.RepositoryIndex(pb.RepositoryIndexRequest())
    entries = [(m.name, m.version, m.state) for m in index.models]
    assert entries == [("broken", "", "UNAVAILABLE"), ("doubler", "1", "READY"), ("doubler", "2", "READY")]
    assert "cannot load the model" in index.models[0].reason
    ready = await stub.RepositoryIndex(pb.RepositoryIndexRequest(ready=True))
    assert [m.name for m in ready.models] == ["doubler", "doubler"]
    await _refused(
        stub.RepositoryIndex(pb.RepositoryIndexRequest(repository_name="other")),
        grpc.StatusCode.INVALID_ARGUMENT, "repository_name 'other'",
    )


async def test_unload_then_load_changes_readiness_and_answers(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    await stub.RepositoryModelUnload(pb.RepositoryModelUnloadRequest(model_name="doubler"))
    assert not (await stub.ModelReady(pb.ModelReadyRequest(name="doubler"))).ready
    await _refused(stub.ModelInfer(_request()), grpc.StatusCode.NOT_FOUND, "unknown model 'doubler'")
    index = await stub.RepositoryIndex(pb.RepositoryIndexRequest())
    assert ("doubler", "", "UNAVAILABLE", "unloaded") in [(m.name, m.version, m.state, m.reason) for m in index.models]
    await _refused(
        stub.RepositoryModelUnload(pb.RepositoryModelUnloadRequest(model_name="doubler")),
        grpc.StatusCode.NOT_FOUND, "model 'doubler' is not served",
    )
    await stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name="doubler"))
    assert (await stub.ModelReady(pb.ModelReadyRequest(name="doubler"))).ready
    assert (await stub.ModelInfer(_request())).raw_output_contents


@pytest.mark.parametrize(
    ("load", "code", "message"),
    [
        (pb.RepositoryModelLoadRequest(model_name="nope"), grpc.StatusCode.NOT_FOUND, "no model directory 'nope'"),
        (pb.RepositoryModelLoadRequest(model_name="../etc"), grpc.StatusCode.INVALID_ARGUMENT, "must be the name of a directory"),
        (pb.RepositoryModelLoadRequest(model_name=""), grpc.StatusCode.INVALID_ARGUMENT, "model_name ''"),
        (pb.RepositoryModelLoadRequest(model_name="broken"), grpc.StatusCode.FAILED_PRECONDITION, "cannot load the model"),
        (
            pb.RepositoryModelLoadRequest(
                model_name="doubler", parameters={"config": pb.ModelRepositoryParameter(string_param="{}")}
            ),
            grpc.StatusCode.UNIMPLEMENTED, "load parameter 'config'",
        ),
        (
            pb.RepositoryModelLoadRequest(
                model_name="doubler", parameters={"file:1/model.onnx": pb.ModelRepositoryParameter(bytes_param=b"x")}
            ),
            grpc.StatusCode.UNIMPLEMENTED, "load parameter 'file:1/model.onnx'",
        ),
        (
            pb.RepositoryModelLoadRequest(model_name="doubler", parameters={"x": pb.ModelRepositoryParameter()}),
            grpc.StatusCode.INVALID_ARGUMENT, "unknown load parameter 'x'",
        ),
    ],
    ids=["unknown", "path", "empty", "broken", "config-override", "file-override", "unknown-parameter"],
)
async def test_bad_loads_get_precise_codes_and_the_served_model_stays(
    stub: pb_grpc.GRPCInferenceServiceStub, load: pb.RepositoryModelLoadRequest, code: grpc.StatusCode, message: str
) -> None:
    await _refused(stub.RepositoryModelLoad(load), code, message)
    assert (await stub.ModelInfer(_request())).raw_output_contents


async def test_a_reload_with_a_broken_config_keeps_the_served_versions(
    stub: pb_grpc.GRPCInferenceServiceStub, doubler_repository: Path
) -> None:
    (doubler_repository / "doubler" / "config.json").write_text(json.dumps({"max_batch_size": 0}))
    await _refused(
        stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name="doubler")),
        grpc.StatusCode.FAILED_PRECONDITION, "max_batch_size",
    )
    assert (await stub.ModelInfer(_request(version="1"))).raw_output_contents


async def test_unload_refuses_unknown_parameters(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    await _refused(
        stub.RepositoryModelUnload(
            pb.RepositoryModelUnloadRequest(model_name="doubler", parameters={"force": pb.ModelRepositoryParameter()})
        ),
        grpc.StatusCode.INVALID_ARGUMENT, "unknown unload parameter(s) ['force']",
    )
    dependents = {"unload_dependents": pb.ModelRepositoryParameter(bool_param=True)}
    await stub.RepositoryModelUnload(pb.RepositoryModelUnloadRequest(model_name="doubler", parameters=dependents))


async def test_reloading_a_served_model_under_load_fails_no_request(doubler_repository: Path) -> None:
    """Eight clients infer back to back for two seconds while the model is reloaded every 0.2 s;
    every request is answered, on whichever version of the batcher it reached."""
    (doubler_repository / "doubler" / "config.json").write_text(
        json.dumps({"max_batch_size": 64, "max_queue_size": 64, "max_queue_delay_us": 500, "latest_versions": 2})
    )
    settings = AccelSettings(port=0, model_repository=doubler_repository)
    async with AccelServer(settings, SiteIdentity("kr-seoul", "SEL-GN-0042")) as server:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            loop = asyncio.get_running_loop()
            until = loop.time() + 2.0
            answered: list[int] = []
            failures: list[str] = []

            async def client(number: int) -> None:
                version = "1" if number % 2 else ""
                while loop.time() < until:
                    try:
                        response = await stub.ModelInfer(_request(rows=1 + number % 3, version=version))
                    except grpc.aio.AioRpcError as exc:
                        failures.append(f"{exc.code()}: {exc.details()}")
                    else:
                        assert np.frombuffer(response.raw_output_contents[0], dtype="<f4").tolist()[0] == 2.0
                        answered.append(number)

            async def reloader() -> int:
                reloads = 0
                while loop.time() < until:
                    await stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name="doubler"))
                    reloads += 1
                    await asyncio.sleep(0.2)
                return reloads

            async with asyncio.TaskGroup() as group:
                for number in range(8):
                    group.create_task(client(number))
                reloads = group.create_task(reloader())
            stats = await stub.ModelStatistics(pb.ModelStatisticsRequest(name="doubler"))
    assert failures == []
    assert reloads.result() >= 5
    assert len(answered) > 100
    assert sum(s.inference_stats.success.count for s in stats.model_stats) == len(answered)


async def test_priority_and_timeout_parameters_reach_the_batcher(doubler_repository: Path) -> None:
    (doubler_repository / "doubler" / "config.json").write_text(
        json.dumps({"max_batch_size": 64, "priority_levels": 2, "default_priority_level": 2})
    )
    settings = AccelSettings(port=0, model_repository=doubler_repository)
    async with AccelServer(settings, SiteIdentity("kr-seoul", "SEL-GN-0042")) as server:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            config = (await stub.ModelConfig(pb.ModelConfigRequest(name="doubler"))).config
            assert (config.dynamic_batching.priority_levels, config.dynamic_batching.default_priority_level) == (2, 2)
            assert "schedule_policy" in (await stub.ServerMetadata(pb.ServerMetadataRequest())).extensions
            request = _request()
            request.parameters["priority"].uint64_param = 1
            request.parameters["timeout"].int64_param = 5_000_000
            assert (await stub.ModelInfer(request)).raw_output_contents
            request.parameters["priority"].uint64_param = 3
            await _refused(stub.ModelInfer(request), grpc.StatusCode.INVALID_ARGUMENT, "priority 3 is outside 1..2")
            request.parameters["priority"].string_param = "1"
            await _refused(stub.ModelInfer(request), grpc.StatusCode.INVALID_ARGUMENT, "request parameter 'priority'")



@pytest.mark.parametrize(
    ("policy", "versions", "reported"),
    [
        ({"specific": {"versions": [1]}}, ["1"], "specific"),
        ({"all": {}}, ["1", "2"], "all"),
        ({"latest": {"num_versions": 1}}, ["2"], "latest"),
    ],
)
async def test_model_config_reports_the_version_policy_in_force(
    doubler_repository: Path, policy: dict[str, object], versions: list[str], reported: str
) -> None:
    (doubler_repository / "doubler" / "config.json").write_text(json.dumps({"version_policy": policy}))
    settings = AccelSettings(port=0, model_repository=doubler_repository)
    async with AccelServer(settings, SiteIdentity("kr-seoul", "SEL-GN-0042")) as server:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            meta = await stub.ModelMetadata(pb.ModelMetadataRequest(name="doubler"))
            config = (await stub.ModelConfig(pb.ModelConfigRequest(name="doubler"))).config
    assert list(meta.versions) == versions
    assert config.version_policy.WhichOneof("policy_choice") == reported
    if reported == "specific":
        assert list(config.version_policy.specific.versions) == [1]
