"""The result contracts of the KPI anomaly pipeline: score records and NOC alerts."""

from __future__ import annotations

from typing import Any

import orjson

from pipelines.results import result_id

SCORE_SCHEMA = "ran.cell_score.v1"
ALERT_SCHEMA = "ran.cell_anomaly.v1"
def score_record(
    *,
    pipeline: str,
    event: dict[str, Any],
    score: float,
    is_anomaly: bool,
    top_counters: list[str],
    model_name: str,
    model_version: str,
    window_samples: int,
    window_full: bool,
) -> bytes:
    """One `ran.cell_score.v1` record: exactly one per KPI event."""
    return orjson.dumps(
        {
            "schema": SCORE_SCHEMA,
            "event_id": event["event_id"],
            "result_id": result_id(pipeline, event["event_id"], "score"),
            "region": event["region"],
            "site_id": event["site_id"],
            "cell_id": event["cell_id"],
            "ts": event["ts"],
            "score": round(score, 6),
            "is_anomaly": is_anomaly,
            "top_counters": top_counters,
            "window_samples": window_samples,
            "state_rebuilt": not window_full,
            "model": {"name": model_name, "version": model_version},
        }
    )


def alert_record(
    *, pipeline: str, event: dict[str, Any], score: float, top_counters: list[str], model_name: str, model_version: str
) -> bytes:
    """One `ran.cell_anomaly.v1` alert for the NOC."""
    return orjson.dumps(
        {
            "schema": ALERT_SCHEMA,
            "event_id": event["event_id"],
            "result_id": result_id(pipeline, event["event_id"], "alert"),
            "region": event["region"],
            "site_id": event["site_id"],
            "cell_id": event["cell_id"],
            "ts": event["ts"],
            "score": round(score, 6),
            "top_counters": top_counters,
            "model": {"name": model_name, "version": model_version},
        }
    )
