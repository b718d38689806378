"""The pipeline runtime: consume a batch, process it, produce every output, and only then commit
the batch's offsets (at-least-once). One batch in flight at a time per replica."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from opentelemetry import trace

from edge.kafka import client_options, producer_options
from edge.residency import ResidencyPolicy, ResidencyViolation
from edge.settings import EdgeSettings
from edge.telemetry import context_kafka_headers, kafka_headers_context
from pipelines.base import StreamPipeline
from pipelines.errors import BatchAbandoned, StartupRefused
from pipelines.publish import ResultPublisher
from pipelines.records import InboundRecord, OutboundRecord
from pipelines.settings import PipelineSettings
from pipelines.stats import PipelineStats

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)
_MAX_SPAN_LINKS = 32


class _ForgetRevoked(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, pipeline: StreamPipeline) -> None:
        self._pipeline = pipeline

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self._pipeline.forget_keys([(tp.topic, tp.partition) for tp in revoked])

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("assigned %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned))


class PipelineRuntime:
    """Runs one pipeline against Kafka until `stop()`.

    `async with PipelineRuntime(pipeline, edge, settings) as runtime: await runtime.run()`
    """

    def __init__(self, pipeline: StreamPipeline, edge: EdgeSettings, settings: PipelineSettings) -> None:
        self.pipeline = pipeline
        self.edge = edge
        self.settings = settings
        self.stats = PipelineStats()
        self.assigned = asyncio.Event()
        self._stopping = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._publisher: ResultPublisher | None = None

    @property
    def group_id(self) -> str:
        return self.settings.consumer_group or f"{self.edge.region}.{self.pipeline.name}"

    async def start(self) -> None:
        """Check residency of every topic, then join the consumer group.

        Raises:
            StartupRefused: a topic is outside the site's region.
        """
        policy = ResidencyPolicy(self.edge.region)
        try:
            policy.require_topics(self.pipeline.output_topics, "produce to")
            policy.require_topics(self.pipeline.input_topics, "consume from")
        except ResidencyViolation as exc:
            raise StartupRefused(str(exc)) from exc
        self._producer = AIOKafkaProducer(**producer_options(self.edge))
        await self._producer.start()
        self._publisher = ResultPublisher(self._producer)
        self._consumer = AIOKafkaConsumer(
            **client_options(self.edge),
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.settings.fetch_max_wait_ms,
            max_poll_records=self.settings.max_batch_records,
            session_timeout_ms=self.settings.session_timeout_ms,
            heartbeat_interval_ms=self.settings.heartbeat_interval_ms,
        )
        self._consumer.subscribe(self.pipeline.input_topics, listener=_ForgetRevoked(self.pipeline))
        await self._consumer.start()

    def request_stop(self) -> None:
        """Ask the loop to stop after (or abandon) the batch in flight."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run(self) -> None:
        """Process batches until a stop is requested."""
        assert self._consumer is not None, "start() first"
        consumer = self._consumer
        while not self._stopping.is_set():
            fetched = await consumer.getmany(
                timeout_ms=self.settings.poll_timeout_ms, max_records=self.settings.max_batch_records
            )
            if consumer.assignment():
                self.assigned.set()
            if not fetched:
                continue
            records = [
                InboundRecord(r.topic, r.partition, r.offset, r.key, r.value, list(r.headers), r.timestamp)
                for tp in sorted(fetched, key=lambda t: (t.topic, t.partition))
                for r in fetched[tp]
            ]
            try:
                await self._process_batch(records)
            except BatchAbandoned as exc:
                self.stats.abandoned_batches += 1
                log.warning("batch of %d records abandoned, not committed: %s", len(records), exc)
                return
            await consumer.commit({tp: recs[-1].offset + 1 for tp, recs in fetched.items()})

    async def _process_batch(self, records: Sequence[InboundRecord]) -> None:
        links = [
            trace.Link(ctx)
            for r in records[:_MAX_SPAN_LINKS]
            if (ctx := trace.get_current_span(kafka_headers_context(r.headers)).get_span_context()).is_valid
        ]
        with _tracer.start_as_current_span(
            f"{self.pipeline.name} batch", links=links, attributes={"messaging.batch.message_count": len(records)}
        ):
            outcome = await self.pipeline.process(records, self._stopping)
            # Results of an event that carried a trace continue it; the rest join the batch's trace.
            batch_headers = context_kafka_headers()
            outputs = [
                o if any(k == "traceparent" for k, _ in o.headers) or not batch_headers
                else OutboundRecord(o.topic, o.key, o.value, o.headers + batch_headers)
                for o in outcome.outputs
            ]
            assert self._publisher is not None
            await self._publisher.publish(outputs)
        self.stats.batches += 1
        self.stats.events_in += outcome.events_in
        self.stats.results_out += outcome.results
        self.stats.anomalies += outcome.anomalies
        self.stats.dlq += outcome.dlq

    async def stop(self) -> None:
        """Leave the consumer group and flush the producer. Safe to call twice."""
        self._stopping.set()
        consumer, self._consumer = self._consumer, None
        producer, self._producer = self._producer, None
        if consumer is not None:
            await consumer.stop()
        if producer is not None:
            await producer.stop()

    async def __aenter__(self) -> PipelineRuntime:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
