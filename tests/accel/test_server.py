"""A real accelerator server on a loopback port answers the protocol, health checks and reflection,
and turns bad requests into precise status codes while still serving the next good one."""

from __future__ import annotations

import asyncio
import json
import re
import struct
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc

from accel.server import AccelServer
from accel.settings import AccelSettings
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc
from inference_protocol.service import SiteIdentity, declared_identity

from .conftest import write_doubler


@pytest.fixture
async def stub(doubler_repository: Path) -> AsyncIterator[pb_grpc.GRPCInferenceServiceStub]:
    settings = AccelSettings(port=0, model_repository=doubler_repository, max_message_bytes=64 * 1024)
    async with AccelServer(settings, SiteIdentity("kr-seoul", "SEL-GN-0042")) as server:
        async with grpc.aio.insecure_channel(server.address) as channel:
            yield pb_grpc.GRPCInferenceServiceStub(channel)


def _request(rows: int = 2, width: int = 4, **overrides: object) -> pb.ModelInferRequest:
    x = np.arange(rows * width, dtype=np.float32).reshape(rows, width)
    request = pb.ModelInferRequest(model_name="doubler", id="req-1")
    request.inputs.add(name="x", datatype="FP32", shape=[rows, width])
    request.raw_input_contents.append(x.tobytes())
    for key, value in overrides.items():
        setattr(request, key, value)
    return request


