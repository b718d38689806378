"""A replica's monitoring port is ready once partitions are assigned and until it stops, listens
where `PIPELINE_METRICS_HOST`/`PORT` say, and is off with port 0."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from edgectl.broker import free_port
from pipelines.monitoring import replica_monitoring
from pipelines.settings import PipelineSettings

HttpGet = Callable[[str, int, str], tuple[int, str]]


class Replica:
    """What the monitoring port reads of a runtime: whether it holds partitions, and is stopping."""

    def __init__(self) -> None:
        self.assigned = asyncio.Event()
        self.stopping = False


def test_ready_only_while_partitions_are_held_and_not_stopping(http_get: HttpGet) -> None:
    replica, port = Replica(), free_port()
    settings = PipelineSettings(metrics_host="127.0.0.1", metrics_port=port)
    server = replica_monitoring(replica, settings)
    assert server is not None
    with server:
        assert server.address == ("127.0.0.1", port)
        assert http_get("127.0.0.1", port, "/livez") == (200, "live\n")
        assert http_get("127.0.0.1", port, "/readyz") == (503, "not ready\n")
        replica.assigned.set()
        assert http_get("127.0.0.1", port, "/readyz") == (200, "ready\n")
        replica.stopping = True
        assert http_get("127.0.0.1", port, "/readyz") == (503, "not ready\n")
        assert http_get("127.0.0.1", port, "/livez") == (200, "live\n")


def test_port_zero_turns_metrics_and_probes_off() -> None:
    assert replica_monitoring(Replica(), PipelineSettings(metrics_port=0)) is None


def test_the_listen_address_is_a_setting_defaulting_to_every_interface_for_the_pod(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PIPELINE_METRICS_HOST", raising=False)
    monkeypatch.delenv("PIPELINE_METRICS_PORT", raising=False)
    assert (PipelineSettings().metrics_host, PipelineSettings().metrics_port) == ("0.0.0.0", 9464)
    monkeypatch.setenv("PIPELINE_METRICS_HOST", "::1")
    assert PipelineSettings().metrics_host == "::1"
