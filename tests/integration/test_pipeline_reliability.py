"""Pipeline processes under faults, against the real broker and real accelerator processes:
SIGKILL at random moments, SIGTERM mid-stream, an accelerator dying under load, and floods of
bad records. Nothing is lost; duplicates come only from uncommitted batches."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from edge.topics import SiteTopics
from edgectl.broker import create_topics, free_port

from .kafka_io import committed, read_topic, records_written
from .kpi_pipeline_process import (
    GROUP,
    IN_FLIGHT,
    MAX_BATCH,
    generate,
    pipeline_env,
    prefill,
    start_pipeline,
    wait_committed,
)

pytestmark = [pytest.mark.integration, pytest.mark.kafka_only]
REGION, SITE_ID = "kr-seoul", "SEL-GN-0042"
TOPICS = SiteTopics(REGION)


async def test_sigkill_ten_times_loses_nothing_and_duplicates_only_uncommitted_batches(
    broker: str, accel_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await create_topics(broker, TOPICS.all(), partitions=6)
    events = generate(150_000, seed=31)
    await prefill(broker, events)
    # Commits every 200 ms, so that ten kills, each a moment after the replica starts writing
    # scores, come both before its first commit and after some, with the backlog not yet done.
    env = pipeline_env(broker, f"127.0.0.1:{accel_port}", PIPELINE_COMMIT_INTERVAL_MS="200")
    rng = random.Random(5)
    log = tmp_path / "pipeline.log"
    kills, uncommitted = 0, []
    for _ in range(10):
        written_before = await records_written(broker, TOPICS.kpi_scores)
        process = start_pipeline(env, log)
        until = time.monotonic() + 60
        while await records_written(broker, TOPICS.kpi_scores) == written_before and time.monotonic() < until:
            await asyncio.sleep(0.02)
        await asyncio.sleep(rng.uniform(0.0, 0.4))
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        kills += 1
        await asyncio.sleep(0.5)  # a produce request the broker took before the kill is appended
        uncommitted.append(await records_written(broker, TOPICS.kpi_scores)
                           - sum((await committed(broker, GROUP, TOPICS.kpi)).values()))
    assert sum((await committed(broker, GROUP, TOPICS.kpi)).values()) < len(events), "the kills came mid-stream"
    process = start_pipeline(env, log)
    try:
        done = await wait_committed(broker, len(events), timeout_s=240)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert done == len(events), log.read_text()[-3000:]
    scores = [orjson.loads(r.value)["event_id"] for r in await read_topic(broker, TOPICS.kpi_scores, timeout_s=120)]
    assert set(scores) == {e["event_id"] for e in events}, "every event has its score"
    duplicates = len(scores) - len(set(scores))
    # A score is written twice only when its record was not committed at a kill: what was
    # written and not committed (over all kills so far, at each) is done again, nothing else.
    assert duplicates == uncommitted[-1], f"{duplicates} duplicates; written, not committed at each kill: {uncommitted}"
    assert duplicates > 0, "no kill came while scores were written and not committed"
    with capsys.disabled():
        print(f"\n[sigkill x{kills}] {len(events)} events, {len(scores)} scores, {duplicates} duplicates, "
              f"each a score written and not committed at a kill (so far, at each: {uncommitted})")


async def test_sigterm_mid_stream_exits_within_the_grace_period_and_redoes_at_most_the_batches_in_flight(
    broker: str, accel_port: int, tmp_path: Path
) -> None:
    await create_topics(broker, TOPICS.all(), partitions=6)
    events = generate(40_000, seed=32)
    await prefill(broker, events)
    env = pipeline_env(broker, f"127.0.0.1:{accel_port}", PIPELINE_GRACE_PERIOD_S="5")
    log = tmp_path / "pipeline.log"
    process = start_pipeline(env, log)
    until = time.monotonic() + 60
    while sum((await committed(broker, GROUP, TOPICS.kpi)).values()) == 0 and time.monotonic() < until:
        await asyncio.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    assert process.wait(20) == 0, log.read_text()[-3000:]
    assert time.monotonic() - stopped_at < 5 + 5, "exited within the grace period (plus leaving the group)"
    committed_at_stop = sum((await committed(broker, GROUP, TOPICS.kpi)).values())
    scored_at_stop = len(await read_topic(broker, TOPICS.kpi_scores))
    assert scored_at_stop - committed_at_stop <= (IN_FLIGHT + 1) * MAX_BATCH, "only in-flight work is redone"

    process = start_pipeline(env, log)
    try:
        assert await wait_committed(broker, len(events), timeout_s=120) == len(events)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    scores = [orjson.loads(r.value)["event_id"] for r in await read_topic(broker, TOPICS.kpi_scores)]
    assert set(scores) == {e["event_id"] for e in events}
    assert len(scores) - len(set(scores)) <= (IN_FLIGHT + 1) * MAX_BATCH


async def test_a_dead_accelerator_loses_nothing_and_is_used_again_when_it_returns(
    broker: str, tmp_path: Path, start_accel: Callable[..., tuple[subprocess.Popen[bytes], int]]
) -> None:
    await create_topics(broker, TOPICS.all(), partitions=6)
    first, first_port = start_accel()
    second, second_port = start_accel()
    env = pipeline_env(broker, f"127.0.0.1:{first_port},127.0.0.1:{second_port}")
    log = tmp_path / "pipeline.log"
    pipeline = start_pipeline(env, log)
    try:
        wave = generate(60_000, seed=33)
        await prefill(broker, wave[:20_000])
        assert await wait_committed(broker, 5_000, timeout_s=60) >= 5_000
        first.send_signal(signal.SIGKILL)  # under load
        first.wait(10)
        assert await wait_committed(broker, 20_000, timeout_s=120) == 20_000, log.read_text()[-3000:]

        first, _ = start_accel(ACCEL_PORT=str(first_port))
        await asyncio.sleep(3)  # the channel's health check sees it serving again
        second.send_signal(signal.SIGKILL)  # now only the returned server can answer
        second.wait(10)
        await prefill(broker, wave[20_000:])
        assert await wait_committed(broker, 60_000, timeout_s=120) == 60_000, log.read_text()[-3000:]
    finally:
        for process in (pipeline, first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(30)
    scores = {orjson.loads(r.value)["event_id"] for r in await read_topic(broker, TOPICS.kpi_scores)}
    assert scores == {e["event_id"] for e in wave}
    assert await read_topic(broker, TOPICS.dlq) == [], "an accelerator failure never sends events to the DLQ"


async def test_ten_thousand_bad_records_among_good_ones_all_land_in_the_dlq_with_their_reason(
    broker: str, accel_port: int, tmp_path: Path
) -> None:
    await create_topics(broker, TOPICS.all(), partitions=6)
    good = generate(10_000, seed=34)
    mixed: list[dict[str, object] | bytes] = []
    expected: dict[str, str] = {}
    for i, event in enumerate(good):
        mixed.append(event)
        marker = f"bad-{i}"
        if i % 2:
            mixed.append(b'{"event_id": "' + marker.encode() + b'", "broken":')
            expected[marker] = "malformed"
        else:
            mixed.append(dict(event, event_id=marker, region="jp-tokyo"))
            expected[marker] = "residency"
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
    await producer.start()
    try:
        futures = [
            await producer.send(TOPICS.kpi, value=item if isinstance(item, bytes) else orjson.dumps(item), key=b"cell")
            for item in mixed
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    metrics_port = free_port()
    # 250 cells, 200 held at most (batches of 200): the state metrics have evictions to show.
    env = pipeline_env(broker, f"127.0.0.1:{accel_port}", PIPELINE_METRICS_PORT=str(metrics_port),
                       PIPELINE_MAX_ENTITIES="200", PIPELINE_MAX_BATCH_RECORDS="200")
    process = start_pipeline(env, tmp_path / "pipeline.log")
    try:
        assert await wait_committed(broker, len(mixed), timeout_s=120) == len(mixed)
        assert process.poll() is None, "the pipeline is still running"
        exposition = await _scrape(metrics_port, until_contains='reason="malformed"')
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    dlq = [orjson.loads(r.value) for r in await read_topic(broker, TOPICS.dlq)]
    import base64

    got = {}
    for entry in dlq:
        original = base64.b64decode(entry["original_value_b64"])
        marker = original.split(b'"event_id": "')[1].split(b'"')[0].decode() if b'"event_id": "' in original else orjson.loads(original)["event_id"]
        got[marker] = entry["reason"]
    assert got == expected
    scores = {orjson.loads(r.value)["event_id"] for r in await read_topic(broker, TOPICS.kpi_scores)}
    assert scores == {e["event_id"] for e in good}
    assert len(await read_topic(broker, TOPICS.audit)) == 5_000
    assert _metric(exposition, "edge_pipeline_dlq", 'reason="malformed"') == 5_000
    assert _metric(exposition, "edge_pipeline_dlq", 'reason="residency"') == 5_000
    assert _metric(exposition, "edge_pipeline_events_in", 'partition=') == len(mixed)
    assert _metric(exposition, "edge_pipeline_results_out", "") == 10_000
    assert "edge_pipeline_consumer_lag" in exposition and "edge_pipeline_end_to_end_latency" in exposition
    assert "edge_pipeline_inference_latency" in exposition
    assert _metric(exposition, "edge_pipeline_state_evictions", 'reason="capacity"') > 0
    assert 0 < _metric(exposition, "edge_pipeline_state_entities", 'pipeline="kpi-anomaly"') <= 200


async def _scrape(port: int, until_contains: str, timeout_s: float = 20) -> str:
    """GET /metrics from a pipeline process until a line appears."""
    until = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            await writer.drain()
            text = (await reader.read()).decode()
            writer.close()
            await writer.wait_closed()
        except OSError:
            text = ""
        if until_contains in text:
            return text
        await asyncio.sleep(0.5)
    raise AssertionError(f"/metrics never showed {until_contains!r}:\n{text[-2000:]}")


def _metric(exposition: str, name: str, label_filter: str) -> float:
    """Sum of a counter's samples whose labels contain `label_filter`."""
    total = 0.0
    for line in exposition.splitlines():
        if line.startswith(name) and not line.startswith("#") and label_filter in line:
            sample_name = line.split("{")[0].split(" ")[0]
            if sample_name in (name, f"{name}_total"):
                total += float(line.rsplit(" ", 1)[1])
    return total
