"""One VES record as the KPI pipelines read it: a JSON object `{"event": {...}}` whose
`commonEventHeader` has the fields and types the VES 7.2 event listener requires.

Field names, types and enumerations are those of the published VES 7.2 common event format
(schema 30.2.1). A key written twice in any object refuses the event: a JSON reader keeps one of
the two values, and which one differs between readers.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pipelines.errors import MalformedEvent, SchemaViolation
from pipelines.events import MAX_EVENT_BYTES

DOMAINS = frozenset({
    "fault", "heartbeat", "measurement", "mobileFlow", "notification", "other", "perf3gpp", "pnfRegistration",
    "sipSignaling", "stateChange", "stndDefined", "syslog", "thresholdCrossingAlert", "voiceQuality",
})
"""Every domain of VES 7.2 (`commonEventHeader.domain`)."""
PRIORITIES = frozenset({"High", "Medium", "Normal", "Low"})
HEADER_VERSIONS = frozenset({"4.0", "4.0.1", "4.1"})
LISTENER_VERSIONS = frozenset({"7.0", "7.0.1", "7.1", "7.1.1", "7.2", "7.2.1"})
_HEADER_STRINGS = ("domain", "eventId", "eventName", "priority", "reportingEntityName", "sourceName", "version",
                   "vesEventListenerVersion")
PUBLISHER = "SovereignEdge"
"""The publisher part of the names of the VES events this product writes."""
_EARLIEST_US, _LATEST_US = 946_684_800_000_000, 4_102_444_800_000_000
"""Event times accepted: from 2000-01-01 up to 2100-01-01 (microseconds since the epoch)."""


class VesHeader(NamedTuple):
    """What the KPI pipelines read of `commonEventHeader`."""

    domain: str
    event_id: str
    source_name: str
    start_us: int
    """`startEpochMicrosec`: the start of the period the event reports."""


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = dict(pairs)
    if len(names) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise SchemaViolation(f"key {name[:80]!r} appears more than once in one object; readers would disagree about it")
            seen.add(name)
    return names


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not a JSON value")


def decode_ves(value: bytes | None) -> tuple[VesHeader, dict[str, Any]]:
    """The header and the `event` object of one VES record.

    Raises:
        MalformedEvent: empty, oversized, not UTF-8 JSON, or not an object.
        SchemaViolation: a key repeated in any object, no `event`, or a header field missing or
            of the wrong type (the message names the field).
    """
    if not value:
        raise MalformedEvent("record has no value")
    if len(value) > MAX_EVENT_BYTES:
        raise MalformedEvent(f"record value is {len(value)} bytes, the limit is {MAX_EVENT_BYTES}")
    try:
        document = json.loads(value.decode(), object_pairs_hook=_strict_object, parse_constant=_not_json)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedEvent(f"not valid UTF-8 JSON: {str(exc)[:120]}") from exc
    except RecursionError as exc:
        raise MalformedEvent("the event is nested too deeply to read") from exc
    if not isinstance(document, dict):
        raise MalformedEvent(f"expected a JSON object, got {type(document).__name__}")
    if "eventList" in document and "event" not in document:
        raise SchemaViolation("field 'eventList' (a batch of VES events): publish one event per record")
    event = document.get("event")
    if not isinstance(event, dict):
        raise SchemaViolation(f"field 'event' must be an object, got {json_kind(event)}")
    return read_header(event.get("commonEventHeader")), event


def read_header(header: object) -> VesHeader:
    """Check `commonEventHeader` against VES 7.2 and return what the pipelines use.

    Raises:
        SchemaViolation: naming the first field at fault.
    """
    if not isinstance(header, dict):
        raise SchemaViolation(f"field 'event.commonEventHeader' must be an object, got {json_kind(header)}")
    for name in _HEADER_STRINGS:
        if not isinstance(header.get(name), str):
            raise SchemaViolation(f"field 'event.commonEventHeader.{name}' must be a string, got {json_kind(header.get(name))}")
    for name, allowed in (("domain", DOMAINS), ("priority", PRIORITIES), ("version", HEADER_VERSIONS),
                          ("vesEventListenerVersion", LISTENER_VERSIONS)):
        if header[name] not in allowed:
            raise SchemaViolation(
                f"field 'event.commonEventHeader.{name}' is {header[name][:40]!r}, VES 7.2 allows {sorted(allowed)}"
            )
    if not header["eventId"] or not header["sourceName"]:
        raise SchemaViolation("fields 'event.commonEventHeader.eventId' and 'sourceName' must not be empty")
    if type(header.get("sequence")) is not int:
        raise SchemaViolation(f"field 'event.commonEventHeader.sequence' must be an integer, got {json_kind(header.get('sequence'))}")
    start = _epoch_us(header, "startEpochMicrosec")
    _epoch_us(header, "lastEpochMicrosec")
    return VesHeader(header["domain"], header["eventId"], header["sourceName"], start)


def _epoch_us(header: dict[str, Any], name: str) -> int:
    value: Any = header.get(name)
    if type(value) not in (int, float) or not math.isfinite(value):
        raise SchemaViolation(f"field 'event.commonEventHeader.{name}' must be a number, got {json_kind(value)}")
    if not _EARLIEST_US <= value < _LATEST_US:
        raise SchemaViolation(
            f"field 'event.commonEventHeader.{name}' is {value!r:.24}: microseconds since 1970 from the year 2000 to "
            "2100 expected (a value in milliseconds or seconds is refused)"
        )
    return int(value)


def write_header(
    domain: str, event_id: str, description: str, *, source: str, reporting_entity: str, start_us: int, last_us: int,
    sequence: int, priority: str = "Normal", event_type: str | None = None,
) -> dict[str, Any]:
    """A `commonEventHeader` as this product writes one: every field VES 7.2 requires, the event
    named `{Domain}_{publisher}_{description}` (the 7.2 naming convention), times in UTC."""
    header: dict[str, Any] = {
        "domain": domain, "eventId": event_id, "eventName": f"{domain[0].upper()}{domain[1:]}_{PUBLISHER}_{description}",
        "sourceName": source, "reportingEntityName": reporting_entity, "priority": priority, "sequence": sequence,
        "startEpochMicrosec": start_us, "lastEpochMicrosec": last_us, "version": "4.1",
        "vesEventListenerVersion": "7.2.1", "timeZoneOffset": "UTC+00.00",
    }
    if event_type is not None:
        header["eventType"] = event_type
    return header


def epoch_us(ts: str) -> int:
    """An RFC 3339 time as microseconds since the epoch (what VES headers carry); `utc_text` reversed."""
    return int(datetime.fromisoformat(ts).timestamp() * 1_000_000)


def utc_text(epoch_us: int) -> str:
    """An epoch time in microseconds as RFC 3339 UTC, e.g. `2026-11-22T09:00:00Z`."""
    ts = datetime.fromtimestamp(epoch_us / 1e6, UTC)
    text = ts.isoformat(timespec="milliseconds" if ts.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def json_kind(value: object) -> str:
    """How a message names a value of the wrong type: its JSON type, never its content."""
    if value is None:
        return "nothing"
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array", dict: "an object"}
    return names.get(type(value), type(value).__name__)
