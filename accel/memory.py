"""The server's resident memory, and handing freed heap back to the system after large requests:
glibc keeps what a large message freed in its arenas, so without a trim one 60 MiB request leaves
the process hundreds of MB larger for good."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable
from typing import Self

log = logging.getLogger(__name__)


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process (VmRSS of /proc/<pid>/status), in bytes; 0 where /proc
    does not say (not Linux)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def malloc_trim() -> Callable[[], bool] | None:
    """glibc's `malloc_trim(0)` as a callable (True when memory went back to the system), or None
    where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int

    def call() -> bool:
        return bool(trim(0))

    return call


class MemoryTrimmer:
    """Trims the heap once large requests have gone by, at most once per `interval_s`, in a
    worker thread (a trim of a large heap takes milliseconds), and once more when they have
    stopped for `quiet_s`: memory freed by requests still in flight at the last trim goes back
    too.

    `note(request_bytes)` for each request; requests of at least `threshold_bytes` ask for a
    trim. Use as `async with MemoryTrimmer(16 * 2**20): ...`; with threshold 0, or where the C
    library cannot trim, it does nothing.
    """

    def __init__(self, threshold_bytes: int, interval_s: float = 1.0, quiet_s: float = 2.0) -> None:
        self.threshold_bytes = threshold_bytes
        self.interval_s = interval_s
        self.quiet_s = quiet_s
        self.trims = 0
        """Trims done so far."""
        self._trim = malloc_trim() if threshold_bytes > 0 else None
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def note(self, request_bytes: int) -> None:
        """Count one request of `request_bytes` bytes; a large one asks for a trim."""
        if self._trim is not None and request_bytes >= self.threshold_bytes:
            self._wanted.set()

    async def start(self) -> None:
        """Start trimming (nothing to do where the C library has no `malloc_trim`)."""
        if self._trim is not None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(self._trim), name="memory-trimmer")

    async def stop(self) -> None:
        """Stop trimming; safe to call twice."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self, trim: Callable[[], bool]) -> None:
        while True:
            await self._wanted.wait()
            while True:  # one burst of large requests
                self._wanted.clear()
                # Let the handler that asked return first, so its message is freed before the
                # trim; requests that end meanwhile ask for the next one.
                await asyncio.sleep(self.interval_s)
                await self._trim_heap(trim)
                try:
                    await asyncio.wait_for(self._wanted.wait(), self.quiet_s)
                except TimeoutError:
                    await self._trim_heap(trim)  # the burst is over
                    break

    async def _trim_heap(self, trim: Callable[[], bool]) -> None:
        before = rss_bytes()
        await asyncio.to_thread(trim)
        self.trims += 1
        log.debug("heap trimmed: resident memory %d MiB -> %d MiB", before >> 20, rss_bytes() >> 20)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
