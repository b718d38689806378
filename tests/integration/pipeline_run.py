"""Test helper: run one pipeline replica in this process until it has committed a given number
of records, then stop it the way SIGTERM does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from edge.settings import EdgeSettings
from pipelines.accel_client import AcceleratorClient
from pipelines.base import BatchPipeline
from pipelines.main import run_until_stopped
from pipelines.runtime import PipelineRuntime
from pipelines.settings import PipelineSettings


async def run_until_consumed(
    edge: EdgeSettings,
    make_pipeline: Callable[[AcceleratorClient], BatchPipeline],
    total: int,
    settings: PipelineSettings,
    *,
    timeout_s: float = 60.0,
    infer_timeout_s: float = 5.0,
) -> PipelineRuntime:
    """The stopped runtime, once `total` records are committed or `timeout_s` has passed (the
    caller asserts on `runtime.stats`)."""
    async with AcceleratorClient(edge, timeout_s=infer_timeout_s, attempts=3) as accel:
        runtime = PipelineRuntime(make_pipeline(accel), edge, settings, accelerator_notices=accel.notices)
        async with runtime:
            stop = asyncio.Event()
            task = asyncio.create_task(run_until_stopped(runtime, stop, grace_period_s=10))
            loop = asyncio.get_running_loop()
            until = loop.time() + timeout_s
            while runtime.stats.events_in < total and loop.time() < until and not task.done():
                await asyncio.sleep(0.05)
            stop.set()
            await task
    return runtime
