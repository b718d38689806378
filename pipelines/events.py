"""Decoding and validating the JSON event envelope every event carries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson

ENVELOPE_FIELDS = ("schema", "event_id", "region", "site_id", "ts")
MAX_EVENT_BYTES = 1_048_576


class EventRejected(Exception):
    """An event the pipeline will not process; it goes to the DLQ with `reason` and the message."""

    reason: ClassVar[str] = "malformed"


class MalformedEvent(EventRejected):
    """Not a JSON object (or not UTF-8, or too large)."""

    reason = "malformed"


class SchemaViolation(EventRejected):
    """Valid JSON that breaks the event contract: missing or mistyped fields, unknown schema."""

    reason = "schema"


def decode_event(value: bytes | None) -> dict[str, Any]:
    """Parse one record value as a JSON object.

    Raises:
        MalformedEvent: empty, oversized, not UTF-8 JSON, or not an object.
    """
    if not value:
        raise MalformedEvent("record has no value")
    if len(value) > MAX_EVENT_BYTES:
        raise MalformedEvent(f"record value is {len(value)} bytes, the limit is {MAX_EVENT_BYTES}")
    try:
        event = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise MalformedEvent(f"not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise MalformedEvent(f"expected a JSON object, got {type(event).__name__}")
    return event


def check_envelope(event: dict[str, Any], schema: str) -> datetime:
    """Check the common fields and the schema name; return the event time.

    Raises:
        SchemaViolation: naming the first field at fault.
    """
    for name in ENVELOPE_FIELDS:
        value = event.get(name)
        if not isinstance(value, str) or not value:
            raise SchemaViolation(f"field {name!r} must be a non-empty string, got {value!r:.80}")
    if event["schema"] != schema:
        raise SchemaViolation(f"field 'schema' is {event['schema']!r:.80}, this pipeline reads {schema!r}")
    return parse_timestamp(event["ts"])


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp with an explicit offset, as UTC."""
    try:
        ts = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SchemaViolation(f"field 'ts' is not an RFC 3339 timestamp: {text!r:.80}") from exc
    if ts.tzinfo is None:
        raise SchemaViolation(f"field 'ts' has no UTC offset: {text!r:.80}")
    return ts.astimezone(UTC)