async def test_server_is_live_ready_and_declares_its_region(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    assert (await stub.ServerLive(pb.ServerLiveRequest())).live
    assert (await stub.ServerReady(pb.ServerReadyRequest())).ready
    meta = await stub.ServerMetadata(pb.ServerMetadataRequest())
    assert declared_identity(list(meta.extensions)) == {"region": "kr-seoul", "site_id": "SEL-GN-0042"}
    assert (await stub.ModelReady(pb.ModelReadyRequest(name="doubler"))).ready
    assert not (await stub.ModelReady(pb.ModelReadyRequest(name="nope"))).ready


async def test_model_metadata_lists_versions_and_tensors(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    meta = await stub.ModelMetadata(pb.ModelMetadataRequest(name="doubler"))
    assert list(meta.versions) == ["1", "2"]
    assert meta.platform == "onnxruntime_onnx"
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.inputs] == [("x", "FP32", [-1, 4])]
    assert [(t.name, t.datatype) for t in meta.outputs] == [("y", "FP32"), ("positive", "BOOL")]


async def test_model_infer_with_raw_contents_returns_raw_outputs(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    response = await stub.ModelInfer(_request())
    assert (response.model_name, response.model_version, response.id) == ("doubler", "2", "req-1")
    y = np.frombuffer(response.raw_output_contents[0], dtype="<f4").reshape(2, 4)
    np.testing.assert_array_equal(y, np.arange(8, dtype=np.float32).reshape(2, 4) * 2)
    positive = np.frombuffer(response.raw_output_contents[1], dtype=bool)
    assert positive.tolist() == [False] + [True] * 7


async def test_requested_outputs_filter_the_response(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    request = _request()
    request.outputs.add(name="positive")
    response = await stub.ModelInfer(request)
    assert [o.name for o in response.outputs] == ["positive"]
    assert len(response.raw_output_contents) == 1


async def test_typed_contents_are_accepted(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    request = pb.ModelInferRequest(model_name="doubler", model_version="1")
    tensor = request.inputs.add(name="x", datatype="FP32", shape=[1, 4])
    tensor.contents.fp32_contents.extend([1, 2, 3, 4])
    response = await stub.ModelInfer(request)
    assert response.model_version == "1"
    assert np.frombuffer(response.raw_output_contents[0], dtype="<f4").tolist() == [2, 4, 6, 8]


def _mixed() -> pb.ModelInferRequest:
    request = _request()
    request.inputs[0].contents.fp32_contents.extend([0] * 8)
    return request


def _wrong_datatype() -> pb.ModelInferRequest:
    request = _request()
    request.inputs[0].datatype = "INT32"
    return request


@pytest.mark.parametrize(
    ("request_factory", "code", "message"),
    [
        (lambda: _request(model_name="nope"), grpc.StatusCode.NOT_FOUND, "unknown model 'nope'"),
        (lambda: _request(model_version="9"), grpc.StatusCode.NOT_FOUND, "no served version '9'"),
        (lambda: _request(width=3), grpc.StatusCode.INVALID_ARGUMENT, r"input 'x' must have shape \[-1, 4\]"),
        (_wrong_datatype, grpc.StatusCode.INVALID_ARGUMENT, "input 'x' must be FP32, got INT32"),
        (_mixed, grpc.StatusCode.INVALID_ARGUMENT, "use one or the other"),
        (lambda: _request(rows=65), grpc.StatusCode.INVALID_ARGUMENT, "max_batch_size is 64"),
        (lambda: _request(rows=4096), grpc.StatusCode.RESOURCE_EXHAUSTED, ""),
    ],
    ids=["unknown-model", "unknown-version", "wrong-shape", "wrong-datatype", "mixed-raw-typed", "too-many-rows", "oversized"],
)
async def test_bad_requests_get_precise_codes_and_the_next_good_one_is_served(
    stub: pb_grpc.GRPCInferenceServiceStub, request_factory, code: grpc.StatusCode, message: str  # type: ignore[no-untyped-def]
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ModelInfer(request_factory())
    assert caught.value.code() == code
    assert caught.value.details() is not None
    assert re.search(message, caught.value.details())
    assert (await stub.ModelInfer(_request())).raw_output_contents


async def test_byte_count_mismatch_names_the_input(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    request = _request()
    request.raw_input_contents[0] = request.raw_input_contents[0][:-4]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ModelInfer(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "input 'x'" in (caught.value.details() or "") and "needs 32 bytes" in (caught.value.details() or "")


async def test_streaming_wraps_errors_in_the_response_and_keeps_the_stream_open(
    stub: pb_grpc.GRPCInferenceServiceStub,
) -> None:
    async def requests() -> AsyncIterator[pb.ModelInferRequest]:
        yield _request(id="a")
        yield _request(model_name="nope", id="b")
        yield _request(id="c")

    responses = {r.infer_response.id: r async for r in stub.ModelStreamInfer(requests())}
    assert sorted(responses) == ["a", "b", "c"]
    assert [bool(responses[i].error_message) for i in "abc"] == [False, True, False]
    assert "unknown model" in responses["b"].error_message
    assert responses["b"].infer_response.model_name == "nope"


async def test_grpc_health_reports_serving(doubler_repository: Path) -> None:
    settings = AccelSettings(port=0, model_repository=doubler_repository)
    async with AccelServer(settings, SiteIdentity("kr-seoul", "S1")) as server:
        async with grpc.aio.insecure_channel(server.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for service in ("", "inference.GRPCInferenceService"):
                reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
                assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_shipped_kpi_model_scores_a_batch() -> None:
    settings = AccelSettings(port=0)
    async with AccelServer(settings, SiteIdentity("kr-seoul", "S1")) as server:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            request = pb.ModelInferRequest(model_name="kpi-anomaly")
            request.inputs.add(name="features", datatype="FP32", shape=[3, 22])
            request.raw_input_contents.append(np.zeros((3, 22), dtype=np.float32).tobytes())
            response = await stub.ModelInfer(request)
    assert [o.name for o in response.outputs] == ["score", "is_anomaly", "contributions"]
    assert len(response.raw_output_contents[0]) == 3 * 4
    assert struct.unpack("<3f", response.raw_output_contents[0])[0] >= 0


def test_metrics_and_health_listen_where_a_pod_is_reached_by_default() -> None:
    """Prometheus and the kubelet reach a pod at its IP; the gRPC port stays on loopback unless set."""
    settings = AccelSettings()
    assert (settings.host, settings.metrics_host, settings.health_host) == ("127.0.0.1", "0.0.0.0", "0.0.0.0")
    assert AccelSettings(metrics_host="127.0.0.1", health_host="::1").health_host == "::1"


def test_repository_polling_is_off_by_default(doubler_repository: Path) -> None:
    assert AccelSettings().model_poll_s == 0
    assert AccelServer(AccelSettings(model_repository=doubler_repository), SiteIdentity("kr-seoul", "S1")).poller is None


async def test_a_version_added_on_disk_is_served_while_requests_flow_and_none_fails(doubler_repository: Path) -> None:
    """With repository polling on, eight clients infer back to back while version 3 is written into
    the repository: the server picks it up, requests for the newest version move to it, requests
    pinned to version 2 keep being answered, and no request fails."""
    (doubler_repository / "doubler" / "config.json").write_text(
        json.dumps({"max_batch_size": 64, "max_queue_size": 64, "max_queue_delay_us": 500, "latest_versions": 2})
    )
    settings = AccelSettings(port=0, model_repository=doubler_repository, model_poll_s=0.05)
    answered: Counter[str] = Counter()
    failures: list[str] = []
    async with AccelServer(settings, SiteIdentity("kr-seoul", "S1")) as server:
        assert server.poller is not None
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()

            async def client(number: int) -> None:
                version = "2" if number % 2 else ""
                while not stop.is_set():
                    request = _request(rows=1 + number % 3, model_version=version)
                    try:
                        response = await stub.ModelInfer(request)
                    except grpc.aio.AioRpcError as exc:
                        failures.append(f"{exc.code()}: {exc.details()}")
                    else:
                        y = np.frombuffer(response.raw_output_contents[0], dtype="<f4")
                        np.testing.assert_array_equal(y, np.frombuffer(request.raw_input_contents[0], "<f4") * 2)
                        answered[response.model_version] += 1

            async def add_version() -> None:
                await asyncio.sleep(0.3)
                write_doubler(doubler_repository / "doubler" / "3" / "model.onnx")
                give_up = loop.time() + 10
                while "3" not in (await stub.ModelMetadata(pb.ModelMetadataRequest(name="doubler"))).versions:
                    assert loop.time() < give_up, "version 3 was not picked up within 10 s"
                    await asyncio.sleep(0.02)
                await asyncio.sleep(0.3)  # keep the load on after the swap
                stop.set()

            async with asyncio.TaskGroup() as group:
                for number in range(8):
                    group.create_task(client(number))
                group.create_task(add_version())
            meta = await stub.ModelMetadata(pb.ModelMetadataRequest(name="doubler"))
    assert failures == []
    assert list(meta.versions) == ["2", "3"]
    assert answered["3"] > 0 and answered["2"] > 0


async def test_reflection_describes_the_inference_protocol_from_its_own_descriptor_pool(
    stub: pb_grpc.GRPCInferenceServiceStub, doubler_repository: Path
) -> None:
    """The protocol's messages live in a pool of their own (tritonclient registers the same
    `inference` package in protobuf's default one); reflection still describes every service."""
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    settings = AccelSettings(port=0, model_repository=doubler_repository)
    async with AccelServer(settings, SiteIdentity("kr-seoul", "SEL-GN-0042")) as server:
        with grpc.insecure_channel(server.address) as channel:
            database = ProtoReflectionDescriptorDatabase(channel)
            services = await asyncio.to_thread(lambda: set(database.get_services()))
            described = await asyncio.to_thread(database.FindFileContainingSymbol, "inference.GRPCInferenceService")
    assert {"inference.GRPCInferenceService", "grpc.health.v1.Health"} <= services
    assert any(s.name == "GRPCInferenceService" for s in described.service)
    assert pb.DESCRIPTOR.pool is not descriptor_pool.Default()
