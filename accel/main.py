"""`edge accel serve`: run one accelerator server until SIGTERM, then stop within the grace period."""

from __future__ import annotations

import asyncio

from accel.server import AccelServer
from accel.settings import AccelSettings
from edge.lifecycle import install_stop_signals
from edge.settings import EdgeSettings
from edge.telemetry import configure_metrics, configure_tracing
from inference_protocol.service import SiteIdentity


async def serve(settings: AccelSettings, edge: EdgeSettings, ready_file: str | None = None) -> None:
    """Serve until a stop signal. `ready_file`, if given, receives the bound port once serving."""
    provider = configure_tracing(edge, "sovereign-edge-accel")
    meter_provider = configure_metrics(edge, "sovereign-edge-accel", settings.metrics_port, settings.metrics_host)
    stop = asyncio.Event()
    install_stop_signals(stop)
    server = AccelServer(settings, SiteIdentity(edge.region, edge.site_id))
    await server.start()
    try:
        if ready_file:
            with open(ready_file, "w") as fh:
                fh.write(str(server.port))
        await stop.wait()
    finally:
        await server.stop()
        if provider is not None:
            provider.shutdown()
        if meter_provider is not None:
            meter_provider.shutdown()
