"""`edge pipeline run NAME`: one pipeline replica until SIGTERM, draining within the grace period."""

from __future__ import annotations

import asyncio
import logging
from contextlib import nullcontext

from edge.lifecycle import install_stop_signals
from edge.settings import EdgeSettings
from edge.telemetry import configure_metrics, configure_tracing
from pipelines.accel_client import AcceleratorClient
from pipelines.monitoring import replica_monitoring
from pipelines.registry import build_pipeline, shipped_pipeline
from pipelines.runtime import PipelineRuntime
from pipelines.settings import PipelineSettings

log = logging.getLogger(__name__)


async def run_until_stopped(runtime: PipelineRuntime, stop: asyncio.Event, grace_period_s: float) -> None:
    """Run the loop; once `stop` is set, let the batch in flight finish within the grace period."""
    loop_task = asyncio.create_task(runtime.run(), name=f"{runtime.pipeline.name}-loop")
    stop_task = asyncio.create_task(stop.wait(), name="stop-signal")
    try:
        await asyncio.wait({loop_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        runtime.request_stop()
        try:
            await asyncio.wait_for(asyncio.shield(loop_task), grace_period_s)
        except TimeoutError:
            log.warning("grace period of %.1f s over: abandoning the batch in flight", grace_period_s)
            loop_task.cancel()
    finally:
        stop_task.cancel()
        if not loop_task.done():  # cancelled from outside (its task group failed): the loop goes too
            runtime.request_stop()
            loop_task.cancel()
        await asyncio.gather(loop_task, stop_task, return_exceptions=True)
    if loop_task.done() and not loop_task.cancelled() and loop_task.exception() is not None:
        raise loop_task.exception()  # type: ignore[misc]


async def run_pipeline(name: str, edge: EdgeSettings, settings: PipelineSettings) -> None:
    """Start the accelerator client, the runtime and the monitoring port; run until a signal.

    Raises:
        KeyError: no pipeline is called `name`.
        pydantic.ValidationError: a setting of the pipeline's own (or of its VES input) is out of
            range (read before anything connects).
    """
    own = shipped_pipeline(name).settings()
    provider = configure_tracing(edge, f"sovereign-edge-{name}")
    # The registry is served by the replica's monitoring server, beside the kubelet's probes.
    meter_provider = configure_metrics(
        edge, f"sovereign-edge-{name}", settings.metrics_port, serve_prometheus=False
    )
    stop = asyncio.Event()
    install_stop_signals(stop)
    try:
        accel = AcceleratorClient(edge, timeout_s=settings.infer_timeout_s, attempts=settings.infer_attempts)
        # Built before anything connects: a setting it refuses (VES input, limits) stops it at once.
        pipeline = build_pipeline(name, edge, accel, settings, own)
        async with accel:
            runtime = PipelineRuntime(pipeline, edge, settings, accelerator_notices=accel.notices)
            # Up before the runtime joins its group and until it has drained: `/metrics` and
            # `/livez` answer throughout, `/readyz` once it holds partitions and until it stops.
            with replica_monitoring(runtime, settings) or nullcontext():
                async with runtime:
                    log.info("pipeline %s running in group %s", name, runtime.group_id)
                    await run_until_stopped(runtime, stop, settings.grace_period_s)
                    log.info("pipeline %s stopping: %s", name, runtime.stats.summary())
    finally:
        if provider is not None:
            provider.shutdown()
        if meter_provider is not None:
            meter_provider.shutdown()
