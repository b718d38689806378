"""The compacted topics a pipeline writes (its state changelog, the open-alarm list): created at
start when missing, partitioned like the input so that changelog partition N holds the state of
the entities input partition N brought, and refused when an existing one is partitioned otherwise."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from edge.kafka import client_options
from edge.settings import EdgeSettings
from pipelines.errors import StartupRefused

log = logging.getLogger(__name__)
COMPACTED = {
    "cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1", "segment.ms": "3600000",
    "segment.bytes": str(64 * 1024 * 1024),
}
"""Compaction keeps the latest record per key, and only closed segments are compacted: a small
dirty ratio and segments closed hourly or at 64 MiB (Kafka's default is 1 GiB) keep what a
restore has to read close to one record per entity."""
_MOST_REPLICAS = 3
_CREATED_WITHIN_S = 30.0


async def provision_compacted_topics(
    edge: EdgeSettings, input_topics: Sequence[str], topics: Sequence[str], replicas: int | None
) -> int:
    """Create the `topics` missing, compacted, with as many partitions as the first input
    topic; return that partition count.

    Args:
        replicas: replication factor of the topics created; None: three, or every broker of a
            smaller cluster.

    Raises:
        StartupRefused: an input topic does not exist, another input topic (VES) is partitioned
            unlike the first, or one of `topics` exists with another partition count (its
            partition N would not hold input partition N's state).
    """
    input_topic = input_topics[0]
    admin = AIOKafkaAdminClient(**client_options(edge))
    await admin.start()
    try:
        partitions = await _partition_counts(admin, [*input_topics, *topics])
        wanted = partitions.get(input_topic)
        for topic in input_topics:
            if topic not in partitions:
                raise StartupRefused(
                    f"the input topic {topic} does not exist: create it first (the pipeline's state topics "
                    f"are partitioned like {input_topic})"
                )
            if partitions[topic] != wanted:
                raise StartupRefused(
                    f"the input topic {topic} has {partitions[topic]} partitions and {input_topic} {wanted}: a "
                    "pipeline's input topics must be partitioned alike (its state is kept by input partition); "
                    f"recreate {topic} with {wanted} partitions"
                )
        assert wanted is not None
        for topic in topics:
            found = partitions.get(topic)
            if found is not None and found != wanted:
                raise StartupRefused(
                    f"{topic} has {found} partitions and {input_topic} {wanted}: a state topic must be partitioned "
                    f"like the input; recreate it with {wanted} partitions"
                )
        missing = [t for t in topics if t not in partitions]
        if missing:
            if replicas is None:
                brokers = (await admin.describe_cluster())["brokers"]
                replicas = max(1, min(_MOST_REPLICAS, len(brokers)))
            response = await admin.create_topics([NewTopic(t, wanted, replicas, topic_configs=COMPACTED) for t in missing])
            for topic, code, *message in response.topic_errors:
                # 36: another replica created it meanwhile.
                if code not in (0, TopicAlreadyExistsError.errno):
                    detail = message[0] if message and message[0] else for_code(code).__name__
                    raise StartupRefused(f"cannot create the compacted topic {topic}: {detail}")
            log.info("created compacted topics %s (%d partitions, %d replicas)", missing, wanted, replicas)
            await _until_described(admin, missing, wanted)
        return wanted
    finally:
        await admin.close()


async def _until_described(admin: AIOKafkaAdminClient, topics: list[str], partitions: int) -> None:
    """Wait until the brokers' metadata shows the topics just created with all their partitions,
    so that the restore that follows finds them.

    Raises:
        StartupRefused: they are not there after `_CREATED_WITHIN_S`.
    """
    until = time.monotonic() + _CREATED_WITHIN_S
    while True:
        counts = await _partition_counts(admin, topics, led=True)
        if all(counts.get(t) == partitions for t in topics):
            return
        if time.monotonic() > until:
            raise StartupRefused(f"the topics {topics} were created but not seen with {partitions} partitions "
                                 f"within {_CREATED_WITHIN_S:.0f} s")
        await asyncio.sleep(0.1)


async def _partition_counts(admin: AIOKafkaAdminClient, topics: list[str], *, led: bool = False) -> dict[str, int]:
    """Partitions of each of `topics` that exists (`led`: only those with a leader already)."""
    existing = set(await admin.list_topics())
    present = [t for t in topics if t in existing]
    if not present:
        return {}
    try:
        described = await admin.describe_topics(present)
    except KafkaError as exc:
        raise StartupRefused(f"cannot describe the topics {present}: {exc}") from exc
    return {
        d["topic"]: sum(1 for p in d["partitions"] if not led or p.get("leader", -1) >= 0)
        for d in described if not d.get("error_code")
    }
