"""Per-entity state that survives crashes and rebalances, and exactly-once results, against
Apache Kafka and a real accelerator: an alarm raised before a SIGKILL is cleared with the same
`alarmId` after the restart (and by the replica that takes its cell's partition), the open-alarm
list follows, a restore of 10,000 cells finishes before the replica says it is ready, and in
exactly-once mode ten SIGKILLs over 100,000 events leave exactly one score per good event, equal
to what an uninterrupted run scores, and one DLQ record per bad event."""

from __future__ import annotations

import asyncio
import math
import random
import signal
import subprocess
import sys
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from edge.settings import EdgeSettings
from edge.topics import SiteTopics
from edgectl.alarms import open_alarms
from edgectl.broker import create_topics, free_port
from pipelines.accel_client import AcceleratorClient
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.records import ConsumedRecord
from tests.pipelines.kpi_anomaly.test_cell_state import NORMAL, OUTAGE

from .kafka_io import committed, read_topic
from .kpi_pipeline_process import GROUP, generate, pipeline_env, start_pipeline, wait_committed

pytestmark = [pytest.mark.integration, pytest.mark.kafka_only]
REGION, SITE_ID = "kr-seoul", "SEL-GN-0042"
TOPICS = SiteTopics(REGION)
PARTITIONS = 4
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def partition_of(cell: str) -> int:
    return zlib.crc32(cell.encode()) % PARTITIONS


def minutes(first: int, last: int, cells: list[str], down: set[int]) -> list[dict[str, Any]]:
    """One sample per cell per minute; the cells are down in the minutes `down`."""
    events = []
    for minute in range(first, last):
        ts = (T0 + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")
        for c, cell in enumerate(cells):
            counters = OUTAGE if minute in down else NORMAL | {"RRC.ConnMean": 150 + 7 * c + minute % 5}
            events.append({"schema": "ran.cell_kpi.v1", "event_id": f"{cell}-{minute}", "region": REGION,
                           "site_id": SITE_ID, "cell_id": cell, "ts": ts, "granularity_s": 60, "counters": counters})
    return events


async def send_keyed(broker: str, items: list[dict[str, Any] | tuple[str, bytes]]) -> None:
    """Events (or raw `(cell, bytes)`) to the KPI topic, each cell always in the same partition."""
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all", max_batch_size=512 * 1024, linger_ms=20)
    await producer.start()
    try:
        futures = []
        for item in items:
            cell, value = (item["cell_id"], orjson.dumps(item)) if isinstance(item, dict) else item
            futures.append(await producer.send(TOPICS.kpi, value, key=cell.encode(), partition=partition_of(cell)))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def _stop(process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        process.wait(30)


async def _alarms(broker: str, delivery: str) -> list[dict[str, Any]]:
    isolation = "read_committed" if delivery == "exactly-once" else "read_uncommitted"
    return [orjson.loads(r.value) for r in await read_topic(broker, TOPICS.anomalies, isolation_level=isolation)]


def _edge(broker: str) -> EdgeSettings:
    return EdgeSettings(region=REGION, site_id=SITE_ID, kafka_bootstrap_servers=broker)


@pytest.mark.parametrize("delivery", ["at-least-once", "exactly-once"])
async def test_an_alarm_raised_before_a_sigkill_is_cleared_with_the_same_alarm_id_after_the_restart(
    broker: str, accel_port: int, tmp_path: Path, delivery: str
) -> None:
    await create_topics(broker, TOPICS.all(), partitions=PARTITIONS)
    cells = ["cell-a", "cell-b", "cell-c"]
    env = pipeline_env(broker, f"127.0.0.1:{accel_port}", PIPELINE_DELIVERY=delivery)
    log = tmp_path / "pipeline.log"
    before = minutes(0, 8, ["cell-a"], down={6, 7}) + minutes(0, 8, cells[1:], down=set())
    await send_keyed(broker, before)
    process = start_pipeline(env, log)
    try:
        assert await wait_committed(broker, len(before), timeout_s=90) == len(before), log.read_text()[-3000:]
    finally:
        _stop(process, signal.SIGKILL)
    [raised] = await _alarms(broker, delivery)
    assert raised["notificationType"] == "notifyNewAlarm" and raised["cell_id"] == "cell-a"
    assert [a["alarmId"] for a in await open_alarms(_edge(broker))] == [raised["alarmId"]]
    listed = (await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "edgectl", "alarms", "list"], env=env, capture_output=True, text=True,
        timeout=60, check=True,
    )).stdout.splitlines()
    assert listed[0].split() == ["alarmId", "cell_id", "perceivedSeverity", "alarmRaisedTime", "alarmChangedTime",
                                 "probableCause"]
    assert listed[1].split()[:3] == [raised["alarmId"], "cell-a", raised["perceivedSeverity"]]
    assert listed[-1] == "1 open alarm"

    after = minutes(8, 11, cells, down=set())
    await send_keyed(broker, after)
    process = start_pipeline(env, log)
    try:
        total = len(before) + len(after)
        assert await wait_committed(broker, total, timeout_s=90) == total, log.read_text()[-3000:]
    finally:
        _stop(process)
    notifications = [(a["notificationType"], a["alarmId"]) for a in await _alarms(broker, delivery)]
    assert notifications == [("notifyNewAlarm", raised["alarmId"]), ("notifyClearedAlarm", raised["alarmId"])]
    assert await open_alarms(_edge(broker)) == []
    scores = [orjson.loads(r.value) for r in await read_topic(broker, TOPICS.kpi_scores)]
    assert all(s["window_samples"] >= 8 for s in scores if s["ts"] >= "2026-11-22T09:08"), "windows restored"


