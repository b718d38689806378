"""Test support: how long the event loop went without running, measured while some work runs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def loop_gaps(tick_s: float) -> AsyncIterator[list[float]]:
    """Within the block, a ticker sleeps `tick_s` at a time and records each wait's length in the
    list given (its longest is how long the loop was held); it starts ticking before the block."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(tick_s)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(5 * tick_s)
    try:
        yield gaps
    finally:
        done.set()
        await ticking
