"""Which entities (cells, sessions) this replica holds state for: the partition that last brought
each, so their state can be dropped when the partition moves to another replica in a rebalance,
and which were updated least recently, so that their number stays within the replica's limits."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence

from pipelines.entity_limits import EntityLimits, median_time_s
from pipelines.intake import AcceptedEvent
from pipelines.metrics import EvictionReason, count_state_evictions, watch_entities
from pipelines.records import InboundRecord

Partition = tuple[str, int]


class PartitionKeys:
    """Entity keys by source partition, least recently updated first, e.g.
    `keys.note(accepted, "cell_id", times_s)` per batch, then `keys.release(revoked)` for the keys
    whose state to forget.

    Within `limits`, every `note` first drops (and hands to `on_evict`) the entities not updated
    for `idle_s` of event time, then, while more than `max_entities` are held, the least recently
    updated ones. The keys a `note` brings are never dropped by that same call, so between batches
    a replica holds at most `max_entities` entities, or one batch's keys when a batch brings more.

    The event clock is the latest batch median of the event times given (see
    `entity_limits.median_time_s`): replays expire entities as they would have expired live, and a
    few hostile timestamps cannot expire everything. Without times, nothing expires for idleness.

    Args:
        pipeline: the name metrics carry; None counts nothing (the keys are then only an index of
            state that the pipeline bounds itself).
        on_evict: drops the state of entities the limits evicted.
        spare: entities to keep while others can go (a cell with an open alarm: dropping it would
            leave the alarm on the OSS list for ever). At most half of `max_entities` are spared,
            so a flood of hostile keys that all look worth sparing still cannot grow the state.
    """

    def __init__(
        self,
        limits: EntityLimits | None = None,
        *,
        pipeline: str | None = None,
        on_evict: Callable[[list[str]], None] | None = None,
        spare: Callable[[str], bool] | None = None,
    ) -> None:
        self.limits = limits if limits is not None else EntityLimits()
        self.pipeline = pipeline
        self._on_evict = on_evict
        self._spare = spare
        # Insertion order is update order: a key noted again is removed and put back at the end.
        # The value, shared by every key one partition brought in one call, is that partition and
        # the event clock then.
        self._held: dict[str, tuple[Partition, float]] = {}
        self.clock_s = -math.inf
        self.evictions: dict[EvictionReason, int] = {"capacity": 0, "idle": 0}
        self.dropped: list[tuple[str, Partition]] = []
        """Keys the limits evicted, with the partition that last brought each, until taken with
        `take_dropped()` (their changelog tombstones)."""
        if pipeline is not None:
            watch_entities(pipeline, self)

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, key: object) -> bool:
        return key in self._held

    def note(self, accepted: Iterable[AcceptedEvent], field: str, times_s: Sequence[float] = ()) -> list[str]:
        """Record the `field` of each accepted event under its partition; return them in order."""
        accepted = list(accepted)
        return self.note_keys([item.record for item in accepted], [item.event[field] for item in accepted], times_s)

    def note_keys(self, records: Sequence[InboundRecord], keys: list[str], times_s: Sequence[float] = ()) -> list[str]:
        """Record each record's key (`keys[i]` for `records[i]`) under its partition, as updated
        now; advance the event clock by `times_s` (some or all of the batch's event times); evict
        what the limits ask. Returns `keys`."""
        if len(records) != len(keys):
            raise ValueError(f"one key per record: {len(records)} records, {len(keys)} keys")
        self.clock_s = max(self.clock_s, median_time_s(times_s))
        values: dict[Partition, tuple[Partition, float]] = {}
        latest: dict[str, tuple[Partition, float]] = {}
        for record, key in zip(records, keys, strict=True):
            tp = (record.topic, record.partition)
            value = values.get(tp)
            if value is None:
                value = values[tp] = (tp, self.clock_s)
            latest[key] = value
        held = self._held
        for key in latest:
            held.pop(key, None)
        held.update(latest)
        self._evict(protected=len(latest))
        return keys

    def _evict(self, protected: int) -> None:
        """Drop idle entities, then the least recently updated beyond `max_entities`, sparing the
        last `protected` (those the current call brought)."""
        held = self._held
        candidates = len(held) - protected
        if candidates <= 0:
            return
        spare, spared, most_spared = self._spare, 0, self.limits.max_entities // 2
        keys: Iterator[str] = itertools.islice(iter(held), candidates)
        idle: list[str] = []
        if self.limits.idle_s > 0 and math.isfinite(self.clock_s):
            cutoff = self.clock_s - self.limits.idle_s
            for key in keys:
                if held[key][1] >= cutoff:
                    keys = itertools.chain((key,), keys)
                    break
                if spare is not None and spared < most_spared and spare(key):
                    spared += 1
                    continue
                idle.append(key)
        over = len(held) - len(idle) - self.limits.max_entities
        capacity: list[str] = []
        for key in keys:
            if len(capacity) >= over:
                break
            if spare is not None and spared < most_spared and spare(key):
                spared += 1
                continue
            capacity.append(key)
        self._drop(idle, "idle")
        self._drop(capacity, "capacity")

    def _drop(self, keys: list[str], reason: EvictionReason) -> None:
        if not keys:
            return
        held, dropped = self._held, self.dropped
        for key in keys:
            dropped.append((key, held.pop(key)[0]))
        self.evictions[reason] += len(keys)
        if self.pipeline is not None:
            count_state_evictions(self.pipeline, reason, len(keys))
        if self._on_evict is not None:
            self._on_evict(keys)

    def partition_of(self, key: str) -> Partition | None:
        """The partition that last brought `key`; None when it is not held."""
        held = self._held.get(key)
        return None if held is None else held[0]

    def take_dropped(self) -> list[tuple[str, Partition]]:
        """The keys evicted since the last call, each with its partition."""
        dropped, self.dropped = self.dropped, []
        return dropped

    def restore(self, key: str, partition: Partition, clock_s: float) -> None:
        """Hold `key` again, read back from a changelog: brought by `partition`, last updated at
        the event clock `clock_s`. Nothing is evicted here; the next `note` applies the limits."""
        self._held.pop(key, None)
        self._held[key] = (partition, clock_s)
        self.clock_s = max(self.clock_s, clock_s)

    def discard(self, key: str) -> None:
        """Stop holding `key` (its changelog says it was dropped), without counting an eviction."""
        self._held.pop(key, None)

    def release(self, partitions: Sequence[tuple[str, int]]) -> list[str]:
        """Forget those partitions; the keys they last brought, sorted."""
        moved = set(partitions)
        released = [key for key, (tp, _) in self._held.items() if tp in moved]
        for key in released:
            del self._held[key]
        return sorted(released)
