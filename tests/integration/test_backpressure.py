"""With its only accelerator down and a producer outrunning it, a pipeline pauses fetching from
every partition instead of buffering: its memory stays flat, nothing goes to the DLQ, and when
the accelerator returns it resumes and scores everything."""

from __future__ import annotations

import asyncio
import gc
import resource
import signal
import subprocess
from collections.abc import Callable

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from edge.settings import EdgeSettings
from edge.topics import SiteTopics
from edgectl.broker import create_topics
from edgectl.synthetic.cell_kpi import CellKpiGenerator
from pipelines.accel_client import AcceleratorClient
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.main import run_until_stopped
from pipelines.runtime import PipelineRuntime
from pipelines.settings import PipelineSettings

from .kafka_io import read_topic

pytestmark = pytest.mark.integration
TOPICS = SiteTopics("kr-seoul")
PARTITIONS = 6


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


async def _produce(bootstrap: str, values: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_batch_size=512 * 1024)
    await producer.start()
    try:
        futures = []
        for p in range(PARTITIONS):
            batch = producer.create_batch()
            for key, value in values[p::PARTITIONS]:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    futures.append(await producer.send_batch(batch, TOPICS.kpi, partition=p))
                    batch = producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
            futures.append(await producer.send_batch(batch, TOPICS.kpi, partition=p))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _until(condition: Callable[[], bool], timeout_s: float) -> bool:
    loop = asyncio.get_running_loop()
    until = loop.time() + timeout_s
    while not condition() and loop.time() < until:
        await asyncio.sleep(0.05)
    return condition()


async def test_a_dead_accelerator_pauses_fetching_and_memory_stays_flat_until_it_returns(
    broker: str, start_accel: Callable[..., tuple[subprocess.Popen[bytes], int]]
) -> None:
    await create_topics(broker, TOPICS.all(), partitions=PARTITIONS)
    accel, port = start_accel()
    edge = EdgeSettings(region="kr-seoul", site_id="SEL-GN-0042", kafka_bootstrap_servers=broker,
                        kafka_enable_idempotence=broker.idempotent, accel_targets=f"127.0.0.1:{port}")
    generator = CellKpiGenerator("kr-seoul", "SEL-GN-0042", cells=300, seed=8)
    events = [e.event for _ in range(700) for e in generator.next_round()]  # 210,000 events, ~100 MB
    values = [(str(e["cell_id"]).encode(), orjson.dumps(e)) for e in events]
    first, backlog = values[:6_000], values[6_000:]
    settings = PipelineSettings(session_timeout_ms=6000, metrics_port=0, max_batch_records=500,
                                max_in_flight_batches=2, pause_after_s=0.3, infer_timeout_s=1)
    async with AcceleratorClient(edge, timeout_s=1, attempts=2) as client:
        runtime = PipelineRuntime(KpiAnomalyPipeline("kr-seoul", "SEL-GN-0042", client, retry_backoff_s=0.2), edge, settings)
        async with runtime:
            stop = asyncio.Event()
            task = asyncio.create_task(run_until_stopped(runtime, stop, grace_period_s=10))
            try:
                await _produce(broker, first)
                assert await _until(lambda: runtime.stats.events_in == len(first), 60)
                accel.send_signal(signal.SIGKILL)
                accel.wait(10)
                await _produce(broker, backlog)
                assert await _until(lambda: runtime.stats.paused_partitions == PARTITIONS, 30), "fetching paused"
                gc.collect()
                fetched, rss = runtime.stats.fetched, _rss_bytes()
                await asyncio.sleep(3)
                gc.collect()
                assert runtime.stats.fetched == fetched, "nothing is taken from Kafka while paused"
                growth_mb = (_rss_bytes() - rss) / 2**20
                assert growth_mb < 10, f"memory grew {growth_mb:.1f} MB during the outage"
                assert runtime.stats.events_in < len(first) + 2 * settings.max_batch_records

                start_accel(ACCEL_PORT=str(port))
                assert await _until(lambda: runtime.stats.events_in == len(values), 180), runtime.stats
                assert runtime.stats.paused_partitions == 0 and runtime.stats.pauses >= 1
            finally:
                stop.set()
                await task
    assert runtime.stats.dlq == 0
    assert len(await read_topic(broker, TOPICS.dlq)) == 0
    scores = {orjson.loads(r.value)["event_id"] for r in await read_topic(broker, TOPICS.kpi_scores, timeout_s=60)}
    assert scores == {e["event_id"] for e in events}
