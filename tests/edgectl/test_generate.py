"""`edge generate NAME` produces each pipeline's synthetic traffic to the region's topic, every
record carrying its ground truth, and refuses bad options by name."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import orjson
import pytest

from edge.topics import SiteTopics
from edgectl.broker import create_topics
from edgectl.traffic import LABEL_HEADER
from tests.conftest import Broker
from tests.integration.kafka_io import read_topic

TOPICS = SiteTopics("kr-seoul")


def _generate(broker: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "EDGE_REGION": "kr-seoul", "EDGE_SITE_ID": "SEL-GN-0042", "EDGE_KAFKA_BOOTSTRAP_SERVERS": broker,
        "EDGE_KAFKA_ENABLE_IDEMPOTENCE": str(broker.idempotent).lower(),
    }
    return subprocess.run(
        [sys.executable, "-m", "edgectl", "generate", *args], env=env, capture_output=True, text=True, timeout=90,
        check=False,
    )


@pytest.mark.integration
@pytest.mark.parametrize(
    ("name", "topic", "schema", "key_field"),
    [
        ("kpi", TOPICS.kpi, "ran.cell_kpi.v1", "cell_id"),
        ("cs-insights", TOPICS.cs_utterances, "cs.utterance.v1", "session_id"),
        ("das", TOPICS.fiber_das, "fiber.das_window.v1", "fiber_id"),
    ],
)
def test_each_generator_fills_its_topic_with_labelled_events(
    broker: str, name: str, topic: str, schema: str, key_field: str
) -> None:
    asyncio.run(create_topics(broker, TOPICS.all(), partitions=2))
    result = _generate(broker, name, "--count", "12", "--rate", "200")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["generated=12", f"topic={topic}"]
    records = asyncio.run(read_topic(broker, topic))
    assert len(records) == 12
    for record in records:
        event = orjson.loads(record.value)
        assert event["schema"] == schema and event["region"] == "kr-seoul" and event["site_id"] == "SEL-GN-0042"
        assert record.key == event[key_field].encode()
        assert {k for k, _ in record.headers} <= {LABEL_HEADER}


@pytest.mark.integration
def test_kpi_traffic_comes_from_co_sited_cells_three_to_an_enb(broker: str) -> None:
    asyncio.run(create_topics(broker, TOPICS.all(), partitions=1))
    assert _generate(broker, "energy-saving", "--count", "12", "--cells", "12", "--rate", "500").returncode == 0
    cells = {orjson.loads(r.value)["cell_id"] for r in asyncio.run(read_topic(broker, TOPICS.kpi))}
    enbs = {cell.rsplit("-", 1)[0] for cell in cells}
    assert len(cells) == 12 and len(enbs) == 4


@pytest.mark.integration
@pytest.mark.parametrize(("format_", "domain"), [("ves", "perf3gpp"), ("ves-measurement", "measurement")])
def test_kpi_traffic_as_ves_is_one_event_per_gnb_and_period_that_the_pipelines_read_back(
    broker: str, format_: str, domain: str
) -> None:
    from edgectl.synthetic.ves import network_function
    from pipelines.kpi_anomaly.features import COUNTERS
    from pipelines.ves.cell_readings import READERS
    from pipelines.ves.events import decode_ves

    asyncio.run(create_topics(broker, TOPICS.all(), partitions=2))
    result = _generate(broker, "kpi", "--format", format_, "--count", "8", "--cells", "12", "--rate", "200")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["generated=8", f"topic={TOPICS.ves_measurements}"]
    records = asyncio.run(read_topic(broker, TOPICS.ves_measurements))
    assert len(records) == 8
    for record in records:
        header, event = decode_ves(record.value)
        readings = READERS[header.domain](event, COUNTERS)
        assert header.domain == domain and record.key == header.source_name.encode()
        assert len(readings.counters) == 3 and readings.granularity_s == 60, "the three cells of one gNB"
        assert {f"gNB-{network_function(cell)}" for cell in readings.counters} == {header.source_name}
        assert {k for k, _ in record.headers} <= {LABEL_HEADER}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("kpi", "--rate", "0"), "--rate"),
        (("kpi", "--count", "0"), "--count"),
        (("das", "--fibers", "0"), "--fibers"),
        (("utterances", "--pii-rate", "1.5"), "--pii-rate"),
        (("kpi", "--anomaly-rate", "-1"), "--anomaly-rate"),
        (("kpi", "--format", "xml"), "--format"),
        (("das", "--format", "ves"), "--format"),
    ],
)
def test_bad_options_are_refused_by_name(args: tuple[str, ...], named: str) -> None:
    result = _generate(Broker.of("127.0.0.1:1", "tansu"), *args)
    assert result.returncode != 0
    assert named in result.stderr and "Traceback" not in result.stderr
