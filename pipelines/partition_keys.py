"""Which entities (cells, sessions) each consumed partition has brought to this replica, so that
their state can be dropped when the partition moves to another replica in a rebalance."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pipelines.intake import AcceptedEvent


class PartitionKeys:
    """Entity keys by source partition, e.g. `keys.note(accepted, "cell_id")` per batch, then
    `keys.release(revoked)` for the keys whose state to forget."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, int], set[str]] = {}

    def note(self, accepted: Iterable[AcceptedEvent], field: str) -> list[str]:
        """Record the `field` of each accepted event under its partition; return them in order."""
        keys = []
        for item in accepted:
            key = item.event[field]
            self._keys.setdefault((item.record.topic, item.record.partition), set()).add(key)
            keys.append(key)
        return keys

    def release(self, partitions: Sequence[tuple[str, int]]) -> list[str]:
        """Forget those partitions; the keys they brought, sorted."""
        released: set[str] = set()
        for tp in partitions:
            released |= self._keys.pop(tp, set())
        return sorted(released)
