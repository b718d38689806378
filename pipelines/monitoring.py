"""What Prometheus and the kubelet read of a pipeline replica, on its one monitoring port:
`/metrics`, `/livez`, and `/readyz` once the replica holds partitions, has restored their state,
and is not stopping."""

from __future__ import annotations

from typing import Protocol

from edge.monitoring_server import MonitoringServer
from pipelines.settings import PipelineSettings


class Replica(Protocol):
    """What `/readyz` reads of a runtime. It reads it from the server's thread, which is safe for
    what it is made of: an event's flag and bools."""

    @property
    def ready(self) -> bool: ...


def replica_monitoring(replica: Replica, settings: PipelineSettings) -> MonitoringServer | None:
    """The replica's monitoring server on `PIPELINE_METRICS_HOST`:`PIPELINE_METRICS_PORT`, not yet
    started; None when that port is 0, which turns `/metrics`, `/livez` and `/readyz` off."""
    if not settings.metrics_port:
        return None
    return MonitoringServer(
        settings.metrics_host,
        settings.metrics_port,
        ready=lambda: replica.ready,
    )
