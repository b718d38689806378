"""Test helpers: produce raw records and read whole topics back from the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord


async def produce(bootstrap: str, topic: str, records: Sequence[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        futures = [await producer.send(topic, value=v, key=k, headers=h) for k, v, h in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def read_topic(
    bootstrap: str, topic: str, timeout_s: float = 30.0, isolation_level: str = "read_uncommitted"
) -> list[ConsumerRecord]:  # type: ignore[type-arg]
    """Every record currently in a topic, across its partitions (`read_committed`: only those of
    committed transactions, as an exactly-once consumer reads them)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10, isolation_level=isolation_level
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        out: list[ConsumerRecord] = []  # type: ignore[type-arg]
        loop = asyncio.get_running_loop()
        until = loop.time() + timeout_s
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            if loop.time() > until:
                raise TimeoutError(f"could not read {topic} to its end within {timeout_s} s")
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                out.extend(records)
        return out
    finally:
        await consumer.stop()


async def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition of a topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return {tp.partition: (await consumer.committed(tp)) or 0 for tp in await _partitions(consumer, topic)}
    finally:
        await consumer.stop()


async def records_written(bootstrap: str, topic: str) -> int:
    """How many records a topic holds, across its partitions (the sum of their end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return sum((await consumer.end_offsets(await _partitions(consumer, topic))).values())
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """A topic's partitions as the brokers know them now (metadata asked for afresh)."""
    await consumer._client.force_metadata_update()
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
