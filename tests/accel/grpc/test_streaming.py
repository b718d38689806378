"""One stream's requests are answered concurrently, in completion order, never more than the
limit at once, and the stream waits for the consumer instead of queueing without bound."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from accel.grpc.streaming import answer_concurrently, requests_until
from accel.server import AccelServer
from accel.settings import AccelSettings
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc
from inference_protocol.service import SiteIdentity


async def _numbers(count: int, sent: list[int] | None = None) -> AsyncIterator[int]:
    for number in range(count):
        if sent is not None:
            sent.append(number)
        yield number


async def test_answers_come_in_completion_order() -> None:
    async def answer(number: int) -> int:
        await asyncio.sleep(0.05 if number == 0 else 0)
        return number

    answers = [a async for a in answer_concurrently(_numbers(4), answer, max_in_flight=8)]
    assert sorted(answers) == [0, 1, 2, 3]
    assert answers[-1] == 0


async def test_no_more_than_the_limit_are_answered_at_once() -> None:
    running = 0
    most = 0

    async def answer(number: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.005)
        running -= 1
        return number

    answers = [a async for a in answer_concurrently(_numbers(40), answer, max_in_flight=5)]
    assert sorted(answers) == list(range(40))
    assert most == 5


async def test_a_consumer_that_stops_reading_stops_the_reading_of_requests() -> None:
    sent: list[int] = []

    async def answer(number: int) -> int:
        return number

    stream = answer_concurrently(_numbers(1000, sent), answer, max_in_flight=3)
    first = await anext(stream)
    await asyncio.sleep(0.05)  # the consumer takes nothing more meanwhile
    assert first == 0
    assert len(sent) <= 3 + 1, f"read {len(sent)} requests with 3 allowed in flight"
    await stream.aclose()


async def test_closing_the_stream_cancels_the_answers_in_flight() -> None:
    cancelled = asyncio.Event()

    async def answer(number: int) -> int:
        if number == 1:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.set()
                raise
        return number

    stream = answer_concurrently(_numbers(2), answer, max_in_flight=4)
    assert await anext(stream) == 0
    await stream.aclose()
    assert cancelled.is_set()


async def test_the_limit_must_be_positive() -> None:
    async def answer(number: int) -> int:
        return number

    with pytest.raises(ValueError, match="max_in_flight must be >= 1"):
        await anext(answer_concurrently(_numbers(1), answer, max_in_flight=0))


def _request(request_id: str, model_name: str = "doubler") -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name=model_name, id=request_id)
    request.inputs.add(name="x", datatype="FP32", shape=[1, 4])
    request.raw_input_contents.append(np.ones((1, 4), dtype=np.float32).tobytes())
    return request


async def _stream_once(repository: Path, max_in_flight: int, count: int) -> tuple[list[pb.ModelStreamInferResponse], pb.ModelStatistics]:
    settings = AccelSettings(port=0, model_repository=repository, stream_max_in_flight=max_in_flight)
    async with AccelServer(settings, SiteIdentity("kr-seoul", "SEL-GN-0042")) as server:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)

            async def requests() -> AsyncIterator[pb.ModelInferRequest]:
                for i in range(count):
                    yield _request(f"r-{i}")

            responses = [r async for r in stub.ModelStreamInfer(requests())]
            stats = await stub.ModelStatistics(pb.ModelStatisticsRequest(name="doubler", version="2"))
    return responses, stats.model_stats[0]


@pytest.fixture
def slow_batching_repository(doubler_repository: Path) -> Path:
    """doubler waiting up to 30 ms for a batch to fill: requests in flight together share one."""
    (doubler_repository / "doubler" / "config.json").write_text(
        '{"max_batch_size": 64, "max_queue_delay_us": 30000, "latest_versions": 2}'
    )
    return doubler_repository


async def test_requests_of_one_stream_share_batches(slow_batching_repository: Path) -> None:
    responses, stats = await _stream_once(slow_batching_repository, max_in_flight=64, count=16)
    assert sorted(r.infer_response.id for r in responses) == sorted(f"r-{i}" for i in range(16))
    assert not any(r.error_message for r in responses)
    assert stats.inference_count == 16
    assert stats.execution_count < 16, "requests in flight together must be batched together"


async def test_a_stream_keeps_at_most_its_limit_in_flight(slow_batching_repository: Path) -> None:
    responses, stats = await _stream_once(slow_batching_repository, max_in_flight=4, count=16)
    assert len(responses) == 16
    assert max(b.batch_size for b in stats.batch_stats) <= 4
    assert stats.execution_count >= 4


async def test_an_error_is_answered_as_soon_as_it_is_known(slow_batching_repository: Path) -> None:
    settings = AccelSettings(port=0, model_repository=slow_batching_repository)
    async with AccelServer(settings, SiteIdentity("kr-seoul", "SEL-GN-0042")) as server:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)

            async def requests() -> AsyncIterator[pb.ModelInferRequest]:
                yield _request("slow")
                yield _request("bad", model_name="nope")

            responses = [r async for r in stub.ModelStreamInfer(requests())]
    assert [r.infer_response.id for r in responses] == ["bad", "slow"]
    assert "unknown model 'nope'" in responses[0].error_message


async def test_a_stream_declares_the_servers_region_and_site_before_any_request_is_written(
    doubler_repository: Path,
) -> None:
    """A pipeline client verifies the region on the very connection it is about to send over."""
    settings = AccelSettings(port=0, model_repository=doubler_repository)
    async with (
        AccelServer(settings, SiteIdentity("kr-seoul", "SEL-GN-0042")) as server,
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        call = pb_grpc.GRPCInferenceServiceStub(channel).ModelStreamInfer()
        metadata = await asyncio.wait_for(call.initial_metadata(), timeout=5)
        assert (metadata["edge-region"], metadata["edge-site-id"]) == ("kr-seoul", "SEL-GN-0042")
        await call.write(_request("after"))
        response = await call.read()
        assert response.infer_response.id == "after" and not response.error_message
        await call.done_writing()
        assert await call.read() is grpc.aio.EOF


async def test_a_draining_stream_reads_no_further_request_and_answers_those_it_read() -> None:
    draining = asyncio.Event()
    read: list[int] = []

    async def requests() -> AsyncIterator[int]:
        yield 1
        yield 2
        await asyncio.sleep(60)  # a client that keeps its stream open between batches
        yield 3

    async def answer(number: int) -> int:
        read.append(number)
        if number == 2:
            draining.set()
            await asyncio.sleep(0.05)  # still computing when the drain begins
        return number

    answers = [a async for a in answer_concurrently(requests_until(requests(), draining), answer, max_in_flight=4)]
    assert sorted(answers) == [1, 2] and read == [1, 2]


async def test_a_stopping_server_ends_idle_client_streams_instead_of_waiting_out_its_grace_period() -> None:
    from edge.settings import EdgeSettings
    from pipelines.accel_client import AcceleratorClient

    server = AccelServer(AccelSettings(port=0, grace_period_s=30), SiteIdentity("kr-seoul", "S1"))
    await server.start()
    edge = EdgeSettings(region="kr-seoul", site_id="S1", accel_targets=server.address)
    async with AcceleratorClient(edge, timeout_s=5, attempts=1) as client:
        await client.infer("kpi-anomaly", {"features": np.zeros((1, 22), dtype=np.float32)}, ["score"])
        (member,) = client._members.values()
        assert member.stream is not None and member.stream.ended is None, "the stream stays open between batches"
        started = time.monotonic()
        await server.stop()
        assert time.monotonic() - started < 5, "the open stream did not hold the stop for its 30 s grace period"
        for _ in range(50):
            if member.stream.ended is not None:
                break
            await asyncio.sleep(0.02)
        assert member.stream.ended is not None, "the client saw its stream end"


async def test_a_stream_cancelled_while_it_waits_for_a_request_leaves_no_read_behind() -> None:
    reads_cancelled = asyncio.Event()

    async def requests() -> AsyncIterator[int]:
        try:
            await asyncio.sleep(60)  # a client that sends nothing for now
            yield 1
        finally:
            reads_cancelled.set()

    async def consume() -> None:
        async for _ in requests_until(requests(), asyncio.Event()):
            pass

    consumer = asyncio.ensure_future(consume())
    await asyncio.sleep(0.05)
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)
    await asyncio.wait_for(reads_cancelled.wait(), 1.0)