async def _get(port: int, path: str) -> tuple[int, str]:
    """GET a path of a replica's monitoring port; (0, "") while nothing listens."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return 0, ""
    writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.decode().partition("\r\n\r\n")
    return int(head.split()[1]), body


def _metric(exposition: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines()
               if line.startswith(name) and not line.startswith("#"))


async def test_the_replica_that_takes_a_cell_over_in_a_rebalance_clears_its_alarm_with_the_same_alarm_id(
    broker: str, accel_port: int, tmp_path: Path
) -> None:
    await create_topics(broker, TOPICS.all(), partitions=PARTITIONS)
    # One cell per partition, each with an outage: whichever partitions move, an open alarm moves.
    cells: list[str] = []
    for i in range(1000):
        if len(cells) < PARTITIONS and partition_of(f"cell-{i}") not in {partition_of(c) for c in cells}:
            cells.append(f"cell-{i}")
    before = minutes(0, 8, cells, down={6, 7})
    await send_keyed(broker, before)
    first_port, second_port = free_port(), free_port()
    first = start_pipeline(pipeline_env(broker, f"127.0.0.1:{accel_port}", PIPELINE_METRICS_PORT=str(first_port)),
                           tmp_path / "first.log")
    second = None
    try:
        assert await wait_committed(broker, len(before), timeout_s=90) == len(before)
        raised = {a["cell_id"]: a["alarmId"] for a in await _alarms(broker, "at-least-once")}
        assert sorted(raised) == sorted(cells)
        second = start_pipeline(pipeline_env(broker, f"127.0.0.1:{accel_port}", PIPELINE_METRICS_PORT=str(second_port)),
                                tmp_path / "second.log")
        until = time.monotonic() + 60
        while (await _get(second_port, "/readyz"))[0] != 200 and time.monotonic() < until:
            await asyncio.sleep(0.2)
        assert (await _get(second_port, "/readyz"))[0] == 200, "the second replica holds partitions"
        after = minutes(8, 11, cells, down=set())
        await send_keyed(broker, after)
        total = len(before) + len(after)
        assert await wait_committed(broker, total, timeout_s=90) == total
        _, exposition = await _get(second_port, "/metrics")
        assert _metric(exposition, "edge_pipeline_state_restored_entities_total") >= 1, "it restored moved cells"
        assert _metric(exposition, "edge_pipeline_events_in_total") >= len(after) // PARTITIONS
        # The first replica kept the state of the partitions it was given back: it read no changelog.
        _, exposition = await _get(first_port, "/metrics")
        assert _metric(exposition, "edge_pipeline_state_restore_records_total") == 0
    finally:
        _stop(first)
        if second is not None:
            _stop(second)
    cleared = {a["cell_id"]: a["alarmId"] for a in await _alarms(broker, "at-least-once")
               if a["notificationType"] == "notifyClearedAlarm"}
    assert cleared == raised, "every alarm cleared once, with the id it was raised with"
    assert await open_alarms(_edge(broker)) == []


async def test_a_restart_restores_ten_thousand_cells_before_the_replica_is_ready(
    broker: str, accel_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await create_topics(broker, TOPICS.all(), partitions=PARTITIONS)
    cells = [f"cell-{i:05d}" for i in range(10_000)]
    events = minutes(0, 2, cells, down=set())
    await send_keyed(broker, events)
    log = tmp_path / "pipeline.log"
    env = pipeline_env(broker, f"127.0.0.1:{accel_port}", PIPELINE_MAX_BATCH_RECORDS="4000")
    process = start_pipeline(env, log)
    try:
        assert await wait_committed(broker, len(events), timeout_s=120) == len(events), log.read_text()[-3000:]
    finally:
        _stop(process)

    port = free_port()
    process = start_pipeline(env | {"PIPELINE_METRICS_PORT": str(port), "EDGE_LOG_LEVEL": "INFO"}, log)
    try:
        until = time.monotonic() + 120
        readiness: list[int] = []
        while time.monotonic() < until:
            status, _ = await _get(port, "/readyz")
            readiness.append(status)
            if status == 200:
                break
            await asyncio.sleep(0.02)
        _, exposition = await _get(port, "/metrics")
    finally:
        _stop(process)
    assert readiness[-1] == 200, log.read_text()[-3000:]
    assert 503 in readiness, "not ready before the restore"
    # Ready only once restored: every cell's state is already back when /readyz first says so.
    assert _metric(exposition, "edge_pipeline_state_restored_entities_total") == 10_000
    seconds = _metric(exposition, "edge_pipeline_state_restore_duration_seconds_sum")
    assert seconds > 0
    with capsys.disabled():
        print(f"\n[restore] 10,000 cells restored in {seconds:.2f} s")


def _with_bad_records(events: list[dict[str, Any]], every: int) -> tuple[list[dict[str, Any] | tuple[str, bytes]], set[str]]:
    """The events with a malformed record after every `every`th, in the same cell's partition."""
    mixed: list[dict[str, Any] | tuple[str, bytes]] = []
    bad: set[str] = set()
    for i, event in enumerate(events):
        mixed.append(event)
        if i % every == 0:
            marker = f"bad-{i}"
            mixed.append((str(event["cell_id"]), b'{"event_id": "' + marker.encode() + b'", "broken":'))
            bad.add(marker)
    return mixed, bad


