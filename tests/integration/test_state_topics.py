"""The compacted topics a pipeline writes are created at start when missing, partitioned like its
input and compacted; one partitioned otherwise, or a missing input, refuses the start."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from edge.settings import EdgeSettings
from edge.topics import SiteTopics
from edgectl.broker import create_topics
from pipelines.errors import StartupRefused
from pipelines.state_topics import provision_compacted_topics

pytestmark = pytest.mark.integration
TOPICS = SiteTopics("kr-seoul")
STATE = TOPICS.state("kpi-anomaly")


def _edge(broker: str) -> EdgeSettings:
    return EdgeSettings(region="kr-seoul", site_id="SEL-GN-0042", kafka_bootstrap_servers=broker)


async def _describe(broker: str, topic: str) -> tuple[int, str | None, str | None]:
    """Partitions of a topic, its cleanup.policy and segment.bytes (Apache Kafka only: Tansu does not describe configs)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=broker)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        partitions = len(described["partitions"])
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        entries = response.resources[0][4]
        configs = {e[0]: e[1] for e in entries}
        return partitions, configs.get("cleanup.policy"), configs.get("segment.bytes")
    finally:
        await admin.close()


async def test_missing_state_topics_are_created_compacted_and_partitioned_like_the_input(broker: str) -> None:
    await create_topics(broker, [TOPICS.kpi], partitions=3)
    partitions = await provision_compacted_topics(_edge(broker), [TOPICS.kpi], [STATE, TOPICS.alarms_open], None)
    assert partitions == 3
    for topic in (STATE, TOPICS.alarms_open):
        if broker.kind == "kafka":
            assert await _describe(broker, topic) == (3, "compact", str(64 * 1024 * 1024)), "closed for compaction at 64 MiB"
    # Again, with everything there: nothing to do, nothing refused.
    assert await provision_compacted_topics(_edge(broker), [TOPICS.kpi], [STATE], None) == 3


async def test_a_state_topic_partitioned_unlike_the_input_refuses_the_start_naming_both(broker: str) -> None:
    await create_topics(broker, [TOPICS.kpi], partitions=3)
    await create_topics(broker, [STATE], partitions=2)
    with pytest.raises(StartupRefused, match=rf"{STATE} has 2 partitions and {TOPICS.kpi} 3: .* recreate it with 3"):
        await provision_compacted_topics(_edge(broker), [TOPICS.kpi], [STATE], None)


@pytest.mark.kafka_only  # Tansu creates a topic that a metadata request names
async def test_a_missing_input_refuses_the_start(broker: str) -> None:
    with pytest.raises(StartupRefused, match=rf"the input topic {TOPICS.kpi} does not exist"):
        await provision_compacted_topics(_edge(broker), [TOPICS.kpi], [STATE], None)


async def test_a_second_input_topic_partitioned_unlike_the_first_refuses_the_start_naming_both(broker: str) -> None:
    await create_topics(broker, [TOPICS.kpi], partitions=3)
    await create_topics(broker, [TOPICS.ves_measurements], partitions=4)
    with pytest.raises(
        StartupRefused, match=rf"{TOPICS.ves_measurements} has 4 partitions and {TOPICS.kpi} 3: .* recreate .* with 3"
    ):
        await provision_compacted_topics(_edge(broker), [TOPICS.kpi, TOPICS.ves_measurements], [STATE], None)
