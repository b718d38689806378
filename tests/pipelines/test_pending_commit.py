"""What acknowledged batches leave to commit at-least-once: a later batch's state of an entity
replaces an earlier one's, the latest offset per partition wins, and a commit falls due once
the interval since the first pending batch is up."""

from __future__ import annotations

import time

from aiokafka import TopicPartition

from pipelines.changelog import EntityChange
from pipelines.pending_commit import PendingCommit

P0, P1 = TopicPartition("kr-seoul.ran.kpi", 0), TopicPartition("kr-seoul.ran.kpi", 1)


def test_batches_merge_into_one_record_per_entity_and_the_latest_offsets() -> None:
    pending = PendingCommit(60.0)
    assert not pending and pending.wait_s() is None and not pending.due()
    pending.add({"cell-a": EntityChange(("t", 0), {"n": 1}), "cell-b": EntityChange(("t", 1), {"n": 1})}, {P0: 10, P1: 4})
    pending.add({"cell-a": EntityChange(("t", 0), {"n": 2}), "cell-c": EntityChange(("t", 0), None)}, {P0: 25})
    assert pending and not pending.due()
    wait = pending.wait_s()
    assert wait is not None and 59 < wait <= 60
    changes, offsets = pending.take()
    assert {key: change.state for key, change in changes.items()} == {"cell-a": {"n": 2}, "cell-b": {"n": 1}, "cell-c": None}
    assert offsets == {P0: 25, P1: 4}
    assert not pending and pending.take() == ({}, {})


def test_a_commit_falls_due_an_interval_after_the_first_pending_batch() -> None:
    pending = PendingCommit(0.05)
    pending.add({}, {P0: 1})
    assert not pending.due()
    time.sleep(0.06)
    pending.add({}, {P0: 2})  # a later batch does not push the commit back
    assert pending.due() and pending.wait_s() == 0
    assert PendingCommit(0.0).due() is False, "nothing pending, nothing due"
    every_batch = PendingCommit(0.0)
    every_batch.add({}, {P1: 3})
    assert every_batch.due()
