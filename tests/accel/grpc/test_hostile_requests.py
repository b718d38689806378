"""A generated corpus of hostile requests (edgectl.bench.hostile) against a real server process on
loopback, serving every shipped model and a BYTES model: every refusal carries a precise status
(never UNKNOWN, INTERNAL or ABORTED) and a short message, a stream answers every good request
behind hostile ones, and health checks stay SERVING within their deadline throughout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from accel.grpc.status import DETAILS_MAX_BYTES
from accel.settings import DEFAULT_MODEL_REPOSITORY
from edgectl.bench.accel_soak import TEXT_INPUT, TEXT_MODEL, served_models, soak_repository
from edgectl.bench.hostile import (
    BAD_STATUSES,
    ServedModel,
    good_request,
    hostile_cases,
    hostile_repository_calls,
    interleaved,
    large_bytes_request,
)
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc
from tests.conftest import start_accel_process

MODELS = sorted([p.name for p in DEFAULT_MODEL_REPOSITORY.iterdir() if p.is_dir()] + [TEXT_MODEL])
CHANNEL_OPTIONS = [("grpc.max_send_message_length", 64 * 2**20), ("grpc.max_receive_message_length", 64 * 2**20)]
HEALTH_DEADLINE_S = 1.0
"""The kubelet's default probe timeout."""


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`host:port` of one server process for the module: the shipped models plus text-echo."""
    tmp = tmp_path_factory.mktemp("hostile")
    repository = soak_repository(tmp / "models")
    process, port = start_accel_process(tmp, ACCEL_MODEL_REPOSITORY=str(repository))
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(20)


class HealthWatch:
    """Checks health every 20 ms while the block runs; what failed is kept."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = health_pb2_grpc.HealthStub(channel)
        self.checks = 0
        self.failures: list[str] = []

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set() and self.checks < 10_000:
            self.checks += 1
            try:
                reply = await self._stub.Check(health_pb2.HealthCheckRequest(), timeout=HEALTH_DEADLINE_S)
            except grpc.aio.AioRpcError as exc:
                self.failures.append(exc.code().name)
            else:
                if reply.status != health_pb2.HealthCheckResponse.SERVING:
                    self.failures.append(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
            await asyncio.sleep(0.02)


@asynccontextmanager
async def watched(channel: grpc.aio.Channel) -> AsyncIterator[HealthWatch]:
    watch = HealthWatch(channel)
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as group:
        group.create_task(watch.run(stop))
        try:
            yield watch
        finally:
            stop.set()
    assert watch.checks > 0 and watch.failures == [], f"health checks failed: {watch.failures[:5]}"


async def _model(stub: pb_grpc.GRPCInferenceServiceStub, name: str) -> ServedModel:
    [model] = [m for m in await served_models(stub) if m.name == name]
    return model


async def _status(call: object) -> tuple[str, str]:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as exc:
        return exc.code().name, exc.details() or ""
    return "OK", ""


@pytest.mark.parametrize("model_name", MODELS)
async def test_every_hostile_request_gets_a_precise_refusal_while_health_stays_serving(
    target: str, model_name: str
) -> None:
    async with grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        model = await _model(stub, model_name)
        wrong: list[str] = []
        async with watched(channel):
            cases = list(hostile_cases(model))
            for case in cases:
                status, details = await _status(stub.ModelInfer(case.request, timeout=30))
                if status in BAD_STATUSES or status not in case.expected:
                    wrong.append(f"{case.label}: {status} {details[:120]}")
                if len(details.encode()) > DETAILS_MAX_BYTES:
                    wrong.append(f"{case.label}: a {len(details)}-character message")
            answered = await stub.ModelInfer(good_request(model, rows=2), timeout=30)
    assert len(cases) > 60
    assert wrong == []
    assert len(answered.raw_output_contents) == len(model.outputs), "the next good request is served"


async def test_hostile_names_in_repository_and_metadata_calls_are_refused_precisely(target: str) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        wrong = []
        async with watched(channel):
            for call in hostile_repository_calls("kpi-anomaly"):
                status, details = await _status(getattr(stub, call.method)(call.request, timeout=30))
                if status not in call.expected:
                    wrong.append(f"{call.label}: {status} {details[:120]}")
        assert wrong == []
        assert (await stub.ModelReady(pb.ModelReadyRequest(name="kpi-anomaly"))).ready, "nothing was unloaded"


async def test_a_model_name_too_long_for_a_directory_is_refused_naming_the_field_and_the_limit(target: str) -> None:
    """5,000 characters gave UNKNOWN (ENAMETOOLONG from the file system) before."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        status, details = await _status(stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name="m" * 5000)))
    assert status == "INVALID_ARGUMENT"
    assert details.startswith("model_name 'mmm") and "the limit is 255 bytes" in details and len(details) < 300


async def test_a_stream_answers_every_good_request_behind_hostile_ones(target: str) -> None:
    async with grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        models = await served_models(stub)
        cases = {case.request.id: case for case in interleaved(models, good_every=3)}

        async def requests() -> AsyncIterator[pb.ModelInferRequest]:
            for case in cases.values():
                yield case.request

        answers: dict[str, pb.ModelStreamInferResponse] = {}
        async with watched(channel):
            async for response in stub.ModelStreamInfer(requests(), timeout=120):
                answers[response.infer_response.id] = response
    assert sorted(answers) == sorted(cases), "every request of the stream is answered, the stream not cut"
    wrong = []
    for request_id, case in cases.items():
        response = answers[request_id]
        if request_id.startswith("good-"):
            if response.error_message or not response.infer_response.raw_output_contents:
                wrong.append(f"{case.label}: {response.error_message[:120]}")
            continue
        status = response.infer_response.parameters["error_code"].string_param if response.error_message else "OK"
        if status not in case.expected:
            wrong.append(f"{case.label}: {status} {response.error_message[:120]}")
    assert sum(1 for i in cases if i.startswith("good-")) > 100
    assert wrong == []


@pytest.mark.parametrize(
    ("model_name", "input_name", "status"),
    [(TEXT_MODEL, TEXT_INPUT, "RESOURCE_EXHAUSTED"), ("kpi-anomaly", "features", "INVALID_ARGUMENT")],
    ids=["over-the-bytes-element-limit", "wrong-datatype"],
)
async def test_the_60_mib_bytes_request_is_refused_while_health_checks_are_answered(
    target: str, model_name: str, input_name: str, status: str
) -> None:
    """The adversarial probe's request blocked the event loop for 17-22 s and failed health checks."""
    payload = large_bytes_request(model_name, input_name).SerializeToString()
    async with grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
        infer = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")
        async with watched(channel) as watch:
            await asyncio.sleep(0.1)
            for _ in range(3):
                got, details = await _status(infer(payload, timeout=30))
                assert got == status, details
        assert watch.checks >= 5


async def test_a_60_mib_request_inside_a_stream_is_refused_in_band_and_the_next_is_answered(target: str) -> None:
    async with grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        model = await _model(stub, TEXT_MODEL)

        async def requests() -> AsyncIterator[pb.ModelInferRequest]:
            yield large_bytes_request(TEXT_MODEL, TEXT_INPUT)
            yield good_request(model, request_id="after")

        responses = [r async for r in stub.ModelStreamInfer(requests(), timeout=60)]
    by_id = {r.infer_response.id: r for r in responses}
    assert by_id["large-bytes"].infer_response.parameters["error_code"].string_param == "RESOURCE_EXHAUSTED"
    assert "max_bytes_elements" in by_id["large-bytes"].error_message
    assert not by_id["after"].error_message and by_id["after"].infer_response.raw_output_contents


def test_the_corpus_covers_every_shipped_model() -> None:
    assert {"fiber-events", "fiber-events-raw", "kpi-anomaly", "cs-insights"} <= set(MODELS)
    assert Path(DEFAULT_MODEL_REPOSITORY / "fiber-events" / "config.json").is_file()
