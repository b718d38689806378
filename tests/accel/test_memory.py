"""The server reads its resident memory and trims the heap after large requests, at most once per
interval, off the event loop."""

from __future__ import annotations

import asyncio
import os

from accel.memory import MemoryTrimmer, malloc_trim, rss_bytes


def test_resident_memory_is_read_from_proc() -> None:
    assert rss_bytes() > 10 * 2**20
    assert rss_bytes(os.getpid()) > 10 * 2**20
    assert rss_bytes(2**30) == 0, "a process that does not exist has no memory to report"


def test_glibc_trim_is_found_here() -> None:
    trim = malloc_trim()
    assert trim is not None, "the test machines run glibc"
    assert isinstance(trim(), bool)


async def test_a_large_request_asks_for_one_trim_and_small_ones_for_none() -> None:
    async with MemoryTrimmer(threshold_bytes=1000, interval_s=0.05) as trimmer:
        trimmer.note(999)
        await asyncio.sleep(0.2)
        assert trimmer.trims == 0
        for _ in range(5):  # several at once: one trim
            trimmer.note(1000)
        await asyncio.sleep(0.3)
        assert trimmer.trims == 1


async def test_threshold_zero_turns_trimming_off_and_stop_is_safe_twice() -> None:
    trimmer = MemoryTrimmer(threshold_bytes=0, interval_s=0.01)
    await trimmer.start()
    trimmer.note(2**30)
    await asyncio.sleep(0.05)
    assert trimmer.trims == 0
    await trimmer.stop()
    await trimmer.stop()
