"""The KPI anomaly pipeline's alarms as VES: every notification of an incident (raise, change,
clear) also goes out as a `stndDefined` event in the `3GPP-FaultSupervision` namespace whose data
is the TS 28.532 notification, or as a `fault` event; each validates against the VES 7.2 schema
and its data against TS 28.532's, under the alarmId of the pipeline's own alarm."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import orjson
import pytest

from pipelines.accel_client import AcceleratorClient
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.records import ConsumedRecord
from pipelines.ves.alarms import VesAlarmDomain, VesAlarms
from tests.pipelines.kpi_anomaly.test_cell_state import NORMAL, OUTAGE, T0
from tests.pipelines.ves.ves_schemas import VES as VES_SCHEMA
from tests.pipelines.ves.ves_schemas import notification_validator as _notification_validator

REGION, SITE = "kr-seoul", "SEL-GN-0042"
TOPIC = f"{REGION}.ves.faults"
async def _incident(client: AcceleratorClient, domain: VesAlarmDomain) -> tuple[list[dict[str, Any]], list[Any]]:
    """Cells with a normal hour, an outage, and a normal hour again: (native alarms, VES records)."""
    pipeline = KpiAnomalyPipeline(REGION, SITE, client, ves_alarms=VesAlarms(TOPIC, domain, "kpi-anomaly"))
    assert TOPIC in pipeline.output_topics
    alarms, ves = [], []
    for minute in range(40):
        counters = OUTAGE if 15 <= minute < 22 else NORMAL
        ts = (T0 + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")
        records = [
            ConsumedRecord(f"{REGION}.ran.kpi", 0, minute * 2 + c, cell.encode(), orjson.dumps({
                "schema": "ran.cell_kpi.v1", "event_id": f"{cell}-{minute}", "region": REGION, "site_id": SITE,
                "cell_id": cell, "ts": ts, "granularity_s": 60,
                "counters": counters | {"RRC.ConnMean": counters["RRC.ConnMean"] + minute % 3},
            }))
            for c, cell in enumerate(("cell-a", "cell-b"))
        ]
        outcome = await pipeline.process(records, asyncio.Event())
        alarms += [orjson.loads(o.value) for o in outcome.outputs if o.topic == f"{REGION}.ran.anomalies"]
        ves += [o for o in outcome.outputs if o.topic == TOPIC]
    return alarms, ves


async def test_each_alarm_notification_goes_out_as_a_3gpp_fault_supervision_stnd_defined_event(
    client: AcceleratorClient,
) -> None:
    alarms, records = await _incident(client, "stndDefined")
    kinds = [a["notificationType"] for a in alarms]
    assert "notifyNewAlarm" in kinds and "notifyClearedAlarm" in kinds
    assert len(records) == len(alarms)
    for alarm, record in zip(alarms, records, strict=True):
        event = orjson.loads(record.value)
        VES_SCHEMA.validate(event)
        header, fields = event["event"]["commonEventHeader"], event["event"]["stndDefinedFields"]
        assert (header["domain"], header["stndDefinedNamespace"]) == ("stndDefined", "3GPP-FaultSupervision")
        data = fields["data"]
        name = alarm["notificationType"][0].upper() + alarm["notificationType"][1:]
        _notification_validator(name).validate(data)
        assert fields["schemaReference"].endswith(f"TS28532_FaultMnS.yaml#components/schemas/{name}")
        assert record.key == alarm["alarmId"].encode() and data["alarmId"] == alarm["alarmId"]
        assert (data["notificationType"], data["perceivedSeverity"], data["eventTime"]) == (
            alarm["notificationType"], alarm["perceivedSeverity"], alarm["ts"])
        assert data["href"].endswith(f"NRCellDU={alarm['cell_id']}") and data["systemDN"].endswith(f"MeContext={SITE}")
        if alarm["notificationType"] == "notifyChangedAlarm":
            assert set(data) == {"href", "notificationId", "notificationType", "eventTime", "systemDN", "alarmId",
                                 "alarmType", "probableCause", "perceivedSeverity"}, "only the fields it defines"
    assert len({orjson.loads(r.value)["event"]["stndDefinedFields"]["data"]["notificationId"] for r in records}) == len(records)


async def test_the_fault_form_keeps_one_event_id_per_alarm_and_clears_with_severity_normal(
    client: AcceleratorClient,
) -> None:
    alarms, records = await _incident(client, "fault")
    events = [orjson.loads(r.value)["event"] for r in records]
    for alarm, event in zip(alarms, events, strict=True):
        VES_SCHEMA.validate({"event": event})
        fields = event["faultFields"]
        assert event["commonEventHeader"]["eventId"] == alarm["alarmId"]
        assert fields["alarmAdditionalInformation"]["notificationType"] == alarm["notificationType"]
        expected = "NORMAL" if alarm["notificationType"] == "notifyClearedAlarm" else alarm["perceivedSeverity"]
        assert fields["eventSeverity"] == expected


@pytest.mark.parametrize(
    "change", [{"alarmType": "BAD_ALARM"}, {"eventTime": "yesterday"}, {"eventTime": "2026-11-22 09:00"}, {"alarmId": None}]
)
def test_the_notification_schema_refuses_what_ts_28532_refuses(change: dict[str, Any]) -> None:
    data = {"href": "/ProvMnS/v1/x", "notificationId": 1, "notificationType": "notifyChangedAlarm",
            "eventTime": "2026-11-22T09:00:00Z", "systemDN": "SubNetwork=kr-seoul", "alarmId": "a",
            "alarmType": "COMMUNICATIONS_ALARM", "probableCause": "x", "perceivedSeverity": "MAJOR"}
    validator = _notification_validator("NotifyChangedAlarm")
    validator.validate(data)
    assert not validator.is_valid({k: v for k, v in (data | change).items() if v is not None})
