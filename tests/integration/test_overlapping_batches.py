"""The runtime's overlap of batches, against the real broker: a pipeline that supports it has its
next batch begun while this one's inference is out, yet batches finish, publish and commit in
the order they were fetched, never more than `inference_overlap` are begun at once, and a stop
while an inference hangs abandons that batch and every batch begun after it, uncommitted.

The pipeline here is a scripted double whose "inference" is a timed wait, so that answers can
be made to arrive out of order on purpose."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from edge.settings import EdgeSettings
from edge.topics import SiteTopics
from edgectl.broker import create_topics
from pipelines.base import BatchPipeline
from pipelines.errors import BatchAbandoned
from pipelines.main import run_until_stopped
from pipelines.outcome import BatchOutcome, StartedBatch
from pipelines.records import InboundRecord, OutboundRecord
from pipelines.runtime import PipelineRuntime
from pipelines.settings import PipelineSettings

from .kafka_io import committed, produce, read_topic

pytestmark = pytest.mark.integration
TOPICS = SiteTopics("kr-seoul")
SOURCE, SINK = TOPICS.kpi, TOPICS.kpi_scores
BATCH = 50


class ScriptedPipeline:
    """Echoes each record's offset to the sink. Batch n's inference takes `delays[n]` seconds
    (0 after the list), or, at `hang_at`, until the runtime stops and abandons it."""

    name = "scripted"
    batch_records = BATCH
    overlapping = True

    def __init__(self, delays: Sequence[float], hang_at: int | None = None) -> None:
        self.input_topics = [SOURCE]
        self.output_topics = [SINK]
        self.delays = delays
        self.hang_at = hang_at
        self.begun: list[int] = []
        self.finished: list[int] = []
        self.most_begun_unfinished = 0

    state_topic = None  # keeps no per-entity state
    compacted_topics: list[str] = []  # noqa: RUF012

    def forget_keys(self, partitions: Sequence[tuple[str, int]]) -> None:
        pass

    def begin(self, records: Sequence[InboundRecord], stopping: asyncio.Event) -> StartedBatch:
        n = len(self.begun)
        self.begun.append(records[0].offset)
        self.most_begun_unfinished = max(self.most_begun_unfinished, len(self.begun) - len(self.finished))
        outcome = BatchOutcome(events_in=len(records))

        def finish(answer: int) -> None:
            assert answer == n
            self.finished.append(records[0].offset)
            for r in records:
                outcome.outputs.append(OutboundRecord(SINK, r.key, str(r.offset).encode()))
            outcome.results += len(records)

        return StartedBatch(outcome, self._infer(n, stopping), finish)

    async def _infer(self, n: int, stopping: asyncio.Event) -> int:
        if n == self.hang_at:
            await stopping.wait()
            raise BatchAbandoned("stopping while the scripted inference hangs")
        await asyncio.sleep(self.delays[n] if n < len(self.delays) else 0)
        return n


async def _prepare(broker: str, records: int) -> None:
    await create_topics(broker, [SOURCE, SINK], partitions=1)
    await produce(broker, SOURCE, [(b"cell-1", f"r{i}".encode(), []) for i in range(records)])


def _runtime(broker: str, pipeline: BatchPipeline, overlap: int, **settings: Any) -> PipelineRuntime:
    edge = EdgeSettings(region="kr-seoul", site_id="SEL-GN-0042", kafka_bootstrap_servers=broker,
                        kafka_enable_idempotence=broker.idempotent)
    return PipelineRuntime(pipeline, edge, PipelineSettings(
        session_timeout_ms=6000, metrics_port=0, max_batch_records=BATCH,
        inference_overlap=overlap, consumer_group="overlap", **settings,
    ))


async def _wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    until = loop.time() + timeout_s
    while not condition() and loop.time() < until:
        await asyncio.sleep(0.02)
    assert condition(), "timed out"


@pytest.mark.parametrize("overlap", [1, 3])
async def test_answers_out_of_order_still_finish_publish_and_commit_in_fetch_order(broker: str, overlap: int) -> None:
    records = 10 * BATCH
    await _prepare(broker, records)
    # Early batches answer last: with overlap, later answers arrive first and must wait their turn.
    pipeline = ScriptedPipeline(delays=[0.4, 0.3, 0.2, 0.1])
    async with _runtime(broker, pipeline, overlap) as runtime:
        stop = asyncio.Event()
        task = asyncio.create_task(run_until_stopped(runtime, stop, grace_period_s=10))
        await _wait_for(lambda: runtime.stats.events_in == records)
        stop.set()
        await task

    assert pipeline.finished == pipeline.begun == sorted(pipeline.begun)
    assert pipeline.most_begun_unfinished == overlap
    assert [int(r.value) for r in await read_topic(broker, SINK)] == list(range(records))
    assert await committed(broker, "overlap", SOURCE) == {0: records}


async def test_a_stop_while_an_inference_hangs_abandons_it_and_every_batch_begun_after_it(broker: str) -> None:
    await _prepare(broker, 10 * BATCH)
    pipeline = ScriptedPipeline(delays=[], hang_at=1)
    async with _runtime(broker, pipeline, overlap=3) as runtime:
        stop = asyncio.Event()
        task = asyncio.create_task(run_until_stopped(runtime, stop, grace_period_s=10))
        # Batch 1 hangs; batches 2 and 3 are begun (three unfinished) and answered behind it,
        # but may not finish before it.
        await _wait_for(lambda: len(pipeline.begun) == 4 and runtime.stats.events_in == BATCH)
        await asyncio.sleep(0.2)
        assert pipeline.finished == [0]
        stop.set()
        await task

    assert runtime.stats.abandoned_batches == 3
    assert len(pipeline.begun) == 4
    assert pipeline.finished == [0]
    assert [int(r.value) for r in await read_topic(broker, SINK)] == list(range(BATCH))
    assert await committed(broker, "overlap", SOURCE) == {0: BATCH}


class HangingPlainPipeline:
    """A pipeline that does not overlap: each batch is begun once the one before it is finished;
    batch 1's inference ignores the stop and hangs until cancelled."""

    name = "plain"
    batch_records = BATCH
    overlapping = False

    def __init__(self) -> None:
        self.input_topics = [SOURCE]
        self.output_topics = [SINK]
        self.processed = 0
        self.cancelled = False

    state_topic = None  # keeps no per-entity state
    compacted_topics: list[str] = []  # noqa: RUF012

    def forget_keys(self, partitions: Sequence[tuple[str, int]]) -> None:
        pass

    def begin(self, records: Sequence[InboundRecord], stopping: asyncio.Event) -> StartedBatch:
        self.processed += 1
        outcome = BatchOutcome(events_in=len(records), results=len(records))

        def finish(answer: None) -> None:
            outcome.outputs.extend(OutboundRecord(SINK, r.key, str(r.offset).encode()) for r in records)

        return StartedBatch(outcome, self._infer(self.processed), finish)

    async def _infer(self, n: int) -> None:
        if n == 2:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise


async def test_the_grace_period_running_out_cancels_the_hung_batch_and_drops_the_one_queued_behind_it(
    broker: str,
) -> None:
    await _prepare(broker, 10 * BATCH)
    pipeline = HangingPlainPipeline()
    async with _runtime(broker, pipeline, overlap=2) as runtime:
        stop = asyncio.Event()
        task = asyncio.create_task(run_until_stopped(runtime, stop, grace_period_s=0.5))
        # Batch 1's inference hangs; batch 2 is fetched and queued behind it, not begun.
        await _wait_for(lambda: pipeline.processed == 2 and runtime.stats.events_in == BATCH
                        and runtime.stats.fetched == 3 * BATCH)
        stop.set()
        await asyncio.wait_for(task, 10)
    gc.collect()  # a queued process() never started and never closed would warn here

    assert pipeline.cancelled and pipeline.processed == 2
    assert [int(r.value) for r in await read_topic(broker, SINK)] == list(range(BATCH))
    assert await committed(broker, "overlap", SOURCE) == {0: BATCH}


async def test_a_revoke_during_an_outage_abandons_the_waiting_batches_after_the_grace_period(broker: str) -> None:
    """Another replica joins while a batch waits for an accelerator that does not answer: the
    revoke must not wait for the outage to end. The batch and those begun after it are dropped
    uncommitted, fetched again once the partition is assigned, and scored then."""
    records = 10 * BATCH
    await _prepare(broker, records)
    pipeline = ScriptedPipeline(delays=[], hang_at=1)
    runtime = _runtime(broker, pipeline, overlap=3, grace_period_s=0.5)
    async with runtime:
        stop = asyncio.Event()
        task = asyncio.create_task(run_until_stopped(runtime, stop, grace_period_s=10))
        await _wait_for(lambda: len(pipeline.begun) == 4 and runtime.stats.events_in == BATCH)
        # A second member of the group forces a rebalance; it leaves again, so this replica
        # ends up with the partition whichever member got it in between.
        other = AIOKafkaConsumer(SOURCE, bootstrap_servers=broker, group_id="overlap", session_timeout_ms=6000,
                                 enable_auto_commit=False)
        await other.start()
        await _wait_for(lambda: runtime.stats.abandoned_batches == 3)
        await other.stop()
        await _wait_for(lambda: runtime.stats.events_in == records, timeout_s=60)
        stop.set()
        await task

    assert runtime.stats.abandoned_batches == 3
    assert [int(r.value) for r in await read_topic(broker, SINK)] == list(range(records))
    assert await committed(broker, "overlap", SOURCE) == {0: records}


