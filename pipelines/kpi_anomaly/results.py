"""The result contracts of the KPI anomaly pipeline: score records and NOC alerts."""

from __future__ import annotations

from typing import Any

from pipelines.cell_kpi import managed_object
from pipelines.kpi_anomaly.incidents import AlarmNotification
from pipelines.results import result_id

SCORE_SCHEMA = "ran.cell_score.v1"
ALERT_SCHEMA = "ran.cell_anomaly.v1"
"""Score records are written by `codec.encode_cell_scores`, a batch at a time."""


# What an OSS needs to route an alarm, by the KPI that looks worst.
_ALARM_CLASS = {
    "prb_dl_pct": ("QUALITY_OF_SERVICE_ALARM", "congestion"),
    "prb_ul_pct": ("QUALITY_OF_SERVICE_ALARM", "congestion"),
    "thp_dl_log_kbps": ("QUALITY_OF_SERVICE_ALARM", "performanceDegraded"),
    "thp_ul_log_kbps": ("QUALITY_OF_SERVICE_ALARM", "performanceDegraded"),
    "delay_dl_log_ms": ("QUALITY_OF_SERVICE_ALARM", "performanceDegraded"),
    "users_log": ("COMMUNICATIONS_ALARM", "callEstablishmentError"),
    "rrc_setup_sr": ("COMMUNICATIONS_ALARM", "callEstablishmentError"),
    "ho_intra_sr": ("COMMUNICATIONS_ALARM", "handoverFailure"),
    "ho_inter_sr": ("COMMUNICATIONS_ALARM", "handoverFailure"),
    "power_log_w": ("EQUIPMENT_ALARM", "powerProblem"),
}


def alarm_body(
    *,
    pipeline: str,
    event: dict[str, Any],
    notification: AlarmNotification,
    score: float,
    explanation: list[dict[str, Any]],
    model: dict[str, str],
) -> dict[str, Any]:
    """One `ran.cell_anomaly.v1` alarm: a 3GPP-style alarm notification for the NOC/OSS, with
    the KPIs behind it and how far each sits from the cell's own recent normal."""
    incident = notification.incident
    worst = explanation[0]["kpi"] if explanation else "rrc_setup_sr"
    alarm_type, probable_cause = _ALARM_CLASS[worst]
    specific = ", ".join(
        f"{e['kpi']} {e['deviation_sigma']:+.1f} sigma from the cell's normal" for e in explanation[:2]
    )
    body: dict[str, Any] = {
        "schema": ALERT_SCHEMA,
        "event_id": event["event_id"],
        "result_id": result_id(pipeline, event["event_id"], "alarm"),
        "region": event["region"],
        "site_id": event["site_id"],
        "cell_id": event["cell_id"],
        "ts": event["ts"],
        "notificationType": notification.kind,
        "alarmId": incident.alarm_id,
        "alarmType": alarm_type,
        "probableCause": probable_cause,
        "perceivedSeverity": notification.severity,
        "specificProblem": specific,
        "managedObject": managed_object(event["region"], event["site_id"], event["cell_id"]),
        "alarmRaisedTime": incident.raised_time,
        "alarmChangedTime": incident.changed_time,
        "alarmClearedTime": notification.event_time if notification.kind == "notifyClearedAlarm" else None,
        "score": round(score, 6),
        "top_counters": [c for e in explanation for c in e["counters"]],
        "explanation": explanation,
        "model": model,
    }
    return body
