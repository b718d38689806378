"""Reading a pipeline's per-entity state back from its changelog when partitions are assigned.

Bounded: the end offsets are taken once, when the restore begins, and the restore reads up to
them and no further, however much is written meanwhile. Committed records only, so a batch whose
transaction was aborted (exactly-once mode) restores nothing. Per partition, the latest record of
each key wins, as compaction would have it: a tombstone means the entity holds no state."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from edge.kafka import client_options
from edge.settings import EdgeSettings
from pipelines.base import BatchPipeline
from pipelines.changelog import read_changelog_record
from pipelines.errors import StateRefused

log = logging.getLogger(__name__)
_PROGRESS_EVERY_S = 5.0
_FETCH_RECORDS = 20_000


@dataclass(frozen=True)
class RestoreReport:
    """What one restore did."""

    partitions: int
    records: int
    """Changelog records read (several per entity until compaction has run)."""
    entities: int
    """Entities whose state is held again."""
    seconds: float


async def restore_state(
    edge: EdgeSettings, pipeline: BatchPipeline, partitions: list[int], timeout_s: float
) -> RestoreReport:
    """Restore the state of the entities that input partitions `partitions` brought.

    Raises:
        StateRefused: a record this release cannot read, or the restore took longer than
            `timeout_s` (the replica must not go on with part of its state).
    """
    topic = pipeline.state_topic
    started = time.monotonic()
    if topic is None or not partitions:
        return RestoreReport(0, 0, 0, 0.0)
    consumer = AIOKafkaConsumer(
        **client_options(edge), group_id=None, enable_auto_commit=False, isolation_level="read_committed",
        auto_offset_reset="earliest", max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        latest: dict[tuple[int, bytes | None], tuple[int, bytes | None]] = {}
        remaining = {tp for tp in tps if ends[tp] > 0}
        total = sum(ends[tp] for tp in remaining)  # an upper bound: compaction leaves gaps
        read, reported = 0, started
        while remaining:
            now = time.monotonic()
            if now - started > timeout_s:
                raise StateRefused(
                    f"restoring {topic} partitions {sorted(tp.partition for tp in remaining)} took more than "
                    f"{timeout_s:.0f} s (PIPELINE_RESTORE_TIMEOUT_S): {read} records read"
                )
            if now - reported >= _PROGRESS_EVERY_S:
                reported = now
                log.info("restoring %s: %d records read of at most %d", topic, read, total)
            fetched = await consumer.getmany(*remaining, timeout_ms=500, max_records=_FETCH_RECORDS)
            for tp, records in fetched.items():
                end = ends[tp]
                for record in records:
                    if record.offset < end:
                        latest[(tp.partition, record.key)] = (record.offset, record.value)
                        read += 1
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    entities = hold_restored(pipeline, topic, latest)
    return RestoreReport(len(partitions), read, entities, time.monotonic() - started)


def hold_restored(
    pipeline: BatchPipeline, topic: str, latest: dict[tuple[int, bytes | None], tuple[int, bytes | None]]
) -> int:
    """Hold the latest state of each entity, `latest[(partition, key)] = (offset, value)` (None:
    a tombstone); return how many entities hold state.

    Raises:
        StateRefused: a record this release cannot read.
    """
    readable = pipeline.readable_state_versions
    entities = 0
    for (partition, key), (offset, value) in latest.items():
        if key is None:
            continue  # not a state record: nothing to hold it under
        if value is None:
            pipeline.drop_restored(key.decode(errors="replace"))
            continue
        where = f"{topic}[{partition}] at offset {offset}"
        entity = read_changelog_record(pipeline.name, readable, partition, where, key, value)
        try:
            pipeline.restore(entity)
        except (ValueError, KeyError, TypeError) as exc:
            raise StateRefused(f"{where}: the state of {pipeline.name} is not readable ({type(exc).__name__}: {exc})") from exc
        entities += 1
    return entities
