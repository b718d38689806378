"""Exactly-once delivery: one transactional producer per assigned input partition.

A batch of one input partition is committed whole or not at all: its outputs, its changelog
records and its input offsets go into one Kafka transaction of that partition's producer. The
producer's transactional id names the consumer group and the partition, so whichever replica
owns the partition next starts a producer with the same id: the broker aborts what the previous
owner left open and fences it, and a replica that lost the partition cannot commit any more.
(aiokafka offers only the transaction APIs that predate KIP-447, so fencing by transactional id
per input partition is what makes this safe.)"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import InvalidProducerEpoch, KafkaConnectionError, KafkaError, ProducerFenced

from edge.kafka import producer_options
from edge.settings import EdgeSettings
from pipelines.errors import StartupRefused
from pipelines.publish import ResultPublisher
from pipelines.records import OutboundRecord

log = logging.getLogger(__name__)
_ABORT_TIMEOUT_S = 10.0


@dataclass
class PartitionTransaction:
    """The transactional producer of one input partition: its batches' transactions one after
    another, in batch order, while other partitions' run beside them."""

    producer: AIOKafkaProducer
    publisher: ResultPublisher
    open: bool = False
    """A transaction is begun and neither committed nor aborted."""
    _previous: asyncio.Task[None] | None = None

    def commit_after_previous(
        self, outputs: Sequence[OutboundRecord], offsets: dict[TopicPartition, int], group_id: str
    ) -> asyncio.Task[None]:
        """The task that commits a batch's outputs and input offsets in one transaction, once the
        partition's previous batch is committed; it fails, committing nothing, if that one failed.
        The runtime awaits it (or cancels it, which aborts the transaction)."""
        task = asyncio.ensure_future(self._commit(self._previous, outputs, offsets, group_id))
        self._previous = task
        return task

    async def _commit(
        self, previous: asyncio.Task[None] | None, outputs: Sequence[OutboundRecord],
        offsets: dict[TopicPartition, int], group_id: str,
    ) -> None:
        if previous is not None:
            # Its failure is this batch's (offsets never skip a batch); waited for, not awaited,
            # so that abandoning this batch does not cancel the one before it.
            await asyncio.wait({previous})
            previous.result()
        await self.producer.begin_transaction()
        self.open = True
        try:
            # Every delivery awaited, so that none is left failed and unread; the first failure raised.
            acknowledged = await asyncio.gather(*await self.publisher.send(outputs), return_exceptions=True)
            failed = next((a for a in acknowledged if isinstance(a, BaseException)), None)
            if failed is not None:
                raise failed
            await self.producer.send_offsets_to_transaction(offsets, group_id)
            await self.producer.commit_transaction()
            self.open = False
        except (ProducerFenced, InvalidProducerEpoch):
            self.open = False  # the broker aborted it when the next owner's producer started
            raise
        except BaseException:
            await self._abort_quietly()
            raise

    async def _abort_quietly(self) -> None:
        if self.open:
            self.open = False
            try:
                await asyncio.wait_for(self.producer.abort_transaction(), _ABORT_TIMEOUT_S)
            # aiokafka asserts its transaction states: a producer in a fatal state cannot abort.
            except (KafkaError, TimeoutError, AssertionError) as exc:
                log.warning("could not abort a transaction: %s", exc)

    async def close(self) -> None:
        """Abort a transaction left open (its batch is not committed) and stop the producer."""
        if self._previous is not None and not self._previous.done():
            self._previous.cancel()
            await asyncio.gather(self._previous, return_exceptions=True)
        await self._abort_quietly()
        await self.producer.stop()


class PartitionTransactions:
    """The transactional producers of the input partitions this replica owns."""

    def __init__(self, edge: EdgeSettings, group_id: str) -> None:
        self._edge = edge
        self._group_id = group_id
        self._by_partition: dict[TopicPartition, PartitionTransaction] = {}

    def transactional_id(self, tp: TopicPartition) -> str:
        return f"{self._group_id}.{tp.topic}.{tp.partition}"

    def __getitem__(self, tp: TopicPartition) -> PartitionTransaction:
        return self._by_partition[tp]

    async def require_support(self) -> None:
        """Start and stop one transactional producer, so that a broker without transactions is
        found at start rather than at the first assignment.

        Raises:
            StartupRefused: the broker answered but gave no transactional producer.
        """
        try:
            producer = await self._start(f"{self._group_id}.delivery-check")
        except KafkaConnectionError:
            raise
        except KafkaError as exc:
            raise StartupRefused(
                f"PIPELINE_DELIVERY=exactly-once needs Kafka transactions, and the broker at "
                f"{self._edge.kafka_bootstrap_servers} gave no transactional producer ({type(exc).__name__}): "
                "use PIPELINE_DELIVERY=at-least-once with it"
            ) from exc
        await producer.stop()

    async def open(self, partitions: Iterable[TopicPartition]) -> None:
        """Start the producers of newly assigned partitions; each start fences the previous
        owner's producer and aborts the transaction it left open."""
        new = [tp for tp in partitions if tp not in self._by_partition]
        producers = await asyncio.gather(*(self._start(self.transactional_id(tp)) for tp in new))
        for tp, producer in zip(new, producers, strict=True):
            self._by_partition[tp] = PartitionTransaction(producer, ResultPublisher(producer))

    async def close(self, partitions: Iterable[TopicPartition]) -> None:
        """Stop the producers of partitions this replica no longer owns."""
        closing = [self._by_partition.pop(tp) for tp in partitions if tp in self._by_partition]
        await asyncio.gather(*(t.close() for t in closing), return_exceptions=True)

    async def close_all(self) -> None:
        await self.close(list(self._by_partition))

    async def _start(self, transactional_id: str) -> AIOKafkaProducer:
        options = producer_options(self._edge) | {"enable_idempotence": True, "transactional_id": transactional_id}
        producer = AIOKafkaProducer(**options)
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        return producer
