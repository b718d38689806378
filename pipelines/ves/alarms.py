"""The KPI anomaly pipeline's alarms as VES 7.2 events, for a fault management system that
takes a VES collector's output: `stndDefined` events in the `3GPP-FaultSupervision` namespace
whose `data` is the TS 28.532 notification (`notifyNewAlarm`, `notifyChangedAlarm`,
`notifyClearedAlarm`, with the fields each defines), or, for older consumers, `fault` events.

Every notification of one alarm is keyed by its `alarmId`, so they stay in order in one
partition; a `fault` event carries the `alarmId` as its `eventId`, the same from raise to clear,
as fault consumers correlate by it. Field names and values are those of VES 7.2 and TS 28.532."""

from __future__ import annotations

from typing import Any, Literal

import orjson

from pipelines.records import Headers, OutboundRecord
from pipelines.ves.events import epoch_us, write_header

VesAlarmDomain = Literal["stndDefined", "fault"]
NAMESPACE = "3GPP-FaultSupervision"
SCHEMA_REFERENCE = "https://forge.3gpp.org/rep/sa5/MnS/blob/Rel-18/OpenAPI/TS28532_FaultMnS.yaml#components/schemas/{}"
_SCHEMA_NAMES = {"notifyNewAlarm": "NotifyNewAlarm", "notifyChangedAlarm": "NotifyChangedAlarm",
                 "notifyClearedAlarm": "NotifyClearedAlarm"}
_FAULT_SEVERITY = {"CRITICAL": "CRITICAL", "MAJOR": "MAJOR", "MINOR": "MINOR", "WARNING": "WARNING",
                   "INDETERMINATE": "WARNING", "CLEARED": "NORMAL"}
_PRIORITY = {"CRITICAL": "High", "MAJOR": "High", "MINOR": "Medium", "WARNING": "Low"}


class VesAlarms:
    """Writes each `ran.cell_anomaly.v1` alarm as a VES event on `topic`."""

    def __init__(self, topic: str, domain: VesAlarmDomain, pipeline: str) -> None:
        self.topic = topic
        self.domain: VesAlarmDomain = domain
        self.pipeline = pipeline

    def record(self, alarm: dict[str, Any], headers: Headers) -> OutboundRecord:
        event = stnd_defined_event(alarm, self.pipeline) if self.domain == "stndDefined" else fault_event(alarm, self.pipeline)
        return OutboundRecord(self.topic, alarm["alarmId"].encode(), orjson.dumps(event), headers)


def _header(alarm: dict[str, Any], pipeline: str, domain: str, event_id: str, source: str) -> dict[str, Any]:
    at = epoch_us(alarm["ts"])
    return write_header(
        domain, event_id, "cellAnomaly", source=source, reporting_entity=f"sovereign-edge-{pipeline}-{alarm['site_id']}",
        start_us=at, last_us=at, sequence=at // 1000, priority=_PRIORITY.get(alarm["perceivedSeverity"], "Normal"),
        event_type="cellAnomaly",
    )


def notification(alarm: dict[str, Any], pipeline: str) -> dict[str, Any]:
    """The TS 28.532 notification of one alarm: the header (`href` the alarmed cell, `systemDN`
    the site) and the fields its type defines."""
    kind = alarm["notificationType"]
    data: dict[str, Any] = {
        "href": "/ProvMnS/v1/" + alarm["managedObject"].replace(",", "/"),
        "notificationId": int(alarm["result_id"].replace("-", "")[:13], 16),  # the same on a replay
        "notificationType": kind,
        "eventTime": alarm["ts"],
        "systemDN": f"SubNetwork={alarm['region']},MeContext={alarm['site_id']}",
        "alarmId": alarm["alarmId"],
        "alarmType": alarm["alarmType"],
        "probableCause": alarm["probableCause"],
        "perceivedSeverity": alarm["perceivedSeverity"],
    }
    if kind == "notifyNewAlarm":
        data |= {
            "specificProblem": alarm["specificProblem"],
            "additionalText": f"kpi-anomaly score {alarm['score']} on cell {alarm['cell_id']}",
            "additionalInformation": {
                "cellId": alarm["cell_id"], "score": alarm["score"], "topCounters": alarm["top_counters"],
                "model": alarm["model"],
            },
        }
    elif kind == "notifyClearedAlarm":
        data["clearSystemId"] = f"sovereign-edge/{pipeline}"
    return data


def stnd_defined_event(alarm: dict[str, Any], pipeline: str) -> dict[str, Any]:
    """One alarm notification as a VES `stndDefined` event."""
    header = _header(alarm, pipeline, "stndDefined", alarm["result_id"], alarm["site_id"])
    header["stndDefinedNamespace"] = NAMESPACE
    return {"event": {
        "commonEventHeader": header,
        "stndDefinedFields": {
            "schemaReference": SCHEMA_REFERENCE.format(_SCHEMA_NAMES[alarm["notificationType"]]),
            "data": notification(alarm, pipeline),
            "stndDefinedFieldsVersion": "1.0",
        },
    }}


def fault_event(alarm: dict[str, Any], pipeline: str) -> dict[str, Any]:
    """One alarm notification as a VES `fault` event (a clear is severity NORMAL)."""
    return {"event": {
        "commonEventHeader": _header(alarm, pipeline, "fault", alarm["alarmId"], alarm["cell_id"]),
        "faultFields": {
            "alarmCondition": alarm["probableCause"],
            "eventSeverity": _FAULT_SEVERITY[alarm["perceivedSeverity"]],
            "eventSourceType": "NRCellDU",
            "specificProblem": alarm["specificProblem"],
            "vfStatus": "Active",
            "faultFieldsVersion": "4.0",
            "alarmAdditionalInformation": {
                "alarmId": alarm["alarmId"], "alarmType": alarm["alarmType"],
                "notificationType": alarm["notificationType"], "managedObject": alarm["managedObject"],
                "score": str(alarm["score"]),
            },
        },
    }}
