"""Across a rebalance a replica keeps the state of the partitions it is given back, and restores
from the changelog only the partitions that are new to it or that another replica committed in
meanwhile (a replica evicted for silence gets its partitions back stale). A batch abandoned in
the revoke's drain drops the state at once. The consumer is a stand-in that answers what the
group committed; the restore is recorded instead of read from a broker."""

from __future__ import annotations

from typing import Any, cast

import pytest
from aiokafka import TopicPartition

from edge.settings import EdgeSettings
from pipelines import runtime as runtime_module
from pipelines.base import BatchPipeline
from pipelines.errors import StateRefused
from pipelines.restore import RestoreReport
from pipelines.runtime import PipelineRuntime
from pipelines.settings import PipelineSettings

TOPIC = "kr-seoul.ran.kpi"
P0, P1, P2 = (TopicPartition(TOPIC, p) for p in range(3))


class StandInConsumer:
    """What the runtime asks of its consumer while it takes partitions over."""

    def __init__(self, committed: dict[TopicPartition, int | None]) -> None:
        self.group_committed = committed
        self.assigned: set[TopicPartition] = set()
        self.paused: set[TopicPartition] = set()

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    def pause(self, *tps: TopicPartition) -> None:
        self.paused.update(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.paused.difference_update(tps)

    async def committed(self, tp: TopicPartition) -> int | None:
        return self.group_committed.get(tp)


class RecordingPipeline:
    """Records which partitions' state is dropped."""

    name = "kpi-anomaly"
    batch_records = 10
    state_topic = "kr-seoul.state.kpi-anomaly"

    def __init__(self) -> None:
        self.forgotten: list[tuple[str, int]] = []

    def forget_keys(self, partitions: list[tuple[str, int]]) -> None:
        self.forgotten.extend(partitions)


@pytest.fixture
def restored(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    calls: list[list[int]] = []

    async def record(edge: Any, pipeline: Any, partitions: list[int], timeout_s: float) -> RestoreReport:
        calls.append(partitions)
        return RestoreReport(len(partitions), 0, 0, 0.0)

    monkeypatch.setattr(runtime_module, "restore_state", record)
    return calls


def _runtime(consumer: StandInConsumer, pipeline: RecordingPipeline) -> PipelineRuntime:
    runtime = PipelineRuntime(
        cast(BatchPipeline, pipeline), EdgeSettings(region="kr-seoul", site_id="SEL-GN-0042"), PipelineSettings()
    )
    runtime._consumer = cast(Any, consumer)
    return runtime


async def _assign(runtime: PipelineRuntime, consumer: StandInConsumer, *tps: TopicPartition) -> None:
    consumer.assigned = set(tps)
    await runtime.take_over(list(tps))


async def test_partitions_given_back_keep_their_state_and_only_new_ones_are_restored(restored: list[list[int]]) -> None:
    consumer, pipeline = StandInConsumer({P0: 100, P1: 200, P2: 50}), RecordingPipeline()
    runtime = _runtime(consumer, pipeline)
    await _assign(runtime, consumer, P0, P1)
    assert restored == [[0, 1]], "a first assignment restores everything"
    runtime._committed_here.update({P0: 100, P1: 200})  # this replica's last commits

    runtime.revoked([P0, P1], keep_state=True)
    await _assign(runtime, consumer, P0, P2)
    assert restored[-1] == [2], "P0 came back untouched: only P2 is read"
    assert pipeline.forgotten == [(TOPIC, 1)], "P1 went elsewhere: its state is dropped"
    assert consumer.paused == set() and not runtime.restoring


async def test_a_partition_another_replica_committed_in_meanwhile_is_restored_not_kept(
    restored: list[list[int]],
) -> None:
    consumer, pipeline = StandInConsumer({P0: 100, P1: 200}), RecordingPipeline()
    runtime = _runtime(consumer, pipeline)
    await _assign(runtime, consumer, P0, P1)
    runtime._committed_here.update({P0: 100, P1: 200})

    runtime.revoked([P0, P1], keep_state=True)
    consumer.group_committed[P1] = 260  # another replica processed P1 while this one was silent
    await _assign(runtime, consumer, P0, P1)
    assert restored[-1] == [1]
    assert pipeline.forgotten == [(TOPIC, 1)], "the stale state is dropped before the restore"


async def test_after_an_abandoned_batch_nothing_is_kept(restored: list[list[int]]) -> None:
    consumer, pipeline = StandInConsumer({P0: 100}), RecordingPipeline()
    runtime = _runtime(consumer, pipeline)
    await _assign(runtime, consumer, P0)
    runtime._committed_here.update({P0: 100})

    runtime.revoked([P0], keep_state=False)  # the drain abandoned a batch: memory is ahead of the changelog
    assert pipeline.forgotten == [(TOPIC, 0)]
    await _assign(runtime, consumer, P0)
    assert restored[-1] == [0]


async def test_a_failed_restore_stops_the_replica(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def refuse(edge: Any, pipeline: Any, partitions: list[int], timeout_s: float) -> RestoreReport:
        raise StateRefused("kr-seoul.state.kpi-anomaly[0] at offset 7: state version 9")

    monkeypatch.setattr(runtime_module, "restore_state", refuse)
    consumer, pipeline = StandInConsumer({}), RecordingPipeline()
    runtime = _runtime(consumer, pipeline)
    await _assign(runtime, consumer, P0)
    assert runtime.stopping and not runtime.ready
    assert isinstance(runtime._failed, StateRefused)
    assert consumer.paused == set(), "its partitions are not left paused: the replica stops instead"
