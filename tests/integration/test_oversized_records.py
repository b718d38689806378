"""Records too large to copy whole into a DLQ record still reach the DLQ, with a clipped copy
that says how large the original was, and the partition goes on: an oversized payload never
stops a pipeline."""

from __future__ import annotations

import base64

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from edge.settings import EdgeSettings
from edge.topics import SiteTopics
from edgectl.broker import create_topics
from edgectl.synthetic.cell_kpi import CellKpiGenerator
from edgectl.traffic import encode
from pipelines.dlq import DLQ_MAX_ORIGINAL_VALUE_BYTES
from pipelines.events import MAX_EVENT_BYTES
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.settings import PipelineSettings

from .kafka_io import read_topic
from .pipeline_run import run_until_consumed

pytestmark = pytest.mark.integration
TOPICS = SiteTopics("kr-seoul")


async def _produce_large(bootstrap: str, records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=4 * 1024 * 1024)
    await producer.start()
    try:
        for key, value, headers in records:
            await (await producer.send(TOPICS.kpi, value=value, key=key, headers=headers, partition=0))
    finally:
        await producer.stop()


async def test_an_oversized_record_is_dead_lettered_clipped_and_its_neighbours_are_scored(
    edge_settings: EdgeSettings,
) -> None:
    bootstrap = edge_settings.kafka_bootstrap_servers
    # Apache Kafka refuses records over a topic's max.message.bytes (1 MiB by default) when they
    # are produced; an operator who lets larger ones in raises it, as here.
    await create_topics(bootstrap, TOPICS.all(), partitions=1, configs={"max.message.bytes": str(4 * 1024 * 1024)})
    good = [encode(e) for e in CellKpiGenerator("kr-seoul", "SEL-GN-0042", cells=20, seed=3).next_round()]
    huge_value = b'{"pad": "' + b"x" * (MAX_EVENT_BYTES + 200_000) + b'"}'
    big_valid_json = orjson.dumps(dict(orjson.loads(good[0][1]), cell_id="", pad="y" * 900_000))
    records = [
        *good[:10],
        (b"huge", huge_value, [("marker", b"huge"), ("bulky", b"z" * 20_000)]),
        (b"big", big_valid_json, [("marker", b"big")]),
        *good[10:],
    ]
    await _produce_large(bootstrap, records)

    settings = PipelineSettings(session_timeout_ms=6000, metrics_port=0, max_batch_records=500)
    runtime = await run_until_consumed(
        edge_settings, lambda accel: KpiAnomalyPipeline("kr-seoul", "SEL-GN-0042", accel), len(records), settings,
    )
    assert runtime.stats.events_in == len(records) and runtime.stats.dlq == 2 and runtime.stats.results_out == 20

    dlq = {orjson.loads(r.value)["original_key_b64"]: orjson.loads(r.value) for r in await read_topic(bootstrap, TOPICS.dlq)}
    huge = dlq[base64.b64encode(b"huge").decode()]
    assert huge["reason"] == "malformed" and str(MAX_EVENT_BYTES) in huge["detail"]
    assert huge["original_value_bytes"] == len(huge_value) and huge["original_value_truncated"] is True
    clipped = base64.b64decode(huge["original_value_b64"])
    assert len(clipped) == DLQ_MAX_ORIGINAL_VALUE_BYTES and huge_value.startswith(clipped)
    headers = {k: base64.b64decode(v) for k, v in huge["original_headers"]}
    assert headers["marker"] == b"huge" and len(headers["bulky"]) < 20_000
    big = dlq[base64.b64encode(b"big").decode()]
    assert big["reason"] == "schema" and big["original_value_truncated"] is True
    assert big["original_value_bytes"] == len(big_valid_json)
    scores = await read_topic(bootstrap, TOPICS.kpi_scores)
    assert len(scores) == 20
