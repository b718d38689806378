"""Test helper: the KPI anomaly pipeline as its own process (`edge pipeline run kpi-anomaly`),
fed and watched through the broker, as the reliability and residency tests run it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from edge.topics import SiteTopics
from edgectl.synthetic.cell_kpi import CellKpiGenerator

from .kafka_io import committed

REGION, SITE_ID = "kr-seoul", "SEL-GN-0042"
TOPICS = SiteTopics(REGION)
GROUP = f"{REGION}.kpi-anomaly"
MAX_BATCH = 500
IN_FLIGHT = 2


def pipeline_env(broker: str, targets: str, **extra: str) -> dict[str, str]:
    return os.environ | {
        "EDGE_REGION": REGION, "EDGE_SITE_ID": SITE_ID, "EDGE_KAFKA_BOOTSTRAP_SERVERS": broker,
        "EDGE_KAFKA_ENABLE_IDEMPOTENCE": str(broker.idempotent).lower(), "EDGE_ACCEL_TARGETS": targets,
        "PIPELINE_SESSION_TIMEOUT_MS": "3000", "PIPELINE_HEARTBEAT_INTERVAL_MS": "500",
        "PIPELINE_MAX_BATCH_RECORDS": str(MAX_BATCH), "PIPELINE_MAX_IN_FLIGHT_BATCHES": str(IN_FLIGHT),
        "PIPELINE_METRICS_PORT": "0", "PIPELINE_METRICS_HOST": "127.0.0.1", "EDGE_LOG_LEVEL": "WARNING",
    } | extra


def start_pipeline(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "edgectl", "pipeline", "run", "kpi-anomaly"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


async def prefill(broker: str, events: list[dict[str, object]], partitions: int = 6) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all", max_batch_size=512 * 1024)
    await producer.start()
    try:
        futures = []
        for p in range(partitions):
            batch = producer.create_batch()
            for event in events[p::partitions]:
                value = orjson.dumps(event)
                if batch.append(key=str(event["cell_id"]).encode(), value=value, timestamp=None) is None:
                    futures.append(await producer.send_batch(batch, TOPICS.kpi, partition=p))
                    batch = producer.create_batch()
                    batch.append(key=str(event["cell_id"]).encode(), value=value, timestamp=None)
            futures.append(await producer.send_batch(batch, TOPICS.kpi, partition=p))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def wait_committed(broker: str, total: int, timeout_s: float) -> int:
    until = time.monotonic() + timeout_s
    done = 0
    while time.monotonic() < until:
        done = sum((await committed(broker, GROUP, TOPICS.kpi)).values())
        if done >= total:
            return done
        await asyncio.sleep(0.5)
    return done


def generate(count: int, seed: int) -> list[dict[str, object]]:
    generator = CellKpiGenerator(REGION, SITE_ID, cells=250, seed=seed, anomaly_rate=0.004)
    events: list[dict[str, object]] = []
    while len(events) < count:
        events.extend(e.event for e in generator.next_round())
    return events[:count]
