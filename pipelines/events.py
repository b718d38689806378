"""Decoding and validating the JSON event envelope every event carries."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from pipelines.errors import EventRejected, MalformedEvent, SchemaViolation

__all__ = [
    "ENVELOPE_FIELDS", "EventRejected", "MalformedEvent", "SchemaViolation", "check_envelope", "decode_event",
    "parse_timestamp", "quote", "repeated_fields",
]

ENVELOPE_FIELDS = ("schema", "event_id", "region", "site_id", "ts")
MAX_EVENT_BYTES = 1_048_576


def decode_event(value: bytes | None, guarded_fields: Sequence[str] = ENVELOPE_FIELDS) -> dict[str, Any]:
    """Parse one record value as a JSON object whose `guarded_fields` appear at most once.

    Raises:
        MalformedEvent: empty, oversized, not UTF-8 JSON, or not an object.
        SchemaViolation: a guarded field appears more than once.
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
    repeated = repeated_fields(value, guarded_fields)
    if repeated:
        raise SchemaViolation(
            f"field {repeated[0]!r} appears more than once; readers that take the first and the last "
            "value would disagree about the event"
        )
    return event


def repeated_fields(value: bytes, names: Sequence[str]) -> list[str]:
    """The `names` that the top-level object of a valid JSON document holds more than once.

    A JSON parser keeps one of a repeated key's values (orjson the last, others the first), so an
    event that says `region` twice means different things to different readers. Most events
    cannot repeat a name: each name appears at most once as a quoted string anywhere and no
    `\\u` escape could spell one; only the others are parsed again, key by key.

    Raises:
        MalformedEvent: nested too deeply for that second parse (orjson takes 1,024 levels)."""
    if b"\\u" not in value and all(value.count(b'"%s"' % name.encode()) <= 1 for name in names):
        return []
    try:
        pairs = json.loads(value, object_pairs_hook=list)
    except (RecursionError, ValueError) as exc:  # nested deeper than Python's parser goes
        raise MalformedEvent("the event is nested too deeply to check its fields") from exc
    counts = Counter(key for key, _ in pairs)
    return [name for name in names if counts[name] > 1]


def quote(value: object, limit: int = 80) -> str:
    """A field's value as an error message shows it: its repr, cut to `limit` characters."""
    return f"{value!r:.{limit}}"


def check_envelope(event: dict[str, Any], schema: str, show: Callable[[object], str] = quote) -> datetime:
    """Check the common fields and the schema name; return the event time.

    Args:
        show: how a message quotes a field's value (a pipeline that handles personal data
            redacts before it cuts a value short).

    Raises:
        SchemaViolation: naming the first field at fault.
    """
    for name in ENVELOPE_FIELDS:
        value = event.get(name)
        if not isinstance(value, str) or not value:
            raise SchemaViolation(f"field {name!r} must be a non-empty string, got {show(value)}")
    if event["schema"] != schema:
        raise SchemaViolation(f"field 'schema' is {show(event['schema'])}, this pipeline reads {schema!r}")
    return parse_timestamp(event["ts"], show)


def parse_timestamp(text: str, show: Callable[[object], str] = quote) -> datetime:
    """An RFC 3339 timestamp with an explicit offset, as UTC."""
    try:
        ts = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SchemaViolation(f"field 'ts' is not an RFC 3339 timestamp: {show(text)}") from exc
    if ts.tzinfo is None:
        raise SchemaViolation(f"field 'ts' has no UTC offset: {show(text)}")
    try:
        return ts.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00:00+01:00 is before the first UTC date
        raise SchemaViolation(f"field 'ts' is out of range in UTC: {show(text)}") from exc
