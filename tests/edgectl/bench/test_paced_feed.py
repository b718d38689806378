"""The paced feed's events: each template made whole again with an event id that carries its
production time, the rest of the event as the template had it; and its process, started off the
event loop."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from edgectl.bench.paced_feed import paced_event, run_paced_feed, sent_ms_of, split_templates
from edgectl.broker import free_port
from edgectl.synthetic.cell_kpi import CellKpiGenerator


def test_a_paced_event_is_its_template_with_an_id_that_carries_the_production_time() -> None:
    templates = [orjson.dumps(e.event) for e in CellKpiGenerator("kr-seoul", "S1", cells=3, seed=2).next_round()]
    for template, (head, tail, key) in zip(templates, split_templates(templates), strict=True):
        event = orjson.loads(paced_event(head, tail, 1764403200123, 42))
        original = orjson.loads(template)
        assert sent_ms_of(event["event_id"]) == 1764403200123 and event["event_id"].endswith("-000000000000000042")
        assert {k: v for k, v in event.items() if k != "event_id"} == {k: v for k, v in original.items() if k != "event_id"}
        assert key == original["cell_id"].encode()


async def test_starting_the_feed_process_leaves_the_event_loop_free() -> None:
    """The bench's pipeline shares the event loop that starts the feed: a spawned child's
    arguments go through a pipe it reads only once its interpreter is up, and a start on the
    loop would hold the pipeline for that long (a quarter of a second here, with 50 MB of templates)."""
    templates = [b'{"event_id":"' + b"x" * 36 + b'","cell_id":"C%06d","pad":"' % i + b"p" * 1000 + b'"}' for i in range(50_000)]
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)  # ticking before the feed starts
    try:
        # Nothing listens on the port: the child starts, fails to connect and exits non-zero.
        with pytest.raises(RuntimeError, match="the paced producer exited with status"):
            await run_paced_feed(f"127.0.0.1:{free_port()}", "t", 1, templates, rate=10.0, seconds=1.0)
    finally:
        done.set()
        await ticking
    assert max(gaps) < 0.15, f"the event loop stalled {max(gaps):.2f} s while the feed started"
    assert len(gaps) > 10  # the child lived long enough for the loop to tick meanwhile
