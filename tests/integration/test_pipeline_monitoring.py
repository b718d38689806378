"""A pipeline process (`edge pipeline run`) answers Prometheus and the kubelet on its one metrics
port: live from the start, ready once it holds partitions, its own metrics at `/metrics`."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.topics import SiteTopics
from edgectl.broker import create_topics, free_port

from .kpi_pipeline_process import generate, pipeline_env, prefill, start_pipeline, wait_committed

pytestmark = pytest.mark.integration
TOPICS = SiteTopics("kr-seoul")
HttpGet = Callable[[str, int, str], tuple[int, str]]


async def _answer(
    http_get: HttpGet, port: int, path: str, wanted: int, timeout_s: float
) -> tuple[int, str]:
    """The first answer to `path` with status `wanted`, or the last one after `timeout_s`."""
    until = time.monotonic() + timeout_s
    answer = (0, "")
    while time.monotonic() < until:
        try:
            answer = http_get("127.0.0.1", port, path)
        except ConnectionRefusedError:
            answer = (0, "not listening yet")
        if answer[0] == wanted:
            break
        await asyncio.sleep(0.2)
    return answer


async def test_metrics_and_both_probes_share_the_metrics_port(
    broker: str, accel_port: int, tmp_path: Path, http_get: HttpGet
) -> None:
    await create_topics(broker, TOPICS.all(), partitions=2)
    events = generate(1_000, seed=41)
    await prefill(broker, events, partitions=2)
    port = free_port()
    env = pipeline_env(broker, f"127.0.0.1:{accel_port}", PIPELINE_METRICS_PORT=str(port))
    log = tmp_path / "pipeline.log"
    process = start_pipeline(env, log)
    try:
        live = await _answer(http_get, port, "/livez", 200, timeout_s=60)
        assert live == (200, "live\n"), log.read_text()[-3000:]
        ready = await _answer(http_get, port, "/readyz", 200, timeout_s=60)
        assert ready == (200, "ready\n"), log.read_text()[-3000:]
        assert await wait_committed(broker, len(events), timeout_s=60) == len(events)
        status, body = http_get("127.0.0.1", port, "/metrics")
        assert status == 200
        assert "edge_pipeline_events_in_total" in body
        assert http_get("127.0.0.1", port, "/nothing") == (404, "try /metrics, /livez or /readyz\n")
    finally:
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(30)
    assert exit_code == 0, log.read_text()[-3000:]
