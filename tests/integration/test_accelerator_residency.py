"""Accelerators stay verified after start, against the real broker and real accelerator and
pipeline processes: when the accelerator behind a target is replaced by one that declares another
region (a pod restarted elsewhere, a DNS change), the pipeline sends it nothing, audits it, counts
it, and its batches wait until an accelerator in region is back; then nothing is lost."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import grpc
import orjson
import pytest

from edgectl.broker import create_topics, free_port
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc

from .kafka_io import read_topic
from .kpi_pipeline_process import (
    TOPICS,
    generate,
    pipeline_env,
    prefill,
    start_pipeline,
    wait_committed,
)

pytestmark = pytest.mark.integration
StartAccel = Callable[..., tuple[subprocess.Popen[bytes], int]]


def _inferences_served(port: int) -> int:
    """How many inference requests an accelerator process has computed, all models together."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)  # type: ignore[no-untyped-call]
        stats = stub.ModelStatistics(pb.ModelStatisticsRequest(), timeout=5)
    return sum(m.inference_stats.success.count + m.inference_stats.fail.count for m in stats.model_stats)


def _metric(port: int, name: str) -> float:
    """The sum of a metric's samples on a pipeline's /metrics (0 when it has none)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        process.wait(30)


async def test_an_accelerator_replaced_by_one_of_another_region_gets_nothing_and_batches_wait_for_one_in_region(
    broker: str, tmp_path: Path, start_accel: StartAccel
) -> None:
    await create_topics(broker, TOPICS.all(), partitions=6)
    home, port = start_accel()
    metrics_port = free_port()
    env = pipeline_env(broker, f"127.0.0.1:{port}", EDGE_ACCEL_RECHECK_S="1", PIPELINE_METRICS_PORT=str(metrics_port))
    log = tmp_path / "pipeline.log"
    pipeline = start_pipeline(env, log)
    foreign: subprocess.Popen[bytes] | None = None
    back: subprocess.Popen[bytes] | None = None
    events = generate(3_000, seed=41)
    try:
        await prefill(broker, events[:2_000])
        assert await wait_committed(broker, 2_000, timeout_s=90) == 2_000, log.read_text()[-3000:]

        _stop(home, signal.SIGKILL)
        foreign, _ = start_accel(region="jp-tokyo", site_id="TYO-0001", ACCEL_PORT=str(port))
        await prefill(broker, events[2_000:])
        until = time.monotonic() + 60
        while _metric(metrics_port, "edge_pipeline_accelerator_refusals") < 1 and time.monotonic() < until:
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # several rechecks while the foreign one answers
        assert _metric(metrics_port, "edge_pipeline_accelerator_refusals") >= 1, log.read_text()[-3000:]
        assert _inferences_served(port) == 0, "not one request reached the accelerator of another region"
        assert await wait_committed(broker, 3_000, timeout_s=1) == 2_000, "its batches wait"

        _stop(foreign)
        back, _ = start_accel(ACCEL_PORT=str(port))
        assert await wait_committed(broker, 3_000, timeout_s=90) == 3_000, log.read_text()[-3000:]
    finally:
        for process in (pipeline, foreign, back, home):
            if process is not None:
                _stop(process)
    audit = [orjson.loads(r.value) for r in await read_topic(broker, TOPICS.audit)]
    refused = [a for a in audit if a["action"] == "refused-accelerator"]
    assert refused and refused[0]["accelerator"] == f"127.0.0.1:{port}" and "'jp-tokyo'" in refused[0]["reason"]
    assert refused[0]["pipeline"] == "kpi-anomaly" and refused[0]["region"] == "kr-seoul"
    scores = {orjson.loads(r.value)["event_id"] for r in await read_topic(broker, TOPICS.kpi_scores)}
    assert scores == {e["event_id"] for e in events}
    assert await read_topic(broker, TOPICS.dlq) == [], "waiting for an accelerator in region sends nothing to the DLQ"
