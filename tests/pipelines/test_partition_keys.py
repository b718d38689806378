"""A replica remembers which entities each partition brought, and releases exactly those when
the partition moves away; within its limits it drops the least recently updated and the idle."""

from __future__ import annotations

from datetime import UTC, datetime

from pipelines.entity_limits import EntityLimits
from pipelines.intake import AcceptedEvent
from pipelines.partition_keys import PartitionKeys
from pipelines.records import ConsumedRecord, InboundRecord

TS = datetime(2026, 11, 22, tzinfo=UTC)


def _accepted(partition: int, cell: str) -> AcceptedEvent:
    return AcceptedEvent(ConsumedRecord("kr-seoul.ran.kpi", partition, 0, None, b"{}"), {"cell_id": cell}, TS)


def test_released_partitions_give_back_their_keys_once_and_others_keep_theirs() -> None:
    keys = PartitionKeys()
    batch = [_accepted(0, "c1"), _accepted(1, "c2"), _accepted(0, "c3"), _accepted(0, "c1")]
    assert keys.note(batch, "cell_id") == ["c1", "c2", "c3", "c1"]
    assert keys.release([("kr-seoul.ran.kpi", 0)]) == ["c1", "c3"]
    assert keys.release([("kr-seoul.ran.kpi", 0)]) == []
    assert keys.release([("kr-seoul.ran.kpi", 1), ("kr-seoul.ran.kpi", 7)]) == ["c2"]


def _records(partition: int, count: int) -> list[InboundRecord]:
    return [ConsumedRecord("kr-seoul.ran.kpi", partition, i, None, b"{}") for i in range(count)]


def test_a_key_moves_with_the_partition_that_last_brought_it() -> None:
    keys = PartitionKeys()
    keys.note_keys(_records(0, 1), ["c1"])
    keys.note_keys(_records(1, 1), ["c1"])
    assert keys.release([("kr-seoul.ran.kpi", 0)]) == []
    assert keys.release([("kr-seoul.ran.kpi", 1)]) == ["c1"]


def test_beyond_the_limit_the_least_recently_updated_keys_are_evicted_and_counted() -> None:
    evicted: list[list[str]] = []
    keys = PartitionKeys(EntityLimits(max_entities=3), on_evict=evicted.append)
    keys.note_keys(_records(0, 3), ["a", "b", "c"])
    keys.note_keys(_records(0, 1), ["a"])  # a is now the most recently updated
    keys.note_keys(_records(0, 2), ["d", "e"])
    assert evicted == [["b", "c"]]
    assert sorted(keys.release([("kr-seoul.ran.kpi", 0)])) == ["a", "d", "e"]
    assert keys.evictions == {"capacity": 2, "idle": 0}


def test_keys_a_batch_brings_are_kept_through_that_batch_even_beyond_the_limit() -> None:
    evicted: list[str] = []
    keys = PartitionKeys(EntityLimits(max_entities=2), on_evict=evicted.extend)
    keys.note_keys(_records(0, 1), ["old"])
    keys.note_keys(_records(0, 4), ["n1", "n2", "n3", "n1"])
    assert evicted == ["old"] and len(keys) == 3, "the batch's own keys wait for the next batch"
    keys.note_keys(_records(0, 1), ["n4"])
    assert evicted == ["old", "n1", "n2"] and len(keys) == 2


def test_keys_not_updated_for_the_idle_time_of_event_time_expire() -> None:
    evicted: list[str] = []
    keys = PartitionKeys(EntityLimits(idle_s=3600), on_evict=evicted.extend)
    keys.note_keys(_records(0, 2), ["quiet", "busy"], [0.0, 0.0])
    keys.note_keys(_records(0, 1), ["busy"], [3000.0])
    keys.note_keys(_records(0, 1), ["busy"], [3600.0])
    assert evicted == [], "idle for exactly the idle time is not yet expired"
    keys.note_keys(_records(0, 1), ["busy"], [3601.0])
    assert evicted == ["quiet"] and keys.evictions == {"capacity": 0, "idle": 1}
    assert "busy" in keys and "quiet" not in keys


def test_a_minority_of_forged_timestamps_does_not_move_the_event_clock() -> None:
    evicted: list[str] = []
    keys = PartitionKeys(EntityLimits(idle_s=3600), on_evict=evicted.extend)
    keys.note_keys(_records(0, 1), ["held"], [1_000.0])
    year_9999 = 253_402_300_740.0
    keys.note_keys(_records(0, 5), ["a", "b", "c", "d", "e"], [1_060.0, 1_060.0, 1_060.0, year_9999, year_9999])
    assert keys.clock_s == 1_060.0 and evicted == []


def test_without_event_times_nothing_expires_for_idleness() -> None:
    keys = PartitionKeys(EntityLimits(idle_s=1))
    keys.note_keys(_records(0, 1), ["a"])
    keys.note_keys(_records(0, 1), ["b"])
    assert len(keys) == 2 and keys.evictions["idle"] == 0
