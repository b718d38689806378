"""Reading a compacted topic as its consumers resynchronise from it: the latest record of each key,
up to the end offsets seen when the read began (never waiting for more), committed records only.
A pipeline restores its state this way, and `edge alarms list` reads the open-alarm list."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from edge.kafka import client_options
from edge.settings import EdgeSettings

log = logging.getLogger(__name__)
_PROGRESS_EVERY_S = 5.0
_FETCH_RECORDS = 20_000

Latest = dict[tuple[int, bytes | None], tuple[int, bytes | None]]
"""`latest[(partition, key)] = (offset, value)`; a value of None is a tombstone."""


class CompactedReadTimedOut(TimeoutError):
    """The partitions were not read to their end offsets in the time given."""

    def __init__(self, topic: str, partitions: list[int], timeout_s: float, records: int) -> None:
        super().__init__(
            f"{topic} partitions {partitions} were not read to their end within {timeout_s:.0f} s ({records} records read)"
        )
        self.partitions = partitions


@dataclass
class CompactedRead:
    """What a read found: the latest record per key and how many records it took."""

    latest: Latest = field(default_factory=dict)
    records: int = 0


async def read_latest(edge: EdgeSettings, topic: str, partitions: list[int], timeout_s: float) -> CompactedRead:
    """The latest record of each key in `partitions` of `topic`, logging progress every few seconds.

    Raises:
        CompactedReadTimedOut: not read to the end offsets within `timeout_s`.
    """
    started = time.monotonic()
    read = CompactedRead()
    if not partitions:
        return read
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
        remaining = {tp for tp in tps if ends[tp] > 0}
        total = sum(ends[tp] for tp in remaining)  # an upper bound: compaction leaves gaps
        reported = started
        latest = read.latest
        while remaining:
            now = time.monotonic()
            if now - started > timeout_s:
                raise CompactedReadTimedOut(topic, sorted(tp.partition for tp in remaining), timeout_s, read.records)
            if now - reported >= _PROGRESS_EVERY_S:
                reported = now
                log.info("reading %s: %d records of at most %d", topic, read.records, total)
            fetched = await consumer.getmany(*remaining, timeout_ms=500, max_records=_FETCH_RECORDS)
            for tp, records in fetched.items():
                end = ends[tp]
                for record in records:
                    if record.offset < end:
                        latest[(tp.partition, record.key)] = (record.offset, record.value)
                        read.records += 1
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return read
