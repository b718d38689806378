"""A replica's monitoring port is ready once partitions are assigned and their state restored,
and until it stops; it listens where `PIPELINE_METRICS_HOST`/`PORT` say, and is off with port 0."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import cast

import pytest

from edge.settings import EdgeSettings
from edgectl.broker import free_port
from pipelines.base import BatchPipeline
from pipelines.monitoring import replica_monitoring
from pipelines.runtime import PipelineRuntime
from pipelines.settings import PipelineSettings

HttpGet = Callable[[str, int, str], tuple[int, str]]


def replica_runtime() -> PipelineRuntime:
    """A runtime never started: the monitoring port reads only its flags."""
    pipeline = cast(BatchPipeline, SimpleNamespace(name="kpi-anomaly", batch_records=10))
    return PipelineRuntime(pipeline, EdgeSettings(region="kr-seoul", site_id="SEL-GN-0042"), PipelineSettings())


def test_ready_only_while_partitions_are_held_restored_and_not_stopping(http_get: HttpGet) -> None:
    replica, port = replica_runtime(), free_port()
    settings = PipelineSettings(metrics_host="127.0.0.1", metrics_port=port)
    server = replica_monitoring(replica, settings)
    assert server is not None
    with server:
        assert server.address == ("127.0.0.1", port)
        assert http_get("127.0.0.1", port, "/livez") == (200, "live\n")
        assert http_get("127.0.0.1", port, "/readyz") == (503, "not ready\n")
        replica.assigned.set()
        replica.restoring = True
        assert http_get("127.0.0.1", port, "/readyz") == (503, "not ready\n")
        replica.restoring = False
        assert http_get("127.0.0.1", port, "/readyz") == (200, "ready\n")
        replica.request_stop()
        assert http_get("127.0.0.1", port, "/readyz") == (503, "not ready\n")
        assert http_get("127.0.0.1", port, "/livez") == (200, "live\n")


def test_port_zero_turns_metrics_and_probes_off() -> None:
    assert replica_monitoring(replica_runtime(), PipelineSettings(metrics_port=0)) is None


def test_the_listen_address_is_a_setting_defaulting_to_every_interface_for_the_pod(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PIPELINE_METRICS_HOST", raising=False)
    monkeypatch.delenv("PIPELINE_METRICS_PORT", raising=False)
    assert (PipelineSettings().metrics_host, PipelineSettings().metrics_port) == ("0.0.0.0", 9464)
    monkeypatch.setenv("PIPELINE_METRICS_HOST", "::1")
    assert PipelineSettings().metrics_host == "::1"
