"""Producing a batch's outputs with record-batch APIs: one Kafka record batch per partition,
keys partitioned as Kafka's default partitioner does, and every acknowledgement awaited."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from pipelines.records import OutboundRecord

_PARTITION_CACHE_SIZE = 200_000


class ResultPublisher:
    """Sends outputs and returns only when the broker has acknowledged all of them."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._partitioner = DefaultPartitioner()
        self._partitions: dict[str, list[int]] = {}
        self._round_robin = itertools.count()
        # Keys repeat (cells, sessions, fibres): hashing each once saves the pure-Python murmur2
        # on every record. By partition count, then key; bounded, cleared whole when full.
        self._partition_of: dict[int, dict[bytes, int]] = {}

    async def _partitions_of(self, topic: str) -> list[int]:
        partitions = self._partitions.get(topic)
        if partitions is None:
            found = await self._producer.partitions_for(topic)
            if not found:
                raise RuntimeError(f"topic {topic} has no partitions")
            partitions = self._partitions[topic] = sorted(found)
        return partitions

    async def publish(self, records: Sequence[OutboundRecord]) -> int:
        """Produce every record and wait for every acknowledgement; return how many.

        Raises:
            aiokafka.errors.KafkaError: when any record is not acknowledged (nothing is committed then).
        """
        await asyncio.gather(*await self.send(records))
        return len(records)

    async def publish_slices(self, slices: Iterable[Sequence[OutboundRecord]]) -> int:
        """`publish` records made a slice at a time (a changelog of thousands of entities): each
        slice is handed to the producer, in order, before the next is made, and the event loop is
        let go between slices, so that the batches in flight go on meanwhile.

        Raises:
            aiokafka.errors.KafkaError: when any record is not acknowledged.
        """
        deliveries: list[asyncio.Future[object]] = []
        count = 0
        try:
            for records in slices:
                deliveries += await self.send(records)
                count += len(records)
                await asyncio.sleep(0)
        except BaseException:
            _read_when_done(deliveries)
            raise
        await asyncio.gather(*deliveries)
        return count

    async def send(self, records: Sequence[OutboundRecord]) -> list[asyncio.Future[object]]:
        """Hand every record to the producer, keeping per-key order, and return the delivery
        futures without waiting for them (later batches of a partition go out after earlier ones)."""
        groups: dict[tuple[str, int], list[OutboundRecord]] = defaultdict(list)
        topic, partitions, partition_of = "", [], {}
        for record in records:
            if record.topic != topic:  # outputs come in runs of one topic: look it up per run
                topic = record.topic
                partitions = await self._partitions_of(topic)
                partition_of = self._partition_of.setdefault(len(partitions), {})
            key = record.key
            if record.partition is not None:
                partition = record.partition
            elif key is None:
                partition = partitions[next(self._round_robin) % len(partitions)]
            else:
                partition = partition_of.get(key, -1)
                if partition < 0:
                    if len(partition_of) >= _PARTITION_CACHE_SIZE:
                        partition_of.clear()
                    partition = partition_of[key] = self._partitioner(key, partitions, partitions)
            groups[(topic, partition)].append(record)
        deliveries: list[asyncio.Future[object]] = []
        try:
            for (topic, partition), group in groups.items():
                batch = self._producer.create_batch()
                for record in group:
                    if batch.append(key=record.key, value=record.value, timestamp=None, headers=record.headers) is None:
                        deliveries.append(await self._producer.send_batch(batch, topic, partition=partition))
                        batch = self._producer.create_batch()
                        if batch.append(key=record.key, value=record.value, timestamp=None, headers=record.headers) is None:
                            raise ValueError(f"a record for {topic} is larger than the producer's batch size")
                if batch.record_count():
                    deliveries.append(await self._producer.send_batch(batch, topic, partition=partition))
        except BaseException:
            _read_when_done(deliveries)
            raise
        return deliveries


def _read_when_done(deliveries: list[asyncio.Future[object]]) -> None:
    """Nobody will await these batches, already handed over: their failures are read when they
    are done, not reported at exit as never retrieved."""
    for delivery in deliveries:
        delivery.add_done_callback(_read_outcome)


def _read_outcome(delivery: asyncio.Future[object]) -> None:
    if not delivery.cancelled():
        delivery.exception()
