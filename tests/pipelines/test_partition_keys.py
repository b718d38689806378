"""A replica remembers which entities each partition brought, and releases exactly those when
the partition moves away."""

from __future__ import annotations

from datetime import UTC, datetime

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
