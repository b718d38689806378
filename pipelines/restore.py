"""Reading a pipeline's per-entity state back from its changelog when partitions are assigned.

Bounded: the end offsets are taken once, when the restore begins, and the restore reads up to
them and no further, however much is written meanwhile (`edge.compacted.read_latest`). Committed
records only, so a batch whose transaction was aborted (exactly-once mode) restores nothing. Per
partition, the latest record of each key wins, as compaction would have it: a tombstone means the
entity holds no state."""

from __future__ import annotations

import time
from dataclasses import dataclass

from edge.compacted import CompactedReadTimedOut, Latest, read_latest
from edge.settings import EdgeSettings
from pipelines.base import BatchPipeline
from pipelines.changelog import read_changelog_record
from pipelines.errors import StateRefused


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
    try:
        read = await read_latest(edge, topic, partitions, timeout_s)
    except CompactedReadTimedOut as exc:
        raise StateRefused(f"restoring the state took too long (PIPELINE_RESTORE_TIMEOUT_S): {exc}") from exc
    entities = hold_restored(pipeline, topic, read.latest)
    return RestoreReport(len(partitions), read.records, entities, time.monotonic() - started)


def hold_restored(pipeline: BatchPipeline, topic: str, latest: Latest) -> int:
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
