"""The result contract of the customer-service pipeline: one `cs.insight.v1` record per utterance,
for the operator's CRM. The redacted text is the only text it ever carries."""

from __future__ import annotations

from typing import Any

import orjson

from pipelines.cs_insights.churn import ChurnRisk
from pipelines.cs_insights.redaction import RECOGNIZER_VERSION, Redaction
from pipelines.results import result_id

INSIGHT_SCHEMA = "cs.insight.v1"


def insight_record(
    *,
    pipeline: str,
    event: dict[str, Any],
    redaction: Redaction,
    intent: tuple[str, float],
    emotion: tuple[str, float] | None,
    churn: ChurnRisk,
    model_name: str,
    model_version: str,
) -> bytes:
    """One `cs.insight.v1` record. `emotion` is None for agent turns: it is not assessed."""
    return orjson.dumps(
        {
            "schema": INSIGHT_SCHEMA,
            "event_id": event["event_id"],
            "result_id": result_id(pipeline, event["event_id"], "insight"),
            "region": event["region"],
            "site_id": event["site_id"],
            "ts": event["ts"],
            "session_id": event["session_id"],
            "speaker": event["speaker"],
            "channel": event["channel"],
            "language": event["language"],
            "redacted_text": redaction.text,
            "redactions": redaction.summary(),
            "recognizer_version": RECOGNIZER_VERSION,
            "intent": {"label": intent[0], "confidence": round(intent[1], 4)},
            "emotion": None if emotion is None else {"label": emotion[0], "confidence": round(emotion[1], 4)},
            "emotion_assessed": emotion is not None,
            "churn_risk": churn.as_result(),
            "model": {"name": model_name, "version": model_version},
        }
    )
