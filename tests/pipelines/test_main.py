"""`run_until_stopped`: a replica's loop stops within the grace period once asked, and stops too
when the task running it is cancelled (its task group failed), instead of outliving it."""

from __future__ import annotations

import asyncio
from typing import cast

from pipelines.main import run_until_stopped
from pipelines.runtime import PipelineRuntime


class _Loop:
    """A runtime stand-in whose `run` lasts until a stop is requested (or it is cancelled)."""

    def __init__(self) -> None:
        self.stop_requested = asyncio.Event()
        self.cancelled = False
        self.pipeline = type("P", (), {"name": "kpi-anomaly"})()

    async def run(self) -> None:
        try:
            await self.stop_requested.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise

    def request_stop(self) -> None:
        self.stop_requested.set()


async def test_a_stop_ends_the_loop_within_the_grace_period() -> None:
    loop, stop = _Loop(), asyncio.Event()
    task = asyncio.create_task(run_until_stopped(cast(PipelineRuntime, loop), stop, grace_period_s=5))
    await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert loop.stop_requested.is_set() and not loop.cancelled


async def test_cancelling_the_runner_stops_the_loop_instead_of_waiting_for_it_forever() -> None:
    loop = _Loop()
    task = asyncio.create_task(run_until_stopped(cast(PipelineRuntime, loop), asyncio.Event(), grace_period_s=5))
    await asyncio.sleep(0.01)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert done, "the runner returned"
    assert loop.stop_requested.is_set() and loop.cancelled