async def _reference_scores(accel_port: int, events: list[dict[str, Any]]) -> dict[str, tuple[float, int]]:
    """Each event's score and window length as one uninterrupted replica gives them."""
    settings = EdgeSettings(region=REGION, site_id=SITE_ID, accel_targets=f"127.0.0.1:{accel_port}")
    async with AcceleratorClient(settings, timeout_s=10, attempts=2) as client:
        pipeline = KpiAnomalyPipeline(REGION, SITE_ID, client)
        out = {}
        for start in range(0, len(events), 4000):
            records = [ConsumedRecord(TOPICS.kpi, partition_of(str(e["cell_id"])), start + i, None, orjson.dumps(e))
                       for i, e in enumerate(events[start:start + 4000])]
            outcome = await pipeline.process(records, asyncio.Event())
            for o in outcome.outputs:
                if o.topic == TOPICS.kpi_scores and o.value is not None:
                    body = orjson.loads(o.value)
                    out[body["event_id"]] = (body["score"], body["window_samples"])
    return out


async def test_exactly_once_ten_sigkills_over_100k_events_leave_one_score_per_event_equal_to_an_uninterrupted_run(
    broker: str, accel_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await create_topics(broker, TOPICS.all(), partitions=PARTITIONS)
    events = generate(100_000, seed=41)
    mixed, bad = _with_bad_records(events, every=100)
    env = pipeline_env(broker, f"127.0.0.1:{accel_port}", PIPELINE_DELIVERY="exactly-once")
    log = tmp_path / "pipeline.log"
    rng = random.Random(7)
    await send_keyed(broker, mixed)
    behind = []
    for _ in range(10):
        before = sum((await committed(broker, GROUP, TOPICS.kpi)).values())
        process = start_pipeline(env, log)
        # Killed while it streams: once it has committed something, at a random moment after.
        until = time.monotonic() + 60
        while sum((await committed(broker, GROUP, TOPICS.kpi)).values()) == before and time.monotonic() < until:
            await asyncio.sleep(0.05)
        await asyncio.sleep(rng.uniform(0.0, 0.5))
        _stop(process, signal.SIGKILL)
        behind.append(len(mixed) - sum((await committed(broker, GROUP, TOPICS.kpi)).values()))
    assert behind[-1] > 0, f"the last kill still finds records not committed: {behind}"
    process = start_pipeline(env, log)
    try:
        done = await wait_committed(broker, len(mixed), timeout_s=300)
    finally:
        _stop(process)
    assert done == len(mixed), log.read_text()[-3000:]

    scores = [orjson.loads(r.value) for r in await read_topic(broker, TOPICS.kpi_scores, 120, "read_committed")]
    ids = [s["event_id"] for s in scores]
    assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} duplicates"
    assert set(ids) == {e["event_id"] for e in events}
    reference = await _reference_scores(accel_port, events)
    # The model's float32 arithmetic rounds differently with the batch's size, so scores agree to
    # a few units in the seventh digit; a window off by one sample moves them far more than that.
    differing = [
        s["event_id"] for s in scores
        if s["window_samples"] != reference[s["event_id"]][1]
        or not math.isclose(s["score"], reference[s["event_id"]][0], rel_tol=2e-5, abs_tol=1e-5)
    ]
    by_id = {s["event_id"]: s for s in scores}
    assert differing == [], f"{len(differing)} scores differ from an uninterrupted run, e.g. " + ", ".join(
        f"{(by_id[e]['cell_id'], by_id[e]['ts'], by_id[e]['score'], by_id[e]['window_samples'])} != {reference[e]}"
        for e in differing[:4]
    )
    dlq = [orjson.loads(r.value) for r in await read_topic(broker, TOPICS.dlq, 60, "read_committed")]
    assert len(dlq) == len(bad) and {d["reason"] for d in dlq} == {"malformed"}
    with capsys.disabled():
        print(f"\n[exactly-once sigkill x10] {len(events)} events, {len(scores)} scores, 0 duplicates, "
              f"{len(dlq)} DLQ records for {len(bad)} bad; records not committed at each kill: {behind}")


