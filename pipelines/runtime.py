"""The pipeline runtime: consume a batch, process it, produce every output, and only then commit
the batch's offsets (at-least-once).

Three stages, each in batch order: the fetch loop takes a batch and, for an overlapping pipeline,
begins it at once (decode, state, inference sent); the finisher begins any other pipeline's batch
once the batch before it is finished, awaits each batch's inference, finishes it and hands its
outputs to the producer; the acknowledger awaits each batch's acknowledgements. Beside them, the
committer, every commit interval, writes the changelog of the state the acknowledged batches
changed and commits their offsets (`PendingCommit`), without holding up the batches behind
them; exactly-once, each batch's transaction commits all three. Every pipeline goes through the
same `begin` and `finish`; only when `begin` is called differs. At most `inference_overlap`
batches are fetched and not finished, and at most
`max_in_flight_batches` wait for acknowledgements; when either bound is reached, fetching waits
too. Anything that keeps fetching waiting longer than `pause_after_s` (accelerators down) pauses
every assigned partition until it is done, so the consumer does not keep prefetching behind it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import (
    CommitFailedError,
    InvalidProducerEpoch,
    InvalidSessionTimeoutError,
    KafkaError,
    ProducerFenced,
)
from opentelemetry import trace
from opentelemetry.trace import Span

from edge.kafka import client_options, start_producer
from edge.lifecycle import tune_garbage_collection
from edge.residency import ResidencyPolicy, ResidencyViolation
from edge.settings import EdgeSettings
from edge.telemetry import context_kafka_headers, kafka_headers_context
from edge.topics import SiteTopics
from pipelines.base import BatchPipeline
from pipelines.changelog import EntityChange
from pipelines.dlq import accelerator_audit_record
from pipelines.errors import BatchAbandoned, ReplicaFenced, StartupRefused
from pipelines.metrics import PipelineMetrics
from pipelines.outcome import BatchOutcome, StartedBatch
from pipelines.pending_commit import PendingCommit
from pipelines.publish import ResultPublisher
from pipelines.records import InboundRecord, OutboundRecord
from pipelines.restore import restore_state
from pipelines.settings import PipelineSettings
from pipelines.state_topics import provision_compacted_topics
from pipelines.stats import PipelineStats
from pipelines.transactions import PartitionTransaction, PartitionTransactions

if TYPE_CHECKING:
    from pipelines.accel_client import AcceleratorNotice

log = logging.getLogger(__name__)
T = TypeVar("T")
_tracer = trace.get_tracer(__name__)
_MAX_SPAN_LINKS = 32
_MOST_PARTITION_BATCHES_PER_POLL = 16
CHANGELOG_SLICE_ENTITIES = 256
"""Entities whose changelog records a commit makes at once (about 1.3 ms of the event loop)."""


class _RebalanceHandler(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before partitions move: finish and commit the batches in flight (abandoning those still
    waiting for an accelerator after the grace period). Once partitions are assigned: drop the
    state of those that went elsewhere and take over the new ones (restore their state) before
    any of their records."""

    def __init__(self, runtime: PipelineRuntime) -> None:
        self._runtime = runtime

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        abandoned = self._runtime.stats.abandoned_batches
        await self._runtime.drain_within_grace_period()
        # An abandoned batch changed the state in memory and not the changelog: that state is
        # dropped now and restored from the changelog if the partition comes back.
        self._runtime.revoked(revoked, keep_state=self._runtime.stats.abandoned_batches == abandoned)
        await self._runtime.release(revoked)
        if revoked:
            log.info("revoked %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("assigned %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned))
        await self._runtime.take_over(assigned)


@dataclass
class _Begun:
    """A fetched batch waiting to be finished: once begun, `started` is what the pipeline made of
    it and `inference` its running inference (None when it had nothing to infer)."""

    records: list[InboundRecord]
    offsets: dict[TopicPartition, int]
    consumed: dict[TopicPartition, int]
    """Records of the batch by partition (for the metrics)."""
    span: Span
    started: StartedBatch | None = None
    inference: asyncio.Task[Any] | None = None
    transaction: PartitionTransaction | None = None
    """Exactly-once: the producer of the one partition the batch holds, whose transaction takes it."""


