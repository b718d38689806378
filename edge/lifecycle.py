"""One graceful-stop path for every long-running command: the first SIGTERM or SIGINT asks for
a clean stop, a second one exits at once."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal

log = logging.getLogger(__name__)


def tune_garbage_collection(gen0_threshold: int) -> None:
    """Run the cyclic garbage collector's youngest pass every `gen0_threshold` allocations rather
    than Python's 700 (0: leave it). A streaming process allocates a few objects per event and
    frees nearly all of them by reference counting; at the default it spends about a tenth of its
    CPU on passes that find nothing. The older generations keep their default ratios.
    Everything allocated so far is frozen out of later passes."""
    if gen0_threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)
        # What exists at start (modules, models, settings) lives as long as the process: leave it
        # out of every later pass, so a full collection costs what the batches hold, not the heap.
        gc.freeze()


def install_stop_signals(stop: asyncio.Event) -> None:
    """Set `stop` on the first SIGTERM/SIGINT; exit immediately (status 130) on the second."""
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("second %s: exiting now", signal.Signals(signum).name)
            os._exit(130)
        log.info("%s: stopping gracefully", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)


async def terminate_child(process: asyncio.subprocess.Process | None, timeout_s: float) -> None:
    """SIGTERM a child process, SIGKILL it if it has not exited within `timeout_s`; no-op if gone."""
    if process is None or process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
