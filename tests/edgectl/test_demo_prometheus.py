"""A real Prometheus server (from Debian's prometheus package) scrapes `edge demo --metrics-port`
as an operator's would, and its query API answers for the events in and the results out: the
whole path from the pipelines' counters to a PromQL query."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from edgectl.broker import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO_ROOT / ".tools" / "bin" / "prometheus"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def prometheus_binary() -> Path:
    """prometheus from .tools/bin, installed by scripts/prometheus-tools.sh if missing."""
    if not PROMETHEUS.exists():
        subprocess.run([shutil.which("bash") or "bash", str(REPO_ROOT / "scripts" / "prometheus-tools.sh")],
                       check=True, timeout=600)
    return PROMETHEUS


def _query(port: int, expr: str) -> float | None:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            answer = json.loads(reply.read())
    except OSError:
        return None
    result = answer["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def test_a_real_prometheus_scrapes_the_demo_and_answers_for_events_in_and_results_out(
    prometheus_binary: Path, tmp_path: Path
) -> None:
    metrics_port, prometheus_port = free_port(), free_port()
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: edge-demo\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{metrics_port}']\n", encoding="utf-8",
    )
    with (tmp_path / "prometheus.log").open("wb") as log:
        prometheus = subprocess.Popen(
            [str(prometheus_binary), f"--config.file={tmp_path / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prometheus_port}"],
            stdout=subprocess.DEVNULL, stderr=log,
        )
    demo = subprocess.Popen(
        [sys.executable, "-m", "edgectl", "demo", "--seconds", "40", "--rate", "300", "--cells", "30",
         "--pipelines", "kpi-anomaly", "--metrics-port", str(metrics_port)],
        env=os.environ | {"PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    events = results = None
    try:
        until = time.monotonic() + 60
        while time.monotonic() < until and demo.poll() is None:
            events = _query(prometheus_port, 'sum(edge_pipeline_events_in_total{job="edge-demo"})')
            results = _query(prometheus_port, 'sum(edge_pipeline_results_out_total{job="edge-demo"})')
            if events and results:
                break
            time.sleep(1)
    finally:
        demo.terminate()
        output = demo.communicate(timeout=60)
        prometheus.terminate()
        prometheus.wait(30)
    assert events and results, f"Prometheus had no data: events {events}, results {results}\n{output[1][-2000:]}"
    assert 0 < results <= events
