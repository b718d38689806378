"""End to end against the real broker and a real accelerator process: every KPI event gets exactly
one score, anomalies are flagged, and bad records land in the DLQ while their neighbours are scored."""

from __future__ import annotations

import asyncio
import base64

import orjson
import pytest

from edge.settings import EdgeSettings
from edge.topics import SiteTopics
from edgectl.broker import create_topics
from edgectl.synthetic.cell_kpi import CellKpiGenerator
from edgectl.traffic import encode
from pipelines.accel_client import AcceleratorClient
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.kpi_anomaly.results import result_id
from pipelines.records import ConsumedRecord
from pipelines.runtime import PipelineRuntime
from pipelines.settings import PipelineSettings

from .kafka_io import committed, produce, read_topic
from .pipeline_run import run_until_consumed

pytestmark = pytest.mark.integration
TOPICS = SiteTopics("kr-seoul")
# Detection on a cold start: each cell's first samples have no history to deviate from.
DETECTION_FLOOR = 0.8


async def test_events_are_scored_once_each_and_bad_records_go_to_the_dlq(edge_settings: EdgeSettings) -> None:
    bootstrap = edge_settings.kafka_bootstrap_servers
    await create_topics(bootstrap, TOPICS.all(), partitions=6)
    generator = CellKpiGenerator("kr-seoul", "SEL-GN-0042", cells=60, seed=77, anomaly_rate=0.02)
    good = [e for _ in range(25) for e in generator.next_round()]
    records = []
    bad: dict[str, str] = {}  # marker -> expected reason
    for i, labelled in enumerate(good):
        records.append(encode(labelled))
        if i % 50 == 7:
            marker = f"bad-{i}"
            kind, variant = (("malformed", 0), ("schema", 0), ("residency", 0), ("schema", 1), ("residency", 1))[(i // 50) % 5]
            if kind == "malformed":
                value = b'{"schema": "ran.cell_kpi.v1", "event_id": "' + marker.encode() + b'"'  # truncated JSON
            elif kind == "schema" and variant == 0:
                value = orjson.dumps(dict(labelled.event, event_id=marker, cell_id=None))
            elif kind == "schema":  # region twice, foreign first: the last one alone would pass
                value = b'{"region": "jp-tokyo", ' + orjson.dumps(dict(labelled.event, event_id=marker))[1:]
            elif variant == 0:
                value = orjson.dumps(dict(labelled.event, event_id=marker, region="jp-tokyo"))
            else:  # another site of the same region, not served here
                value = orjson.dumps(dict(labelled.event, event_id=marker, site_id="SEL-GN-0043"))
            records.append((labelled.event["cell_id"].encode(), value, [("marker", marker.encode())]))
            bad[marker] = kind
    await produce(bootstrap, TOPICS.kpi, records)

    settings = PipelineSettings(session_timeout_ms=6000, max_batch_records=500)
    runtime = await run_until_consumed(
        edge_settings, lambda accel: KpiAnomalyPipeline(edge_settings.region, edge_settings.site_id, accel),
        len(records), settings, timeout_s=90,
    )
    assert runtime.stats.events_in == len(records)

    scores = [orjson.loads(r.value) for r in await read_topic(bootstrap, TOPICS.kpi_scores)]
    by_event = {s["event_id"]: s for s in scores}
    assert len(scores) == len(good), "exactly one score per good event"
    assert set(by_event) == {e.event["event_id"] for e in good}
    for labelled in good:
        score = by_event[labelled.event["event_id"]]
        assert score["result_id"] == result_id("kpi-anomaly", labelled.event["event_id"], "score")
        assert (score["cell_id"], score["ts"], score["region"], score["site_id"]) == (
            labelled.event["cell_id"], labelled.event["ts"], "kr-seoul", "SEL-GN-0042")
        assert score["schema"] == "ran.cell_score.v1" and score["model"] == {"name": "kpi-anomaly", "version": "1"}
        assert isinstance(score["score"], float) and isinstance(score["top_counters"], list)

    dlq = [orjson.loads(r.value) for r in await read_topic(bootstrap, TOPICS.dlq)]
    reasons = {}
    for entry in dlq:
        headers = dict((k, base64.b64decode(v)) for k, v in entry["original_headers"])
        reasons[headers["marker"].decode()] = entry["reason"]
        assert entry["source"]["topic"] == TOPICS.kpi and entry["pipeline"] == "kpi-anomaly"
        assert base64.b64decode(entry["original_value_b64"])  # the original bytes travel with it
        assert entry["detail"]
    assert reasons == bad

    audit = [orjson.loads(r.value) for r in await read_topic(bootstrap, TOPICS.audit)]
    assert len(audit) == sum(1 for k in bad.values() if k == "residency")
    assert all(a["action"] == "refused-event" and "not" in a["reason"] for a in audit)
    assert {"serves" in a["reason"] for a in audit} == {True, False}, "foreign regions and other sites alike"
    assert all("counters" not in a and "original_value_b64" not in a for a in audit), "audit carries no payload"

    labelled_anomalies = [e for e in good if e.label]
    assert len(labelled_anomalies) > 50
    detected = sum(by_event[e.event["event_id"]]["is_anomaly"] for e in labelled_anomalies)
    assert detected / len(labelled_anomalies) >= DETECTION_FLOOR

    alarms = [orjson.loads(r.value) for r in await read_topic(bootstrap, TOPICS.anomalies)]
    anomalous = {s["event_id"] for s in scores if s["is_anomaly"]}
    raised = [a for a in alarms if a["notificationType"] == "notifyNewAlarm"]
    assert raised and len(raised) < len(anomalous), "one alarm per incident, not one per anomalous sample"
    assert {a["cell_id"] for a in raised} == {s["cell_id"] for s in scores if s["is_anomaly"]}
    for alarm in alarms:
        assert alarm["schema"] == "ran.cell_anomaly.v1" and alarm["alarmId"] and alarm["explanation"]
        assert alarm["managedObject"].endswith(f"NRCellDU={alarm['cell_id']}")
        assert alarm["alarmType"] in {"QUALITY_OF_SERVICE_ALARM", "COMMUNICATIONS_ALARM", "EQUIPMENT_ALARM"}
        if alarm["notificationType"] == "notifyClearedAlarm":
            assert alarm["perceivedSeverity"] == "CLEARED" and alarm["event_id"] not in anomalous
            assert alarm["alarmId"] in {a["alarmId"] for a in raised}
        else:
            assert alarm["perceivedSeverity"] in {"MINOR", "MAJOR", "CRITICAL"} and alarm["event_id"] in anomalous

    offsets = await committed(bootstrap, runtime.group_id, TOPICS.kpi)
    assert sum(offsets.values()) == len(records), "every consumed offset is committed after its outputs"


async def test_the_pipeline_refuses_to_start_when_it_would_write_outside_its_region(
    edge_settings: EdgeSettings,
) -> None:
    from pipelines.errors import StartupRefused

    async with AcceleratorClient(edge_settings, timeout_s=5, attempts=2) as accel:
        pipeline = KpiAnomalyPipeline("kr-seoul", "SEL-GN-0042", accel)
        pipeline.output_topics = [*pipeline.output_topics, "jp-tokyo.ran.anomalies"]
        runtime = PipelineRuntime(pipeline, edge_settings, PipelineSettings())
        with pytest.raises(StartupRefused, match="jp-tokyo.ran.anomalies"):
            await runtime.start()
        await runtime.stop()


async def test_overlapped_batches_give_exactly_the_outputs_of_batches_one_at_a_time(accel_port: int) -> None:
    """The next batch's windows move before this batch's incidents are settled: outputs must
    not change for it, alarms included."""
    edge = EdgeSettings(region="kr-seoul", site_id="SEL-GN-0042", accel_targets=f"127.0.0.1:{accel_port}")
    generator = CellKpiGenerator("kr-seoul", "SEL-GN-0042", cells=40, seed=5, anomaly_rate=0.05)
    values = [encode(e) for _ in range(40) for e in generator.next_round()]
    records = [ConsumedRecord(TOPICS.kpi, 0, i, key, value, headers) for i, (key, value, headers) in enumerate(values)]
    batches = [records[i : i + 400] for i in range(0, len(records), 400)]
    stopping = asyncio.Event()
    async with AcceleratorClient(edge, timeout_s=5, attempts=2) as accel:
        one_at_a_time = KpiAnomalyPipeline("kr-seoul", "SEL-GN-0042", accel)
        expected = [(await one_at_a_time.process(batch, stopping)).outputs for batch in batches]
        overlapped = KpiAnomalyPipeline("kr-seoul", "SEL-GN-0042", accel)
        started = [overlapped.begin(batch, stopping) for batch in batches]
        answers = await asyncio.gather(*(s.answer for s in started if s.answer is not None))
    assert len(answers) == len(started)
    for s, answer in zip(started, answers, strict=True):
        s.finish(answer)
    # The changelog too: each batch's entity states are taken before the next batch moves them.
    assert [[*s.outcome.outputs, *overlapped.changelog(s.outcome.changes)] for s in started] == expected
    assert sum(o.topic == TOPICS.anomalies for outputs in expected for o in outputs) > 0, "no alarm to compare"
