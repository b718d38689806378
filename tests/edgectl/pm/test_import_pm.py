"""`edge import pm` against the real broker: a directory of generated PM files (one gzip, one
malformed) is replayed in time order, the malformed file reported with its name and line while
the others go on, and the KPI anomaly pipeline scores every sample; replayed again, the samples
keep their ids; as VES, they arrive as perf3gpp events the pipelines read."""

from __future__ import annotations

import asyncio
import gzip
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from edge.settings import EdgeSettings
from edge.topics import SiteTopics
from edgectl.broker import create_topics
from edgectl.synthetic.cell_kpi import CellKpiGenerator
from edgectl.synthetic.meas_collec import file_name, meas_collec_file
from pipelines.kpi_anomaly.features import COUNTERS
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.settings import PipelineSettings
from pipelines.ves.cell_readings import READERS
from pipelines.ves.events import decode_ves
from tests.integration.kafka_io import read_topic
from tests.integration.pipeline_run import run_until_consumed
from tests.pipelines.ves.ves_schemas import VES as VES_SCHEMA

pytestmark = pytest.mark.integration
REGION, SITE = "kr-seoul", "SEL-GN-0042"
TOPICS = SiteTopics(REGION)
CELLS, PERIODS = 9, 12


def _pm_directory(tmp_path: Path) -> tuple[Path, int]:
    """A period per file, written out of time order in name, one gzip, one malformed; the samples written."""
    generator = CellKpiGenerator(REGION, SITE, cells=CELLS, seed=8, anomaly_rate=0.05)
    directory = tmp_path / "pm"
    (directory / "older").mkdir(parents=True)
    written = 0
    for period in range(PERIODS):
        samples = [e.event for e in generator.next_round()]
        text = meas_collec_file(samples, positional=period % 2 == 0)
        where = directory / "older" if period < 4 else directory
        name = f"{PERIODS - period:02d}-{file_name(samples)}"  # names sort against time
        if period == 5:
            (where / (name + ".gz")).write_bytes(gzip.compress(text.encode()))
        else:
            (where / name).write_text(text, encoding="utf-8")
        written += len(samples)
    (directory / "broken.xml").write_text(text.replace("</measInfo>", "</measinfo>"), encoding="utf-8")
    return directory, written


def _import(broker: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "EDGE_REGION": REGION, "EDGE_SITE_ID": SITE, "EDGE_KAFKA_BOOTSTRAP_SERVERS": broker,
        "EDGE_KAFKA_ENABLE_IDEMPOTENCE": str(broker.idempotent).lower(),  # type: ignore[attr-defined]
    }
    return subprocess.run([sys.executable, "-m", "edgectl", "import", "pm", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_a_directory_of_pm_files_is_replayed_in_time_order_and_every_sample_scored(
    broker: str, edge_settings: EdgeSettings, tmp_path: Path
) -> None:
    asyncio.run(create_topics(broker, TOPICS.all(), partitions=2))
    directory, written = _pm_directory(tmp_path)
    result = _import(broker, str(directory), "--rate", "5000")
    assert result.returncode == 0, result.stderr
    summary = dict(item.split("=", 1) for item in result.stdout.split())
    assert summary["topic"] == TOPICS.kpi
    assert (summary["files"], summary["refused"], summary["cells"], summary["samples"]) == (
        str(PERIODS), "1", str(CELLS), str(written))
    assert "left out: " in result.stderr and "broken.xml:" in result.stderr and "mismatched tag" in result.stderr
    assert "samples/s" in result.stderr, "a progress line"

    records = asyncio.run(read_topic(broker, TOPICS.kpi))
    events = [orjson.loads(r.value) for r in records]
    assert len(events) == written and {e["site_id"] for e in events} == {SITE}
    for partition in {r.partition for r in records}:
        times = [datetime.fromisoformat(orjson.loads(r.value)["ts"]) for r in records if r.partition == partition]
        assert times == sorted(times), "published in time order"

    runtime = asyncio.run(run_until_consumed(
        edge_settings, lambda accel: KpiAnomalyPipeline(REGION, SITE, accel), written,
        PipelineSettings(session_timeout_ms=6000), timeout_s=90,
    ))
    assert runtime.stats.events_in == written and runtime.stats.dlq == 0
    scores = [orjson.loads(r.value) for r in asyncio.run(read_topic(broker, TOPICS.kpi_scores))]
    assert sorted(s["event_id"] for s in scores) == sorted(e["event_id"] for e in events), "every sample scored once"

    again = _import(broker, str(directory / "older"))
    assert again.returncode == 0 and "refused=0" in again.stdout
    replayed = [orjson.loads(r.value) for r in asyncio.run(read_topic(broker, TOPICS.kpi))][written:]
    assert {e["event_id"] for e in replayed} <= {e["event_id"] for e in events}, "a replay keeps the samples' ids"


def test_pm_files_replayed_as_ves_are_perf3gpp_events_the_pipelines_read(broker: str, tmp_path: Path) -> None:
    asyncio.run(create_topics(broker, TOPICS.all(), partitions=2))
    directory, written = _pm_directory(tmp_path)
    result = _import(broker, str(directory), "--format", "ves")
    assert result.returncode == 0, result.stderr
    assert f"samples={written}" in result.stdout and f"topic={TOPICS.ves_measurements}" in result.stdout
    cells = 0
    for record in asyncio.run(read_topic(broker, TOPICS.ves_measurements)):
        VES_SCHEMA.validate(orjson.loads(record.value))
        header, event = decode_ves(record.value)
        cells += len(READERS[header.domain](event, COUNTERS).counters)
    assert cells == written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--rate", "0"), "--rate must be > 0"),
        (("--topic", "jp-tokyo.ran.kpi"), "jp-tokyo.ran.kpi"),
    ],
)
def test_bad_options_are_refused_by_name(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    from tests.conftest import Broker

    result = _import(Broker.of("127.0.0.1:1", "tansu"), str(tmp_path), *args)
    assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr


def test_a_path_that_does_not_exist_is_reported_and_the_others_go_on(broker: str, tmp_path: Path) -> None:
    asyncio.run(create_topics(broker, TOPICS.all(), partitions=1))
    directory, written = _pm_directory(tmp_path)
    result = _import(broker, str(tmp_path / "nowhere"), str(directory))
    assert result.returncode == 0, result.stderr
    assert f"samples={written}" in result.stdout and "refused=2" in result.stdout
    assert "nowhere: no such file or directory" in result.stderr
