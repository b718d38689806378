"""Every inference request's size on the wire reaches the memory trimmer, refused ones included."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from accel.server import AccelServer
from accel.settings import AccelSettings
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc
from inference_protocol.service import SiteIdentity


async def test_a_large_request_for_an_unknown_model_still_leads_to_a_trim(doubler_repository: Path) -> None:
    settings = AccelSettings(port=0, model_repository=doubler_repository, memory_trim_bytes=2**20)
    async with (
        AccelServer(settings, SiteIdentity("kr-seoul", "SEL-GN-0042")) as server,
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        small = pb.ModelInferRequest(model_name="nope", raw_input_contents=[bytes(1000)])
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.ModelInfer(small)
        await asyncio.sleep(1.5)
        assert server.memory_trimmer.trims == 0
        large = pb.ModelInferRequest(model_name="nope", raw_input_contents=[bytes(2 * 2**20)])
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ModelInfer(large)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        for _ in range(40):
            if server.memory_trimmer.trims:
                break
            await asyncio.sleep(0.1)
        assert server.memory_trimmer.trims >= 1
