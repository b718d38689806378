"""The result contract of the fibre-sensing pipeline: `fiber.alert.v1`, one located event on one
fibre in one window, for field operations."""

from __future__ import annotations

from typing import Any

import orjson

from pipelines.fiber_sensing.alerts import ChannelSpan
from pipelines.fiber_sensing.classes import SEVERITY
from pipelines.fiber_sensing.window import DasWindow
from pipelines.results import result_id

ALERT_SCHEMA = "fiber.alert.v1"


def alert_record(
    *,
    pipeline: str,
    event: dict[str, Any],
    window: DasWindow,
    span: ChannelSpan,
    model_name: str,
    model_version: str,
) -> bytes:
    """One `fiber.alert.v1` record. Channels are the fibre's (absolute) channel numbers; its
    `result_id` depends only on the window's `event_id` and where the span starts."""
    first = window.first_channel + span.first
    return orjson.dumps(
        {
            "schema": ALERT_SCHEMA,
            "event_id": event["event_id"],
            "result_id": result_id(pipeline, event["event_id"], f"alert/{first}"),
            "region": event["region"],
            "site_id": event["site_id"],
            "ts": event["ts"],
            "fiber_id": window.fiber_id,
            "event_class": span.event_class,
            "severity": SEVERITY[span.event_class],
            "confidence": round(span.confidence, 4),
            "channel": window.first_channel + span.channel,
            "position_m": round(window.position_m(span.channel), 2),
            "channel_span": [first, window.first_channel + span.last],
            "span_m": [round(window.position_m(span.first), 2), round(window.position_m(span.last), 2)],
            "window_s": round(window.duration_s, 6),
            "model": {"name": model_name, "version": model_version},
        }
    )