@dataclass
class _InFlight:
    """A processed batch whose outputs are on their way; its offsets wait for every ack."""

    deliveries: list[asyncio.Future[Any]]
    """The outputs' acknowledgements; exactly-once, the task that commits the batch's transaction."""
    offsets: dict[TopicPartition, int]
    outcome: BatchOutcome
    records: Sequence[InboundRecord]
    consumed: dict[TopicPartition, int]
    transaction: PartitionTransaction | None = None


class PipelineRuntime:
    """Runs one pipeline against Kafka until `request_stop()`.

    `async with PipelineRuntime(pipeline, edge, settings) as runtime: await runtime.run()`
    """

    def __init__(
        self,
        pipeline: BatchPipeline,
        edge: EdgeSettings,
        settings: PipelineSettings,
        *,
        accelerator_notices: asyncio.Queue[AcceleratorNotice] | None = None,
    ) -> None:
        self.pipeline = pipeline
        # Accelerators the client took out of rotation, published to the audit topic as they come.
        self._accelerator_notices = accelerator_notices
        self.edge = edge
        self.settings = settings
        self.stats = PipelineStats()
        self.metrics = PipelineMetrics(pipeline.name)
        self.assigned = asyncio.Event()
        self._stopping = asyncio.Event()
        # Set while batches still waiting for an accelerator are to be abandoned: after a stop,
        # or while a revoke's drain outlasts the grace period. Pipelines get it as `stopping`.
        self._giving_up = asyncio.Event()
        # The finisher abandoned a batch: every batch begun after it is dropped too.
        self._abandoning = False
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._publisher: ResultPublisher | None = None
        self._begun: asyncio.Queue[_Begun] = asyncio.Queue()
        # A pipeline that cannot overlap still fetches ahead: its next batch waits, not yet begun.
        self._begin_slots = asyncio.Semaphore(settings.inference_overlap)
        self._inferences: set[asyncio.Task[Any]] = set()
        self._in_flight: asyncio.Queue[_InFlight] = asyncio.Queue(maxsize=settings.max_in_flight_batches)
        self.batch_records = settings.max_batch_records or pipeline.batch_records
        self._pause_holds = 0
        self._paused: list[TopicPartition] = []
        self.exactly_once = settings.delivery == "exactly-once"
        self._transactions = PartitionTransactions(edge, self.group_id) if self.exactly_once else None
        # Assigned partitions being taken over (their state restored): none of their records is begun.
        self._restoring: set[TopicPartition] = set()
        self.restoring = False
        """Whether partitions are being taken over; `/readyz` reads it from another thread."""
        # What went wrong in a rebalance callback, which aiokafka would only log: `run` raises it.
        self._failed: BaseException | None = None
        # Revoked partitions whose state is kept until the assignment says whether they stay here.
        self._kept: set[TopicPartition] = set()
        # The offset this replica last committed per partition: a kept partition's state is still
        # good only if nobody has committed after it.
        self._committed_here: dict[TopicPartition, int] = {}
        self._pending = PendingCommit(settings.commit_interval_ms / 1000)
        self._acknowledged = asyncio.Event()  # a batch joined what is pending
        # The committer and a drain both commit what is pending: one at a time, in order.
        self._committing = asyncio.Lock()

    @property
    def group_id(self) -> str:
        return self.settings.consumer_group or f"{self.edge.region}.{self.pipeline.name}"

    async def start(self) -> None:
        """Check residency of every topic, then join the consumer group.

        Raises:
            StartupRefused: a topic is outside the site's region, the brokers refuse the
                consumer's session timeout, a state topic is partitioned unlike the input, or
                exactly-once delivery is asked of brokers without transactions.
            SiteConfigError: the idempotent producer is on against a broker without it.
        """
        policy = ResidencyPolicy(self.edge.region)
        compacted = self.pipeline.compacted_topics
        try:
            policy.require_topics([*self.pipeline.output_topics, *compacted], "produce to")
            policy.require_topics(self.pipeline.input_topics, "consume from")
        except ResidencyViolation as exc:
            raise StartupRefused(str(exc)) from exc
        tune_garbage_collection(self.settings.gc_gen0_threshold)
        self._producer = await start_producer(self.edge)
        self._publisher = ResultPublisher(self._producer)
        if self._transactions is not None:
            await self._transactions.require_support()
        if compacted or self.exactly_once:
            partitions = await provision_compacted_topics(
                self.edge, self.pipeline.input_topics, compacted, self.settings.state_replication_factor
            )
            if self.exactly_once:
                self._bound_per_poll(partitions)
        self._consumer = AIOKafkaConsumer(
            **client_options(self.edge),
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.settings.fetch_max_wait_ms,
            max_poll_records=self.batch_records,
            session_timeout_ms=self.settings.session_timeout_ms,
            heartbeat_interval_ms=self.settings.heartbeat_interval_ms,
            max_poll_interval_ms=self.settings.max_poll_interval_ms,
            # Exactly-once: upstream transactions that were aborted are never processed.
            isolation_level="read_committed" if self.exactly_once else "read_uncommitted",
        )
        self._consumer.subscribe(self.pipeline.input_topics, listener=_RebalanceHandler(self))
        try:
            await self._consumer.start()
        except InvalidSessionTimeoutError as exc:
            raise StartupRefused(
                f"the brokers refuse PIPELINE_SESSION_TIMEOUT_MS={self.settings.session_timeout_ms}: it must lie within "
                "their group.min.session.timeout.ms and group.max.session.timeout.ms (Apache Kafka: 6000 to 1800000 "
                "by default)"
            ) from exc

    def _bound_per_poll(self, partitions: int) -> None:
        """Exactly-once, what one poll fetches is begun as one batch per partition: the bounds
        on batches begun and in flight count a poll's worth of them as one, so that transactions
        of different partitions overlap as batches do at least once (the records held stay
        within the same bounds: a poll's partition batches share one poll's records)."""
        share = max(1, min(partitions, _MOST_PARTITION_BATCHES_PER_POLL))
        self._begin_slots = asyncio.Semaphore(self.settings.inference_overlap * share)
        self._in_flight = asyncio.Queue(maxsize=self.settings.max_in_flight_batches * share)

    def request_stop(self) -> None:
        """Ask the loop to stop; batches in flight are committed, one stuck in inference is abandoned."""
        self._stopping.set()
        self._giving_up.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def ready(self) -> bool:
        """Holds partitions, has restored their state, and is not stopping (`/readyz`)."""
        return self.assigned.is_set() and not self.restoring and not self._stopping.is_set()

    def revoked(self, revoked: Collection[TopicPartition], *, keep_state: bool) -> None:
        """Partitions were revoked and drained: keep their state until the assignment that
        follows (a rebalance mostly gives a replica its partitions back), or drop it now."""
        if keep_state:
            self._kept.update(revoked)
        else:
            self._drop(revoked)

    def _drop(self, partitions: Collection[TopicPartition]) -> None:
        moved = [(tp.topic, tp.partition) for tp in partitions]
        self.pipeline.forget_keys(moved)
        self.metrics.forget_partitions(moved)
        for tp in partitions:
            self._committed_here.pop(tp, None)

    async def _still_ours(self, kept: set[TopicPartition]) -> set[TopicPartition]:
        """Of the kept partitions assigned again, those nobody else has committed in since:
        their state in memory is current (a replica evicted from its group for silence gets its
        partitions back after another has processed them)."""
        assert self._consumer is not None
        current = set()
        for tp in kept:
            if await self._consumer.committed(tp) == self._committed_here.get(tp):
                current.add(tp)
        return current

    async def take_over(self, assigned: Collection[TopicPartition]) -> None:
        """Before any record of newly assigned partitions is begun: fence their previous owner's
        transactions (exactly-once) and restore their state; partitions this replica held
        before the rebalance, and nobody processed meanwhile, keep the state they have. Their
        fetching stays paused until then. A failure stops the runtime (`run` raises it): a
        replica must not process partitions whose state it could not restore."""
        consumer = self._consumer
        kept, self._kept = self._kept, set()
        self._drop(kept - set(assigned))
        if not assigned or consumer is None or (self._transactions is None and self.pipeline.state_topic is None):
            return
        self._restoring.update(assigned)
        self.restoring = True
        self.metrics.restoring_partitions = len(self._restoring)
        consumer.pause(*assigned)
        try:
            if self._transactions is not None:
                await self._transactions.open(assigned)
            current = await self._still_ours(kept & set(assigned))
            self._drop(kept & set(assigned) - current)
            numbers = sorted({tp.partition for tp in assigned if tp not in current})
            if self.pipeline.state_topic is not None and numbers:
                report = await restore_state(self.edge, self.pipeline, numbers, self.settings.restore_timeout_s)
                self.metrics.state_restored(report.entities, report.records, report.seconds)
                log.info(
                    "restored the state of %d entities of partitions %s from %d changelog records in %.2f s",
                    report.entities, numbers, report.records, report.seconds,
                )
        except Exception as exc:  # noqa: BLE001  # whatever it is, aiokafka would only log it: `run` raises it
            log.error("could not take over partitions %s: %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned), exc)
            self._failed = exc
            self.request_stop()
        finally:
            self._restoring.difference_update(assigned)
            self.restoring = bool(self._restoring)
            self.metrics.restoring_partitions = len(self._restoring)
            still = [tp for tp in assigned if tp in consumer.assignment()]
            if self._pause_holds:  # an outage pauses fetching: they resume with the rest
                self._paused.extend(still)
            else:
                consumer.resume(*still)

    async def release(self, revoked: Collection[TopicPartition]) -> None:
        """After revoked partitions are drained: stop their transactional producers."""
        if self._transactions is not None:
            await self._transactions.close(revoked)

    async def run(self) -> None:
        """Process batches until a stop is requested. Batches in flight are committed before it
        returns; a batch whose inference is interrupted by the stop is abandoned uncommitted,
        with every batch begun after it."""
        assert self._consumer is not None, "start() first"
        consumer = self._consumer
        try:
            async with asyncio.TaskGroup() as tasks:
                acknowledger = tasks.create_task(self._acknowledge_in_order(), name=f"{self.pipeline.name}-acknowledger")
                committer = tasks.create_task(self._commit_on_interval(), name=f"{self.pipeline.name}-committer")
                finisher = tasks.create_task(self._finish_in_order(), name=f"{self.pipeline.name}-finisher")
                auditor = tasks.create_task(self._audit_accelerators(), name=f"{self.pipeline.name}-auditor")
                try:
                    while not self._stopping.is_set():
                        await self._pausing_if_slow(
                            self._begin_slots.acquire(),
                            f"{self.settings.inference_overlap} batches are begun and not finished",
                            polling=consumer,
                        )
                        fetched = await consumer.getmany(
                            timeout_ms=self.settings.poll_timeout_ms, max_records=self.batch_records
                        )
                        if consumer.assignment():
                            self.assigned.set()
                        if self._restoring:
                            fetched = _held_back(consumer, fetched, self._restoring)
                        if not fetched or self._stopping.is_set():
                            self._begin_slots.release()
                            continue
                        await self._begin_all(consumer, fetched)
                    await self.drain()
                finally:
                    acknowledger.cancel()
                    committer.cancel()
                    finisher.cancel()
                    auditor.cancel()
                    await self._discard_unfinished()
                    await self._commit_acknowledged()
        except BaseExceptionGroup as group:
            # A stage stopped the replica: raised as itself, so that the command names it in one line.
            stopped = next((e for e in group.exceptions if isinstance(e, ReplicaFenced)), None)
            if stopped is None:
                raise
            raise stopped from None
        if self._failed is not None:
            raise self._failed

    async def _begin_all(self, consumer: AIOKafkaConsumer, fetched: dict[TopicPartition, list[Any]]) -> None:
        """Begin what one poll fetched, holding one begin slot: as one batch, or, exactly-once,
        as one batch per partition (a transaction takes one partition's batch), each past the
        first taking a slot of its own."""
        parts = [{tp: records} for tp, records in fetched.items()] if self.exactly_once else [fetched]
        for i, part in enumerate(parts):
            if i:
                await self._pausing_if_slow(
                    self._begin_slots.acquire(), f"{self.settings.inference_overlap} batches are begun and not finished"
                )
            try:
                begun = self._begin(consumer, part)
                if self._transactions is not None:
                    [tp] = part
                    begun.transaction = self._transactions[tp]
                self._begun.put_nowait(begun)
            except BaseException:
                self._begin_slots.release()
                raise

    async def _audit_accelerators(self) -> None:
        """Publish an audit record for every accelerator the client takes out of rotation."""
        if self._accelerator_notices is None:
            return
        assert self._producer is not None
        topics = SiteTopics(self.edge.region)
        while True:
            notice = await self._accelerator_notices.get()
            record = accelerator_audit_record(
                topics, self.edge.site_id, self.pipeline.name, notice.accelerator, notice.reason
            )
            try:
                await self._producer.send_and_wait(record.topic, record.value, key=record.key)
            except KafkaError as exc:
                log.error("could not publish the audit record of accelerator %s: %s", notice.accelerator, exc)

    async def _discard_unfinished(self) -> None:
        """After a cancelled or failed run: drop the batches fetched and not finished (their
        inferences cancelled) and those waiting for acknowledgements, none of them committed, so
        that nothing waits on them (a revoke's drain)."""
        while not self._begun.empty():
            begun = self._begun.get_nowait()
            begun.span.end()
            await _discard(begun.inference)
            self.stats.abandoned_batches += 1
            self._begun.task_done()
        while not self._in_flight.empty():
            batch = self._in_flight.get_nowait()
            if batch.transaction is not None:  # its transaction is aborted, not committed
                for transaction in batch.deliveries:
                    transaction.cancel()
                await asyncio.gather(*batch.deliveries, return_exceptions=True)
            self.stats.abandoned_batches += 1
            self._in_flight.task_done()
        for task in self._inferences:
            task.cancel()
        await asyncio.gather(*self._inferences, return_exceptions=True)

    def _begin(self, consumer: AIOKafkaConsumer, fetched: dict[TopicPartition, list[Any]]) -> _Begun:
        self.stats.fetched += sum(len(recs) for recs in fetched.values())
        for tp, recs in fetched.items():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                self.metrics.set_lag(tp.topic, tp.partition, highwater - recs[-1].offset - 1)
        records: list[InboundRecord] = [
            r for tp in sorted(fetched, key=lambda t: (t.topic, t.partition)) for r in fetched[tp]
        ]
        offsets = {tp: recs[-1].offset + 1 for tp, recs in fetched.items()}
        consumed = {tp: len(recs) for tp, recs in fetched.items()}
        links = [
            trace.Link(ctx)
            for r in records[:_MAX_SPAN_LINKS]
            if (ctx := trace.get_current_span(kafka_headers_context(r.headers)).get_span_context()).is_valid
        ]
        span = _tracer.start_span(
            f"{self.pipeline.name} batch", links=links, attributes={"messaging.batch.message_count": len(records)}
        )
        begun = _Begun(records, offsets, consumed, span)
        if self.pipeline.overlapping:
            try:
                self._start(begun)
            except BaseException:
                span.end()
                raise
        return begun

    def _start(self, begun: _Begun) -> None:
        """Begin a batch in the pipeline and start its inference at once."""
        with trace.use_span(begun.span, end_on_exit=False):
            begun.started = self.pipeline.begin(begun.records, self._giving_up)
            if begun.started.answer is not None:
                begun.inference = task = asyncio.ensure_future(begun.started.answer)
                self._inferences.add(task)
                task.add_done_callback(self._inferences.discard)

    async def _finish_in_order(self) -> None:
        """Finish begun batches in order and hand their outputs to the producer. After an
        abandoned batch, every later one is abandoned too: its offsets must not be committed
        past records that were not."""
        while True:
            begun = await self._begun.get()
            try:
                with trace.use_span(begun.span, end_on_exit=True):
                    if self._abandoning:
                        self.stats.abandoned_batches += 1
                        await _discard(begun.inference)
                        continue
                    if begun.started is None:  # not overlapping: begun once the batch before it is finished
                        self._start(begun)
                    assert begun.started is not None
                    try:
                        answer = None if begun.inference is None else await self._pausing_if_slow(
                            begun.inference, f"a batch of {len(begun.records)} records is still being processed"
                        )
                    except BatchAbandoned as exc:
                        self._abandoning = True
                        self.stats.abandoned_batches += 1
                        log.warning("batch of %d records abandoned, not committed: %s", len(begun.records), exc)
                        continue
                    begun.started.finish(answer)
                    outcome = begun.started.outcome
                    deliveries = await self._publish(outcome, begun.transaction, begun.offsets)
                try:
                    await self._pausing_if_slow(
                        self._in_flight.put(_InFlight(
                            deliveries, begun.offsets, outcome, begun.records, begun.consumed, begun.transaction
                        )),
                        f"{self.settings.max_in_flight_batches} batches wait for their acknowledgements",
                    )
                except BaseException:
                    if begun.transaction is not None:  # its transaction, begun and never to be awaited, is aborted
                        for transaction in deliveries:
                            transaction.cancel()
                    raise
            finally:
                self._begun.task_done()
                self._begin_slots.release()

    async def _publish(
        self, outcome: BatchOutcome, transaction: PartitionTransaction | None, offsets: dict[TopicPartition, int]
    ) -> list[asyncio.Future[Any]]:
        """Hand the batch's outputs to the producer and return their delivery futures; exactly
        once, the one transaction that commits them with the batch's offsets, after the
        partition's previous one (other partitions' transactions run meanwhile)."""
        # Results of an event that carried a trace continue it; the rest join the batch's trace.
        batch_headers = context_kafka_headers()
        outputs = outcome.outputs if not batch_headers else [
            o if any(k == "traceparent" for k, _ in o.headers)
            else o._replace(headers=o.headers + batch_headers)
            for o in outcome.outputs
        ]
        if transaction is not None:
            outputs = [*outputs, *self.pipeline.changelog(outcome.changes)] if outcome.changes else outputs
            return [transaction.commit_after_previous(outputs, offsets, self.group_id)]
        assert self._publisher is not None
        return await self._publisher.send(outputs)

    async def _pausing_if_slow(self, work: Awaitable[T], why: str, polling: AIOKafkaConsumer | None = None) -> T:
        """Await `work`; once it has taken `pause_after_s`, pause fetching until it is done.

        The fetch loop passes its consumer as `polling`: while paused it keeps polling (paused
        partitions give nothing), so that an outage longer than `max_poll_interval_ms` does not
        get the replica taken for dead and evicted from its group. Records of partitions assigned
        meanwhile, not paused, are handed back by seeking to them."""
        task = asyncio.ensure_future(work)
        try:
            await asyncio.wait({task}, timeout=self.settings.pause_after_s)
            if task.done():
                return task.result()
            self._pause(why)
            try:
                while polling is not None and not task.done():
                    fetched = await polling.getmany(timeout_ms=self.settings.poll_timeout_ms)
                    for tp, recs in fetched.items():
                        polling.seek(tp, recs[0].offset)
                return await task
            finally:
                self._resume()
        finally:
            if not task.done():  # this loop was cancelled (the grace period ran out)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    def _pause(self, why: str) -> None:
        """Pause every assigned partition; the stages that wait hold the pause together, and the
        last to stop waiting resumes."""
        assert self._consumer is not None
        self._pause_holds += 1
        if self._pause_holds > 1:
            return
        self._paused = sorted(self._consumer.assignment())
        self._consumer.pause(*self._paused)
        self.stats.paused_partitions = self.metrics.paused_partitions = len(self._paused)
        self.stats.pauses += 1
        log.warning("fetching paused on %d partitions after %.1f s: %s", len(self._paused), self.settings.pause_after_s, why)

    def _resume(self) -> None:
        self._pause_holds -= 1
        if self._pause_holds > 0:
            return
        consumer = self._consumer
        if consumer is not None:
            assigned = consumer.assignment()
            consumer.resume(*(tp for tp in self._paused if tp in assigned))
        self._paused = []
        self.stats.paused_partitions = self.metrics.paused_partitions = 0
        log.info("fetching resumed")

    async def drain(self) -> None:
        """Wait until every batch begun is finished, acknowledged and committed."""
        await self._begun.join()
        await self._in_flight.join()
        await self._commit_pending()

    async def drain_within_grace_period(self) -> None:
        """`drain()`, but a batch still waiting for an accelerator after `grace_period_s` is
        abandoned uncommitted, with every batch begun after it: a rebalance must not wait for an
        outage to end. Their records are fetched again from the committed offsets once the
        partitions are assigned."""
        try:
            await asyncio.wait_for(self.drain(), self.settings.grace_period_s)
            return
        except TimeoutError:
            log.warning("partitions revoked while batches wait for an accelerator: abandoning them after %.1f s",
                        self.settings.grace_period_s)
        self._giving_up.set()
        try:
            await self.drain()
        finally:
            if not self._stopping.is_set():
                self._giving_up.clear()
                self._abandoning = False

    async def _acknowledge_in_order(self) -> None:
        """Await each batch's acknowledgements (exactly-once: its committed transaction), in
        order; at-least-once, leave its offsets and state changes to the committer. It never
        waits for a commit: a changelog being written must not hold up the batches behind it."""
        while True:
            batch = await self._in_flight.get()
            try:
                try:
                    await asyncio.gather(*batch.deliveries)
                except (CommitFailedError, ProducerFenced, InvalidProducerEpoch) as exc:
                    raise self._fenced(exc) from exc
                if batch.transaction is None:
                    self._pending.add(batch.outcome.changes, batch.offsets)
                    self._acknowledged.set()
                else:
                    self._committed_here.update(batch.offsets)
            finally:
                self._in_flight.task_done()
            outcome = batch.outcome
            self.stats.batches += 1
            self.stats.events_in += outcome.events_in
            self.stats.results_out += outcome.results
            self.stats.anomalies += outcome.anomalies
            self.stats.dlq += outcome.dlq
            # Wall-clock on purpose: record timestamps are epoch milliseconds set by other processes.
            self.metrics.batch_delivered(batch.consumed, batch.records, outcome, int(time.time() * 1000))

    async def _commit_on_interval(self) -> None:
        """At-least-once: commit what is acknowledged once the interval since the first batch
        pending is up (at once with an interval of 0; batches acknowledged meanwhile join the
        next commit)."""
        while True:
            wait_s = self._pending.wait_s()
            if wait_s is None:
                await self._acknowledged.wait()
                self._acknowledged.clear()
            elif wait_s > 0:
                await asyncio.sleep(wait_s)
            else:
                await self._commit_pending()

    async def _commit_pending(self) -> None:
        """At-least-once: write the changelog of the acknowledged batches not yet committed,
        then, once the broker has it, commit their offsets."""
        async with self._committing:
            if not self._pending:
                return
            assert self._consumer is not None and self._publisher is not None
            changes, offsets = self._pending.take()
            if changes:
                await self._publisher.publish_slices(self._changelog_slices(changes))
            try:
                await self._consumer.commit(offsets)
            except CommitFailedError as exc:
                raise self._fenced(exc) from exc
            self._committed_here.update(offsets)

    def _changelog_slices(self, changes: dict[str, EntityChange]) -> Iterator[list[OutboundRecord]]:
        """The changelog records of `changes`, `CHANGELOG_SLICE_ENTITIES` entities at a time: made
        whole, the changelog of a commit in a catch-up or at a large site (40,000 cells took 0.2 s)
        would hold the event loop, and every batch in flight, that long."""
        keys = list(changes)
        for start in range(0, len(keys), CHANGELOG_SLICE_ENTITIES):
            part = keys[start : start + CHANGELOG_SLICE_ENTITIES]
            yield self.pipeline.changelog({key: changes[key] for key in part})

    async def _commit_acknowledged(self) -> None:
        """After a run cut short (the grace period ran out, a stage failed): commit the batches
        acknowledged before it, if the group still lets this replica; they are processed again
        otherwise."""
        try:
            await self._commit_pending()
        except (KafkaError, ReplicaFenced) as exc:
            log.warning("the acknowledged batches are not committed and will be processed again: %s", exc)

    def _fenced(self, exc: Exception) -> ReplicaFenced:
        return ReplicaFenced(
            f"group {self.group_id} gave this replica's partitions to another while it was silent longer "
            f"than PIPELINE_SESSION_TIMEOUT_MS ({self.settings.session_timeout_ms} ms): its batch is not "
            f"committed ({type(exc).__name__}); it stops, to join again as a new member"
        )

    async def stop(self) -> None:
        """Leave the consumer group and flush the producer. Safe to call twice."""
        self._stopping.set()
        consumer, self._consumer = self._consumer, None
        producer, self._producer = self._producer, None
        if self._transactions is not None:
            await self._transactions.close_all()
        if consumer is not None:
            await consumer.stop()
        if producer is not None:
            await producer.stop()

    async def __aenter__(self) -> PipelineRuntime:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _held_back(
    consumer: AIOKafkaConsumer, fetched: dict[TopicPartition, list[Any]], restoring: set[TopicPartition]
) -> dict[TopicPartition, list[Any]]:
    """What was fetched, less the records of partitions still being taken over: those are handed
    back (the consumer seeks to them) and fetched again once their state is restored."""
    kept = {}
    for tp, records in fetched.items():
        if tp in restoring:
            consumer.seek(tp, records[0].offset)
        else:
            kept[tp] = records
    return kept


async def _discard(inference: asyncio.Task[Any] | None) -> None:
    """Drop an abandoned batch's inference (None: it had none, or was never begun)."""
    if inference is not None:
        inference.cancel()
        await asyncio.gather(inference, return_exceptions=True)
