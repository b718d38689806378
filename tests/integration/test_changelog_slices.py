"""A commit's changelog is made and handed to the producer a slice of entities at a time, the
event loop let go between slices: made whole, the changelog of 40,000 changed cells held the loop
(and every batch in flight) for 0.2 s. Every record still arrives, in order per key."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import cast

from aiokafka import AIOKafkaConsumer, TopicPartition

from edge.kafka import start_producer
from edge.settings import EdgeSettings
from edgectl.broker import create_topics
from pipelines.base import BatchPipeline
from pipelines.changelog import EntityChange
from pipelines.publish import ResultPublisher
from pipelines.records import OutboundRecord
from pipelines.runtime import CHANGELOG_SLICE_ENTITIES, PipelineRuntime
from pipelines.settings import PipelineSettings
from tests.conftest import Broker
from tests.loop_gaps import loop_gaps

from .kafka_io import read_topic

TOPIC = "kr-seoul.state.slices"
SLICES, PER_SLICE, SLICE_S = 10, 50, 0.05


async def test_a_changelog_published_in_slices_lets_the_loop_go_and_arrives_whole(broker: Broker) -> None:
    await create_topics(broker, [TOPIC], 3)

    def slices() -> Iterator[list[OutboundRecord]]:
        for s in range(SLICES):
            time.sleep(SLICE_S)  # as long as a slice of a large changelog takes to make
            yield [OutboundRecord(TOPIC, b"cell-%03d" % i, b"%d" % s, [], i % 3) for i in range(PER_SLICE)]

    producer = await start_producer(EdgeSettings(
        region="kr-seoul", site_id="SEL-GN-0042", kafka_bootstrap_servers=broker,
        kafka_enable_idempotence=broker.idempotent,
    ))
    try:
        async with loop_gaps(0.002) as gaps:
            count = await ResultPublisher(producer).publish_slices(slices())
    finally:
        await producer.stop()
    assert count == SLICES * PER_SLICE
    # One slice at a time: the loop waits one slice's making, not all ten (0.5 s).
    assert max(gaps) < 3 * SLICE_S, f"the event loop waited {max(gaps):.2f} s"

    values: dict[bytes, list[int]] = {}
    for r in await read_topic(broker, TOPIC, timeout_s=60):
        assert r.key is not None and r.value is not None
        values.setdefault(r.key, []).append(int(r.value))
    assert len(values) == PER_SLICE and all(seen == list(range(SLICES)) for seen in values.values())


class _Publisher:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def publish_slices(self, slices: Iterator[list[OutboundRecord]]) -> int:
        count = 0
        for records in slices:
            self.log.append(f"sent {len(records)}")
            count += len(records)
        return count


class _Consumer:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        self.log.append(f"committed {dict(offsets)}")


async def test_a_commit_makes_its_changelog_a_slice_of_entities_at_a_time_before_its_offsets() -> None:
    log: list[str] = []
    made: list[list[str]] = []

    def changelog(changes: Mapping[str, EntityChange]) -> list[OutboundRecord]:
        made.append(list(changes))
        return [OutboundRecord(TOPIC, key.encode(), b"{}", [], 0) for key in changes]

    pipeline = cast(BatchPipeline, SimpleNamespace(name="kpi-anomaly", batch_records=10, changelog=changelog))
    runtime = PipelineRuntime(pipeline, EdgeSettings(region="kr-seoul", site_id="SEL-GN-0042"), PipelineSettings())
    runtime._publisher = cast(ResultPublisher, _Publisher(log))
    runtime._consumer = cast(AIOKafkaConsumer, _Consumer(log))
    cells = [f"cell-{i:05d}" for i in range(2 * CHANGELOG_SLICE_ENTITIES + 7)]
    changes = {cell: EntityChange(("kr-seoul.ran.kpi", 0), {"n": 1}) for cell in cells}
    runtime._pending.add(changes, {TopicPartition("kr-seoul.ran.kpi", 0): 99})

    await runtime._commit_pending()
    assert [len(part) for part in made] == [CHANGELOG_SLICE_ENTITIES, CHANGELOG_SLICE_ENTITIES, 7]
    assert [cell for part in made for cell in part] == cells
    assert log[:3] == [f"sent {CHANGELOG_SLICE_ENTITIES}", f"sent {CHANGELOG_SLICE_ENTITIES}", "sent 7"]
    assert log[3].startswith("committed") and len(log) == 4
