"""VES through the real broker and a real accelerator: the KPI anomaly pipeline reading a VES
topic of `perf3gpp` and `measurement` events scores every cell they carry once, with the scores
and alarms (raise, change, clear under one alarmId) that the same samples give as
`ran.cell_kpi.v1`; bad VES lands in the DLQ with its reason and the partitions keep moving."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from edge.settings import EdgeSettings
from edge.topics import SiteTopics
from edgectl.broker import create_topics
from edgectl.synthetic.cell_kpi import CellKpiGenerator
from edgectl.synthetic.ves import common_header, ves_events
from pipelines.accel_client import AcceleratorClient
from pipelines.kpi_anomaly.features import COUNTERS
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.settings import PipelineSettings
from pipelines.ves.alarms import VesAlarms
from pipelines.ves.cell_samples import VesCellSamples
from tests.pipelines.ves.ves_schemas import VES as VES_SCHEMA
from tests.pipelines.ves.ves_schemas import notification_validator

from .kafka_io import committed, produce, read_topic
from .pipeline_run import run_until_consumed

pytestmark = pytest.mark.integration
REGION, SITE = "kr-seoul", "SEL-GN-0042"
TOPICS = SiteTopics(REGION)
VES = TOPICS.ves_measurements
ROUNDS = 40


def _reading_ves_only(accel: AcceleratorClient) -> KpiAnomalyPipeline:
    """A KPI pipeline of its own group reading the VES topic alone (the native samples of the
    same cells lie in the KPI topic, for the other group), the generated cells its inventory."""
    pipeline = KpiAnomalyPipeline(
        REGION, SITE, accel, ves_alarms=VesAlarms(TOPICS.ves_faults, "stndDefined", "kpi-anomaly")
    )
    pipeline.translate([VES], VesCellSamples(
        pipeline.name, pipeline.topics, SITE, pipeline.intake, [VES], COUNTERS, frozenset(_cells())
    ))
    pipeline.input_topics = [VES]
    pipeline.use_state_topic(f"{REGION}.state.kpi-anomaly-ves")
    return pipeline


def _cells() -> list[str]:
    return [e.event["cell_id"] for e in CellKpiGenerator(REGION, SITE, cells=30, seed=21).next_round()]


def _by_sample(scores: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Scores without the ids a VES event cannot carry over, in cell and time order."""
    kept = [{k: v for k, v in s.items() if k not in ("event_id", "result_id")} for s in scores]
    return sorted(kept, key=lambda s: (s["cell_id"], s["ts"]))


def _without_score(score: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in score.items() if k != "score"}


