"""At-least-once, what acknowledged batches leave to commit: their input offsets and the state
their entities have after them, written together once per commit interval.

A batch's outputs go to Kafka as soon as it is finished; its offsets and its changelog wait.
Every `interval_s` (and before partitions move or the replica stops) the changelog of the
batches since the last commit goes out, one record per entity however many batches changed
it, and once the broker has it the offsets are committed. So the changelog never runs ahead of
the committed offsets (a restart replays exactly the records its restored state has not seen)
and an entity changed by every batch costs one changelog record per interval, not one per
batch. What a crash loses is at most an interval of commits: its records are processed again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from aiokafka import TopicPartition

from pipelines.changelog import EntityChange


class PendingCommit:
    """Offsets and entity changes of acknowledged batches not yet committed.

    `pending.add(changes, offsets)` per batch in order; when `pending.due()`, `pending.take()`."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._changes: dict[str, EntityChange] = {}
        self._offsets: dict[TopicPartition, int] = {}
        self._since: float | None = None

    def __bool__(self) -> bool:
        return bool(self._offsets)

    def add(self, changes: Mapping[str, EntityChange], offsets: Mapping[TopicPartition, int]) -> None:
        """One more acknowledged batch: a later batch's state of an entity replaces an earlier one's."""
        if self._since is None:
            self._since = time.monotonic()
        self._changes.update(changes)
        self._offsets.update(offsets)

    def wait_s(self) -> float | None:
        """Seconds until a commit is due (None: nothing is pending)."""
        if self._since is None:
            return None
        return max(0.0, self._since + self.interval_s - time.monotonic())

    def due(self) -> bool:
        wait = self.wait_s()
        return wait is not None and wait <= 0

    def take(self) -> tuple[dict[str, EntityChange], dict[TopicPartition, int]]:
        """What is pending, which is then none."""
        taken = self._changes, self._offsets
        self._changes, self._offsets, self._since = {}, {}, None
        return taken
