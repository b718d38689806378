"""`edge bench pipeline` runs every phase on a small backlog and reports every figure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.integration
def test_pipeline_bench_reports_throughput_ceiling_and_latency(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "edgectl", "bench", "pipeline", "--events", "3000", "--latency-seconds", "2",
         "--feed-interval-ms", "20", "--json", str(out)],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())
    assert figures["events"] == 3000
    assert figures["raw_ceiling_events_per_s"] > 0 and figures["pipeline_events_per_s"] > 0
    assert figures["pipeline_reference_kernels_events_per_s"] > 0 and figures["kernels"] in ("native", "reference")
    assert figures["latency_feed_interval_ms"] == 20 and "fed every 20 ms" in result.stdout
    assert figures["latency_events"] > 0 and figures["latency_p99_ms"] >= figures["latency_p50_ms"] >= 0
    assert "events/s" in result.stdout and "p99" in result.stdout


def test_pipeline_bench_refuses_a_feed_interval_out_of_range() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edgectl", "bench", "pipeline", "--feed-interval-ms", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode != 0 and "--feed-interval-ms must be between 1 and 1000, got 0" in result.stderr


@pytest.mark.integration
def test_on_apache_kafka_the_bench_reports_both_delivery_modes_side_by_side(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "edgectl", "bench", "pipeline", "--broker", "kafka", "--events", "3000",
         "--latency-seconds", "2", "--feed-interval-ms", "20", "--json", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
    modes = json.loads(out.read_text())["delivery"]
    assert list(modes) == ["at-least-once", "exactly-once"]
    for figures in modes.values():
        assert figures["pipeline_events_per_s"] > 0 and figures["latency_events"] > 0
        assert figures["received_p99_ms"] >= figures["received_p50_ms"] > 0
    assert "exactly-once: pipeline" in result.stdout and "exactly-once: scores received at" in result.stdout


def test_exactly_once_on_the_embedded_broker_is_refused_naming_the_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edgectl", "bench", "pipeline", "--delivery", "exactly-once"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode != 0 and "add --broker kafka" in result.stderr
