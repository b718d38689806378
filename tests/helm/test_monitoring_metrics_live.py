"""Every metric an alert rule or a dashboard panel reads is one the real processes export: an
accelerator and a KPI pipeline run against the real broker, are sent good, malformed and foreign
events (and the accelerator a request it refuses), and their `/metrics` are scraped; each `edge_*`
name in the rules' and the panels' expressions must be among what they serve."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import orjson
import pytest

from edge.topics import SiteTopics
from edgectl.broker import create_topics, free_port
from edgectl.synthetic.cell_kpi import CellKpiGenerator
from edgectl.traffic import encode
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc
from tests.conftest import Broker, start_accel_process
from tests.helm.test_chart_alerts import alerts, rule_groups
from tests.helm.test_chart_dashboard import dashboard_metric_names
from tests.integration.kafka_io import produce

if TYPE_CHECKING:
    from conftest import Chart

pytestmark = [pytest.mark.integration, pytest.mark.kafka_only]
REGION, SITE = "kr-seoul", "SEL-GN-0042"
TOPICS = SiteTopics(REGION)


def _scrape(port: int) -> set[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


def _served(port: int, wanted: set[str], timeout_s: float) -> set[str]:
    """The names served once all of `wanted` are there, or at the deadline."""
    until = time.monotonic() + timeout_s
    names: set[str] = set()
    while time.monotonic() < until:
        try:
            names = _scrape(port)
        except OSError:
            names = set()
        if wanted <= names:
            break
        time.sleep(0.5)
    return names


def test_every_metric_an_alert_or_a_panel_reads_is_exported_by_the_live_processes(
    chart: Chart, broker: Broker, tmp_path: Path
) -> None:
    used = {name for alert in alerts(rule_groups(chart)) for name in re.findall(r"\b(edge_[a-z0-9_]+)", alert["expr"])}
    used |= dashboard_metric_names(chart)
    assert len(used) >= 15
    asyncio.run(create_topics(broker, TOPICS.all(), partitions=2))
    generator = CellKpiGenerator(REGION, SITE, cells=10, seed=4)
    records = [encode(e) for _ in range(5) for e in generator.next_round()]
    foreign = dict(orjson.loads(records[0][1]), region="jp-tokyo")
    records += [(b"cell", b"{not json", []), (b"cell", orjson.dumps(foreign), [])]
    asyncio.run(produce(broker, TOPICS.kpi, records))

    accel_metrics, pipeline_metrics = free_port(), free_port()
    accel, accel_port = start_accel_process(
        tmp_path, ACCEL_METRICS_PORT=str(accel_metrics), ACCEL_METRICS_HOST="127.0.0.1"
    )
    with grpc.insecure_channel(f"127.0.0.1:{accel_port}") as channel, pytest.raises(grpc.RpcError):
        pb_grpc.GRPCInferenceServiceStub(channel).ModelInfer(pb.ModelInferRequest(model_name="kpi-anomaly"))
    env = os.environ | {
        "EDGE_REGION": REGION, "EDGE_SITE_ID": SITE, "EDGE_KAFKA_BOOTSTRAP_SERVERS": broker,
        "EDGE_KAFKA_ENABLE_IDEMPOTENCE": str(broker.idempotent).lower(), "EDGE_ACCEL_TARGETS": f"127.0.0.1:{accel_port}",
        "PIPELINE_METRICS_PORT": str(pipeline_metrics), "PIPELINE_METRICS_HOST": "127.0.0.1",
        "PIPELINE_SESSION_TIMEOUT_MS": "6000",
    }
    log = (tmp_path / "pipeline.log").open("wb")
    pipeline = subprocess.Popen([sys.executable, "-m", "edgectl", "pipeline", "run", "kpi-anomaly"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        pipeline_names = {n for n in used if n.startswith("edge_pipeline_")}
        served = _served(pipeline_metrics, pipeline_names, 90) | _served(accel_metrics, used - pipeline_names, 30)
    finally:
        pipeline.terminate()
        pipeline.wait(30)
        accel.terminate()
        accel.wait(30)
        log.close()
    missing = sorted(used - served)
    assert not missing, f"alert rules read metrics no process exports: {missing}\n{(tmp_path / 'pipeline.log').read_text()[-2000:]}"
