"""The shared inference stream: nothing is written before the accelerator has declared the
site's region on it; answers reach their own requests whatever their order; a stream that ends
or misses a deadline fails what waits on it and takes no more; a new stream is verified again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import numpy as np
import pytest

from accel.server import AccelServer
from accel.settings import AccelSettings
from edge.settings import EdgeSettings
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc
from inference_protocol.service import REGION_METADATA, SiteIdentity
from pipelines.accel_client import AcceleratorClient
from pipelines.errors import AcceleratorUnavailable
from pipelines.inference_stream import InferenceStream, RegionRefused

FEATURES = {"features": np.zeros((1, 22), dtype=np.float32)}


class ScriptedAccelerator(pb_grpc.GRPCInferenceServiceServicer):  # type: ignore[misc]
    """A fake accelerator whose streams declare `region` and then answer as `script` says:
    given the requests read so far, the replies to send now."""

    def __init__(self, region: str | None, script: Callable[[list[pb.ModelInferRequest]], list[pb.ModelStreamInferResponse]]) -> None:
        self.region = region
        self.script = script
        self.streams = 0
        self.requests: list[pb.ModelInferRequest] = []

    async def ModelStreamInfer(
        self, requests: AsyncIterator[pb.ModelInferRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ModelStreamInferResponse]:
        self.streams += 1
        await context.send_initial_metadata([(REGION_METADATA, self.region)] if self.region else [])
        seen: list[pb.ModelInferRequest] = []
        async for request in requests:
            seen.append(request)
            self.requests.append(request)
            for reply in self.script(seen):
                yield reply


def _reply(request_id: str, model: str = "m") -> pb.ModelStreamInferResponse:
    return pb.ModelStreamInferResponse(infer_response=pb.ModelInferResponse(model_name=model, id=request_id))


async def _serve(servicer: ScriptedAccelerator) -> tuple[grpc.aio.Server, grpc.aio.Channel]:
    server = grpc.aio.server()
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, grpc.aio.insecure_channel(f"127.0.0.1:{port}")


async def _with_stream(servicer: ScriptedAccelerator, check: Callable[[InferenceStream, ScriptedAccelerator], Any]) -> None:
    server, channel = await _serve(servicer)
    try:
        stream = await InferenceStream.open(pb_grpc.GRPCInferenceServiceStub(channel), [], "kr-seoul", 2.0)
        try:
            await check(stream, servicer)
        finally:
            await stream.close()
    finally:
        await channel.close()
        await server.stop(None)


async def test_answers_in_reverse_order_reach_their_own_requests() -> None:
    def answer_both_once_two_are_in(seen: list[pb.ModelInferRequest]) -> list[pb.ModelStreamInferResponse]:
        return [_reply(r.id, model=r.model_name) for r in reversed(seen)] if len(seen) == 2 else []

    async def check(stream: InferenceStream, servicer: ScriptedAccelerator) -> None:
        first, second = await asyncio.gather(
            stream.answer(pb.ModelInferRequest(model_name="first"), 2.0),
            stream.answer(pb.ModelInferRequest(model_name="second"), 2.0),
        )
        assert (first.infer_response.model_name, second.infer_response.model_name) == ("first", "second")
        assert len({r.id for r in servicer.requests}) == 2, "each request has an id of its own"

    await _with_stream(ScriptedAccelerator("kr-seoul", answer_both_once_two_are_in), check)


async def test_an_answer_with_an_unknown_id_is_dropped_and_the_stream_goes_on() -> None:
    def stray_then_real(seen: list[pb.ModelInferRequest]) -> list[pb.ModelStreamInferResponse]:
        return [_reply("no-such-request"), _reply(seen[-1].id, model="real")]

    async def check(stream: InferenceStream, servicer: ScriptedAccelerator) -> None:
        for _ in range(3):
            assert (await stream.answer(pb.ModelInferRequest(), 2.0)).infer_response.model_name == "real"
        assert stream.ended is None and servicer.streams == 1

    await _with_stream(ScriptedAccelerator("kr-seoul", stray_then_real), check)


async def test_a_missed_deadline_fails_every_request_on_the_stream_and_ends_it() -> None:
    async def check(stream: InferenceStream, servicer: ScriptedAccelerator) -> None:
        late = asyncio.ensure_future(stream.answer(pb.ModelInferRequest(), 0.3))
        waiting = asyncio.ensure_future(stream.answer(pb.ModelInferRequest(), 30.0))
        with pytest.raises(grpc.aio.AioRpcError) as missed:
            await late
        assert missed.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        with pytest.raises(grpc.aio.AioRpcError):
            await asyncio.wait_for(waiting, 5.0)  # not left waiting its own 30 s
        assert stream.ended is not None
        with pytest.raises(grpc.aio.AioRpcError):
            await stream.answer(pb.ModelInferRequest(), 2.0)
        assert len(servicer.requests) == 2, "an ended stream writes nothing"

    await _with_stream(ScriptedAccelerator("kr-seoul", lambda seen: []), check)


@pytest.mark.parametrize("declared", ["jp-tokyo", None])
async def test_a_stream_of_another_region_or_none_is_refused_before_a_request_is_written(declared: str | None) -> None:
    servicer = ScriptedAccelerator(declared, lambda seen: [_reply(seen[-1].id)])
    server, channel = await _serve(servicer)
    try:
        with pytest.raises(RegionRefused) as refused:
            await InferenceStream.open(pb_grpc.GRPCInferenceServiceStub(channel), [], "kr-seoul", 2.0)
        assert refused.value.declared == declared
        await asyncio.sleep(0.1)
        assert servicer.requests == []
    finally:
        await channel.close()
        await server.stop(None)


async def test_batches_share_one_stream_and_a_new_connection_is_verified_again() -> None:
    """Many inferences, one stream. The accelerator is then replaced on the same address by one
    that declares another region: the next batch opens a new stream, which is refused before
    anything is written on it."""
    home = AccelServer(AccelSettings(port=0), SiteIdentity("kr-seoul", "S1"))
    await home.start()
    port = int(home.address.rpartition(":")[2])
    edge = EdgeSettings(region="kr-seoul", site_id="S1", accel_targets=home.address, accel_recheck_s=60)
    async with AcceleratorClient(edge, timeout_s=5, attempts=1) as client:
        try:
            results = await asyncio.gather(*(client.infer("kpi-anomaly", FEATURES, ["score"]) for _ in range(6)))
            assert {r.model_name for r in results} == {"kpi-anomaly"}
            (member,) = client._members.values()
            first = member.stream
            await client.infer("kpi-anomaly", FEATURES, ["score"])
            assert member.stream is first, "the stream is kept for the next batch"
        finally:
            await home.stop()
        async with AccelServer(AccelSettings(port=port), SiteIdentity("jp-tokyo", "T1")) as foreign:
            with pytest.raises(AcceleratorUnavailable):
                await client.infer("kpi-anomaly", FEATURES, ["score"])
            for _ in range(20):  # the channel reconnects to the new server
                if not client.notices.empty():
                    break
                await asyncio.sleep(0.1)
                member.rest_until = 0.0
                with pytest.raises(AcceleratorUnavailable):
                    await client.infer("kpi-anomaly", FEATURES, ["score"])
            assert "'jp-tokyo'" in client.notices.get_nowait().reason
            served = foreign.repository.statistics("kpi-anomaly")
            assert sum(s.success.count + s.fail.count for s in served) == 0, "not one request reached it"


async def test_a_request_waiting_to_write_on_a_stream_that_ends_gets_the_streams_end() -> None:
    """Another request's missed deadline ends the stream while this one waits for its turn to
    write: it fails as an outage, never as gRPC's error for a finished call or a cancellation."""

    async def check(stream: InferenceStream, servicer: ScriptedAccelerator) -> None:
        async with stream._writing:  # another request is writing
            waiting = asyncio.ensure_future(stream.answer(pb.ModelInferRequest(), 5.0))
            await asyncio.sleep(0.05)
            await stream.close()
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            await waiting
        assert ended.value.code() == grpc.StatusCode.UNAVAILABLE

    await _with_stream(ScriptedAccelerator("kr-seoul", lambda seen: []), check)
