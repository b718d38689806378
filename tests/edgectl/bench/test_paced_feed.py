"""The paced feed's events: each template made whole again with an event id that carries its
production time, the rest of the event as the template had it; its process, started off the
event loop; and a tick that carries more than one record batch holds, sent whole."""

from __future__ import annotations

import orjson
import pytest

from edgectl.bench.paced_feed import paced_event, run_paced_feed, sent_ms_of, split_templates
from edgectl.broker import create_topics, free_port
from edgectl.synthetic.cell_kpi import CellKpiGenerator
from tests.conftest import Broker
from tests.integration.kafka_io import read_topic
from tests.loop_gaps import loop_gaps


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
    async with loop_gaps(0.01) as gaps:
        # Nothing listens on the port: the child starts, fails to connect and exits non-zero.
        with pytest.raises(RuntimeError, match="the paced producer exited with status"):
            await run_paced_feed(f"127.0.0.1:{free_port()}", "t", 1, templates, rate=10.0, seconds=1.0)
    assert max(gaps) < 0.15, f"the event loop stalled {max(gaps):.2f} s while the feed started"
    assert len(gaps) > 10  # the child lived long enough for the loop to tick meanwhile


@pytest.mark.tansu_only
async def test_a_tick_after_a_stall_sends_more_than_one_batch_holds_and_loses_nothing(broker: Broker) -> None:
    """A feed that falls behind (its process starved of a core) sends what is due at its next
    tick: at 4,000 events/s every half second, 2,000 events of 1 KB, four times what one record
    batch of the producer holds. It once died there (a tick's batch outgrew the batch size)."""
    topic, partitions = "bench.paced", 2
    await create_topics(broker, [topic], partitions)
    templates = [b'{"event_id":"' + b"x" * 36 + b'","cell_id":"C%03d","pad":"' % i + b"p" * 1000 + b'"}' for i in range(50)]
    await run_paced_feed(broker, topic, partitions, templates, rate=4000.0, seconds=1.5, interval_s=0.5)

    sequences: dict[int, list[int]] = {p: [] for p in range(partitions)}
    for r in await read_topic(broker, topic, timeout_s=60):
        sequences[r.partition].append(int(orjson.loads(r.value)["event_id"][-18:]))
    assert sorted(sequences[0] + sequences[1]) == list(range(6000))
    for p, seen in sequences.items():  # each partition in the order sent
        assert seen == sorted(seen) and all(seq % partitions == p for seq in seen)
