"""`edge bench accel-soak` runs good and hostile requests (the 60 MiB BYTES one included) against a
server process for a short time: no request gets UNKNOWN, INTERNAL or ABORTED, every good one is
answered, health checks are answered SERVING throughout, and every figure is reported. Speed and
memory figures are printed, not asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgectl.bench.hostile import BAD_STATUSES


@pytest.mark.integration
def test_a_short_soak_refuses_hostile_requests_precisely_and_stays_healthy(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    result = subprocess.run(
        [sys.executable, "-m", "edgectl", "bench", "accel-soak", "--seconds", "4", "--json", str(out)],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(out.read_text())
    assert figures["failures"] == []
    assert figures["good"]["requests"] > 0 and figures["good"]["errors"] == {}
    assert not BAD_STATUSES & set(figures["hostile"]["by_status"])
    assert figures["hostile"]["unexpected"] == 0 and figures["hostile"]["requests"] > 100
    assert figures["streams"]["streams"] >= 1 and figures["streams"]["good_missing"] == 0
    assert not BAD_STATUSES & set(figures["streams"]["by_status"]) and figures["streams"]["by_status"]["OK"] > 0
    assert figures["large_bytes"]["requests"] >= 2
    assert set(figures["large_bytes"]["by_status"]) <= {"text-echo RESOURCE_EXHAUSTED", "kpi-anomaly INVALID_ARGUMENT"}
    health = figures["health"]
    assert health["checks"] > 20 and health["failures"] == 0 and health["not_serving"] == 0
    rss = figures["server_rss_mb"]
    assert rss["before"] > 0 and rss["after"] > 0 and rss["peak"] >= rss["before"]
    for words in ("good requests", "60 MiB BYTES", "health checks", "server RSS", "no failures"):
        assert words in result.stdout


def test_the_soak_refuses_a_duration_out_of_range() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edgectl", "bench", "accel-soak", "--seconds", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode != 0 and "--seconds must be within (0, 3600], got 0.0" in result.stderr