async def test_a_stop_while_a_revoke_waits_on_a_hung_batch_still_leaves_the_group(
    broker: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The revoke's drain waits on a batch that ignores the stop; when the grace period of the
    stop runs out and the run is cancelled, the drain must end too, or leaving the group (which
    waits for the rebalance callback) would hang the process until it is killed."""
    await _prepare(broker, 10 * BATCH)
    pipeline = HangingPlainPipeline()
    runtime = _runtime(broker, pipeline, overlap=2, grace_period_s=0.5)
    other = AIOKafkaConsumer(SOURCE, bootstrap_servers=broker, group_id="overlap", session_timeout_ms=6000,
                             enable_auto_commit=False)
    await runtime.start()
    try:
        stop = asyncio.Event()
        task = asyncio.create_task(run_until_stopped(runtime, stop, grace_period_s=0.5))
        await _wait_for(lambda: pipeline.processed == 2 and runtime.stats.events_in == BATCH)
        joining = asyncio.create_task(other.start())
        await _wait_for(lambda: "partitions revoked while batches wait" in caplog.text)
        stop.set()
        await asyncio.wait_for(task, 10)
        await asyncio.wait_for(runtime.stop(), 20)
        await asyncio.wait_for(joining, 30)
    finally:
        await other.stop()
        await runtime.stop()

    assert pipeline.cancelled
    assert await committed(broker, "overlap", SOURCE) == {0: BATCH}


async def test_an_outage_longer_than_the_poll_interval_keeps_the_replica_in_its_group(
    broker: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Every slot is taken by batches waiting for a slow accelerator for twice the maximum poll
    interval: the replica keeps polling its paused partitions, so it is not evicted (which would
    fail its next commit and restart it), and everything is scored once."""
    records = 10 * BATCH
    await _prepare(broker, records)
    pipeline = ScriptedPipeline(delays=[0, 4.0])
    runtime = _runtime(broker, pipeline, overlap=3, max_poll_interval_ms=2000, pause_after_s=0.3)
    async with runtime:
        stop = asyncio.Event()
        task = asyncio.create_task(run_until_stopped(runtime, stop, grace_period_s=10))
        await _wait_for(lambda: runtime.stats.events_in == records)
        stop.set()
        await task

    assert runtime.stats.pauses >= 1
    assert "revoked" not in caplog.text and "leave" not in caplog.text.lower()
    assert [int(r.value) for r in await read_topic(broker, SINK)] == list(range(records))
    assert await committed(broker, "overlap", SOURCE) == {0: records}