async def test_exactly_once_sigterm_mid_stream_leaves_no_transaction_open_and_no_duplicate(
    broker: str, accel_port: int, tmp_path: Path
) -> None:
    await create_topics(broker, TOPICS.all(), partitions=PARTITIONS)
    events = generate(30_000, seed=42)
    await send_keyed(broker, list(events))
    env = pipeline_env(broker, f"127.0.0.1:{accel_port}", PIPELINE_DELIVERY="exactly-once", PIPELINE_GRACE_PERIOD_S="5")
    log = tmp_path / "pipeline.log"
    process = start_pipeline(env, log)
    until = time.monotonic() + 60
    while sum((await committed(broker, GROUP, TOPICS.kpi)).values()) == 0 and time.monotonic() < until:
        await asyncio.sleep(0.05)
    stopped_at = time.monotonic()
    _stop(process)
    assert process.returncode == 0, log.read_text()[-3000:]
    assert time.monotonic() - stopped_at < 15, "stopped within the grace period"
    # Whatever it left open is aborted: a read_committed reader is not held at the last stable offset.
    process = start_pipeline(env, log)
    try:
        assert await wait_committed(broker, len(events), timeout_s=120) == len(events), log.read_text()[-3000:]
    finally:
        _stop(process)
    ids = [orjson.loads(r.value)["event_id"] for r in await read_topic(broker, TOPICS.kpi_scores, 60, "read_committed")]
    assert len(ids) == len(set(ids)) == len(events)


