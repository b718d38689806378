"""Which entities (cells, sessions) each consumed partition has brought to this replica, so that
their state can be dropped when the partition moves to another replica in a rebalance."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pipelines.intake import AcceptedEvent
from pipelines.records import InboundRecord


class PartitionKeys:
    """Entity keys by source partition, e.g. `keys.note(accepted, "cell_id")` per batch, then
    `keys.release(revoked)` for the keys whose state to forget."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, int], set[str]] = {}

    def note(self, accepted: Iterable[AcceptedEvent], field: str) -> list[str]:
        """Record the `field` of each accepted event under its partition; return them in order."""
        accepted = list(accepted)
        return self.note_keys([item.record for item in accepted], [item.event[field] for item in accepted])

    def note_keys(self, records: Sequence[InboundRecord], keys: list[str]) -> list[str]:
        """Record each record's key (`keys[i]` for `records[i]`) under its partition; return `keys`."""
        by_partition: dict[tuple[str, int], list[str]] = {}
        for record, key in zip(records, keys, strict=True):
            tp = (record.topic, record.partition)
            found = by_partition.get(tp)
            if found is None:
                found = by_partition[tp] = []
            found.append(key)
        for tp, found in by_partition.items():
            self._keys.setdefault(tp, set()).update(found)
        return keys

    def release(self, partitions: Sequence[tuple[str, int]]) -> list[str]:
        """Forget those partitions; the keys they brought, sorted."""
        released: set[str] = set()
        for tp in partitions:
            released |= self._keys.pop(tp, set())
        return sorted(released)