def _lifecycles(alarms: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each cell's notifications in order, each alarm's under one id (its rank per cell)."""
    ids: dict[str, dict[str, int]] = {}
    out: dict[str, list[str]] = {}
    for a in sorted(alarms, key=lambda a: (a["cell_id"], a["ts"])):
        rank = ids.setdefault(a["cell_id"], {}).setdefault(a["alarmId"], len(ids[a["cell_id"]]))
        out.setdefault(a["cell_id"], []).append(f"{rank}:{a['notificationType']}:{a['perceivedSeverity']}")
    return out


async def test_ves_events_through_the_broker_give_the_scores_and_alarms_of_the_native_samples(
    edge_settings: EdgeSettings,
) -> None:
    bootstrap = edge_settings.kafka_bootstrap_servers
    await create_topics(bootstrap, TOPICS.all(), partitions=3)
    generator = CellKpiGenerator(REGION, SITE, cells=30, seed=21, anomaly_rate=0.03)
    rounds = [[e.event for e in generator.next_round()] for _ in range(ROUNDS)]
    samples = [s for r in rounds for s in r]
    await produce(bootstrap, TOPICS.kpi, [(s["cell_id"].encode(), orjson.dumps(s), []) for s in samples])
    # Half the rounds as perf3gpp, half as measurement; ten cells per event; bad VES between them.
    events = [e for i, r in enumerate(rounds) for e in ves_events(r, "perf3gpp" if i % 2 else "measurement", 10)]
    header = common_header("perf3gpp", "bad", SITE, "gNB-x", 1_795_305_600_000_000, 60)
    bad = {
        b"gNB-bad-1": (b'{"event": {"commonEventHeader": ', "malformed"),
        b"gNB-bad-2": (orjson.dumps({"event": {"commonEventHeader": header | {"sequence": "7"}}}), "schema"),
        b"gNB-bad-3": (orjson.dumps({"event": {"commonEventHeader": {k: v for k, v in header.items() if k != "sourceName"}}}), "schema"),
        b"gNB-bad-4": (orjson.dumps({"event": {"commonEventHeader": header | {"domain": "syslog"}}}), "schema"),
        b"gNB-foreign": (orjson.dumps(ves_events([dict(rounds[0][0], cell_id="450-05-999999-1")])[0][1]), "residency"),
        b"gNB-bad-5": (orjson.dumps({"event": {"commonEventHeader": header, "perf3gppFields": {
            "perf3gppFieldsVersion": "1.0", "measDataCollection": {"granularityPeriod": "60", "measuredEntityDn": "x",
                                                                   "measInfoList": []}}}}), "schema"),
    }
    records = [(key.encode(), orjson.dumps(event), []) for key, event in events]
    for i, (key, (value, _)) in enumerate(bad.items()):
        records.insert(7 + i * 11, (key, value, []))
    await produce(bootstrap, VES, records)

    settings = PipelineSettings(session_timeout_ms=6000, max_batch_records=50)
    native = await run_until_consumed(
        edge_settings, lambda accel: KpiAnomalyPipeline(REGION, SITE, accel), len(samples),
        settings.model_copy(update={"consumer_group": "native"}), timeout_s=90,
    )
    assert native.stats.events_in == len(samples)
    reading = await run_until_consumed(
        edge_settings, _reading_ves_only, len(records), settings.model_copy(update={"consumer_group": "ves"}), timeout_s=90,
    )
    assert reading.stats.events_in == len(records)

    scores = [orjson.loads(r.value) for r in await read_topic(bootstrap, TOPICS.kpi_scores)]
    from_ves = [s for s in scores if "/" in s["event_id"]]
    assert len(from_ves) == len(samples), "one score per cell of every good VES event"
    from_native = _by_sample([s for s in scores if "/" not in s["event_id"]])
    assert [_without_score(s) for s in _by_sample(from_ves)] == [_without_score(s) for s in from_native]
    # The model runs in float32 on batches the accelerator makes up: the last digit may differ.
    assert [s["score"] for s in _by_sample(from_ves)] == pytest.approx([s["score"] for s in from_native], rel=1e-5)
    alarms = [orjson.loads(r.value) for r in await read_topic(bootstrap, TOPICS.anomalies)]
    ves_alarms = _lifecycles([a for a in alarms if "/" in a["event_id"]])
    assert ves_alarms == _lifecycles([a for a in alarms if "/" not in a["event_id"]])
    assert any(len(notifications) > 1 for notifications in ves_alarms.values()), "an alarm raised and cleared"
    # The same alarms as VES stndDefined events, each valid, each under its alarm's id.
    faults = await read_topic(bootstrap, TOPICS.ves_faults)
    own = {(a["alarmId"], a["notificationType"], a["ts"]) for a in alarms if "/" in a["event_id"]}
    seen = set()
    for record in faults:
        event = orjson.loads(record.value)
        VES_SCHEMA.validate(event)
        data = event["event"]["stndDefinedFields"]["data"]
        notification_validator(data["notificationType"][0].upper() + data["notificationType"][1:]).validate(data)
        assert record.key == data["alarmId"].encode()
        seen.add((data["alarmId"], data["notificationType"], data["eventTime"]))
    assert seen == own and len(faults) == len(own)

    dlq = [orjson.loads(r.value) for r in await read_topic(bootstrap, TOPICS.dlq)]
    assert sorted((d["source"]["topic"], d["reason"]) for d in dlq) == sorted((VES, r) for _, r in bad.values())
    assert all(d["pipeline"] == "kpi-anomaly" and d["detail"] for d in dlq)
    audit = [orjson.loads(r.value) for r in await read_topic(bootstrap, TOPICS.audit)]
    assert [a["source"]["topic"] for a in audit] == [VES], "the foreign cell's refusal is audited"
    assert sum((await committed(bootstrap, "ves", VES)).values()) == len(records), "every partition moved on"
