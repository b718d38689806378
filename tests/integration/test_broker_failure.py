"""A broker crash on a three-node Apache Kafka cluster (KRaft, replication factor 3,
`min.insync.replicas=2`), as Kafka's own system tests start: the node that leads the most input
and output partitions is SIGKILLed in the middle of a stream of 50,000 events and started again
later. Every acknowledged event is scored, nothing is lost, the pipeline never exits; the test
reports the longest stall (seconds without a score) and the duplicates."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from edgectl.apache_kafka import KafkaCluster
from edgectl.broker import create_topics

from .kafka_io import read_topic
from .kpi_pipeline_process import TOPICS, generate, pipeline_env, start_pipeline, wait_committed

pytestmark = [pytest.mark.integration]
EVENTS = 50_000
PARTITIONS = 6
STREAM_S = 24.0
"""The stream is sent over this long, in small batches: the crash falls in its middle."""


class KafkaAddress(str):
    """The cluster's bootstrap servers, as the pipeline helpers take a broker."""

    idempotent = True


@pytest.fixture(scope="module")
def three_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    with KafkaCluster(tmp_path_factory.mktemp("kafka3"), nodes=3) as cluster:
        yield cluster


async def _leaders(bootstrap: str, topics: list[str]) -> Counter[int]:
    """How many partitions of `topics` each node leads."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return Counter(p["leader"] for topic in described for p in topic["partitions"])


async def _stream(bootstrap: str, events: list[dict[str, object]]) -> int:
    """Send every event, idempotent and acks=all, spread over STREAM_S; return how many the
    cluster acknowledged (a send that fails for good is counted out, not retried by hand)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, request_timeout_ms=30_000,
        retry_backoff_ms=200,
    )
    await producer.start()
    try:
        chunk = 500
        pause_s = STREAM_S / (len(events) / chunk)
        sends = []
        for start in range(0, len(events), chunk):
            for event in events[start : start + chunk]:
                sends.append(await producer.send(TOPICS.kpi, orjson.dumps(event), key=str(event["cell_id"]).encode()))
            await asyncio.sleep(pause_s)
        results = await asyncio.gather(*sends, return_exceptions=True)
        return sum(1 for r in results if not isinstance(r, BaseException))
    finally:
        await producer.stop()


@pytest.mark.timeout(600)
async def test_killing_the_leading_broker_mid_stream_loses_nothing_and_the_pipeline_rides_it_out(
    three_nodes: KafkaCluster, accel_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bootstrap = KafkaAddress(three_nodes.bootstrap_servers)
    await create_topics(bootstrap, TOPICS.all(), partitions=PARTITIONS, replicas=3)
    events = generate(EVENTS, seed=77)
    log = tmp_path / "pipeline.log"
    process = start_pipeline(pipeline_env(bootstrap, f"127.0.0.1:{accel_port}", PIPELINE_SESSION_TIMEOUT_MS="6000"), log)
    try:
        stream = asyncio.create_task(_stream(bootstrap, events))
        await asyncio.sleep(STREAM_S / 3)
        leaders = await _leaders(bootstrap, [TOPICS.kpi, TOPICS.kpi_scores])
        victim = leaders.most_common(1)[0][0]
        killed_at = time.time()
        await asyncio.to_thread(three_nodes.kill, victim)
        await asyncio.sleep(STREAM_S / 3)
        await asyncio.to_thread(three_nodes.restart, victim)
        acknowledged = await stream
        assert acknowledged == EVENTS, "with two of three in sync, every send is acknowledged"
        done = await wait_committed(bootstrap, EVENTS, timeout_s=180)
        assert process.poll() is None, "the pipeline never exits: " + log.read_text()[-3000:]
        assert done == EVENTS, log.read_text()[-3000:]
    finally:
        process.terminate()
        process.wait(30)

    scores = await read_topic(bootstrap, TOPICS.kpi_scores, timeout_s=120)
    scored = [orjson.loads(r.value)["event_id"] for r in scores]
    assert set(scored) == {e["event_id"] for e in events}, "every acknowledged event has its score"
    duplicates = len(scored) - len(set(scored))
    stamps = sorted(r.timestamp / 1000 for r in scores)
    stall_s = max(b - a for a, b in pairwise(stamps))
    assert await read_topic(bootstrap, TOPICS.dlq) == [], "a broker failure sends nothing to the DLQ"
    with capsys.disabled():
        print(
            f"\n[broker failure] node {victim} (leader of {leaders[victim]} of {sum(leaders.values())} partitions) "
            f"killed {killed_at - stamps[0]:.1f} s into the scores and restarted {STREAM_S / 3:.0f} s later: "
            f"{EVENTS} events, {len(scored)} scores, {duplicates} duplicates, longest stall {stall_s:.1f} s"
        )