async def test_a_zombie_replica_cannot_commit_after_its_partitions_moved_and_stops_saying_why(
    broker: str, accel_port: int, tmp_path: Path
) -> None:
    """Exactly-once: a replica frozen past its session timeout (SIGSTOP) while another takes its
    partitions is fenced when it wakes: its open transaction cannot commit, it stops with one line,
    and a read_committed reader sees every score once."""
    await create_topics(broker, TOPICS.all(), partitions=PARTITIONS)
    events = generate(150_000, seed=43)
    await send_keyed(broker, list(events))
    env = pipeline_env(broker, f"127.0.0.1:{accel_port}", PIPELINE_DELIVERY="exactly-once")
    zombie_log, successor_log = tmp_path / "zombie.log", tmp_path / "successor.log"
    zombie = start_pipeline(env, zombie_log)
    successor = None
    try:
        until = time.monotonic() + 60
        while sum((await committed(broker, GROUP, TOPICS.kpi)).values()) == 0 and time.monotonic() < until:
            await asyncio.sleep(0.05)
        zombie.send_signal(signal.SIGSTOP)  # frozen in the middle of the backlog, transactions open
        frozen_at = sum((await committed(broker, GROUP, TOPICS.kpi)).values())
        successor = start_pipeline(env, successor_log)
        until = time.monotonic() + 60
        while sum((await committed(broker, GROUP, TOPICS.kpi)).values()) <= frozen_at + 5_000 and time.monotonic() < until:
            await asyncio.sleep(0.1)
        assert sum((await committed(broker, GROUP, TOPICS.kpi)).values()) > frozen_at, "the successor took over"
        zombie.send_signal(signal.SIGCONT)
        assert await asyncio.to_thread(zombie.wait, 60) != 0
        assert await wait_committed(broker, len(events), timeout_s=180) == len(events), successor_log.read_text()[-3000:]
    finally:
        if zombie.poll() is None:
            zombie.send_signal(signal.SIGCONT)
            _stop(zombie, signal.SIGKILL)
        if successor is not None:
            _stop(successor)
    said = [line for line in zombie_log.read_text().splitlines() if line.startswith("edge pipeline run kpi-anomaly")]
    expected = (
        "edge pipeline run kpi-anomaly: stopped: group kr-seoul.kpi-anomaly gave this replica's partitions to another "
        "while it was silent longer than PIPELINE_SESSION_TIMEOUT_MS (3000 ms): its batch is not committed "
        "(ProducerFenced); it stops, to join again as a new member"
    )
    assert said == [expected], zombie_log.read_text()[-3000:]
    ids = [orjson.loads(r.value)["event_id"] for r in await read_topic(broker, TOPICS.kpi_scores, 120, "read_committed")]
    assert len(ids) == len(set(ids)) == len(events), f"{len(ids) - len(set(ids))} duplicates"
