"""The health endpoint listens on the address its setting names and nowhere else, and answers
the kubelet's probes: live while the process runs, ready once partitions are assigned."""

from __future__ import annotations

import asyncio

import pytest

from edgectl.broker import free_port
from pipelines.health import HealthServer
from pipelines.settings import PipelineSettings


class Replica:
    """What the health endpoint reads of a runtime: whether it holds partitions, and is stopping."""

    def __init__(self) -> None:
        self.assigned = asyncio.Event()
        self.stopping = False


async def _get(host: str, port: int, path: str) -> str:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.0\r\n\r\n".encode())
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return answer.decode().split("\r\n", 1)[0]


@pytest.mark.parametrize(("host", "elsewhere"), [("127.0.0.1", "127.0.0.2"), ("127.0.0.2", "127.0.0.1")])
async def test_the_endpoint_listens_only_on_its_address(host: str, elsewhere: str) -> None:
    port = free_port(host)
    async with HealthServer(Replica(), port, host) as server:
        assert server.addresses == [(host, port)]
        assert await _get(host, port, "/livez") == "HTTP/1.0 200 OK"
        with pytest.raises(ConnectionRefusedError):
            await _get(elsewhere, port, "/livez")
    assert server.addresses == []


async def test_ready_only_while_partitions_are_held_and_not_stopping() -> None:
    replica, port = Replica(), free_port()
    async with HealthServer(replica, port, "127.0.0.1"):
        assert await _get("127.0.0.1", port, "/readyz") == "HTTP/1.0 503 Service Unavailable"
        replica.assigned.set()
        assert await _get("127.0.0.1", port, "/readyz") == "HTTP/1.0 200 OK"
        replica.stopping = True
        assert await _get("127.0.0.1", port, "/readyz") == "HTTP/1.0 503 Service Unavailable"


async def test_port_zero_turns_the_endpoint_off() -> None:
    async with HealthServer(Replica(), 0, "127.0.0.1") as server:
        assert server.addresses == []


def test_both_listen_addresses_are_settings_defaulting_to_every_interface_for_the_pod(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("PIPELINE_HEALTH_HOST", "PIPELINE_METRICS_HOST"):
        monkeypatch.delenv(name, raising=False)
    assert (PipelineSettings().health_host, PipelineSettings().metrics_host) == ("0.0.0.0", "0.0.0.0")
    monkeypatch.setenv("PIPELINE_HEALTH_HOST", "127.0.0.1")
    monkeypatch.setenv("PIPELINE_METRICS_HOST", "::1")
    assert (PipelineSettings().health_host, PipelineSettings().metrics_host) == ("127.0.0.1", "::1")
