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


async def test_large_requests_ask_for_a_trim_and_one_more_once_they_stop() -> None:
    async with MemoryTrimmer(threshold_bytes=1000, interval_s=0.05, quiet_s=0.3) as trimmer:
        trimmer.note(999)
        await asyncio.sleep(0.2)
        assert trimmer.trims == 0, "small requests ask for none"
        for _ in range(5):  # several at once: one trim
            trimmer.note(1000)
        await asyncio.sleep(0.2)
        assert trimmer.trims == 1
        await asyncio.sleep(0.4)
        assert trimmer.trims == 2, "once the burst has been quiet for quiet_s"
        await asyncio.sleep(0.5)
        assert trimmer.trims == 2, "then nothing until the next large request"


async def test_threshold_zero_turns_trimming_off_and_stop_is_safe_twice() -> None:
    trimmer = MemoryTrimmer(threshold_bytes=0, interval_s=0.01)
    await trimmer.start()
    trimmer.note(2**30)
    await asyncio.sleep(0.05)
    assert trimmer.trims == 0
    await trimmer.stop()
    await trimmer.stop()
