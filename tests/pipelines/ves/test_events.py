"""Reading a VES record's envelope: the `commonEventHeader` fields VES 7.2 requires, each checked
for its type and allowed values, keys written twice refused, and messages that name the field."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from edgectl.synthetic.ves import common_header
from pipelines.errors import MalformedEvent, SchemaViolation
from pipelines.ves.events import decode_ves, utc_text

START_US = 1_795_305_600_000_000  # 2026-11-22T00:00:00Z


def _record(**header: Any) -> bytes:
    fields = common_header("perf3gpp", "ev-1", "SEL-GN-0042", "gNB-1", START_US, 900) | header
    return orjson.dumps({"event": {"commonEventHeader": {k: v for k, v in fields.items() if v is not ...}}})


def test_a_header_with_every_required_field_is_read() -> None:
    header, event = decode_ves(_record())
    assert header == ("perf3gpp", "ev-1", "gNB-1", START_US)
    assert set(event) == {"commonEventHeader"}
    # Optional fields absent: timeZoneOffset, eventType, nfVendorName, sourceId...
    header, _ = decode_ves(_record(timeZoneOffset=..., eventType=..., sequence=7))
    assert header.event_id == "ev-1"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"domain": ...}, "domain"),
        ({"domain": 3}, "domain"),
        ({"domain": "perf3GPP"}, "domain"),
        ({"eventId": ...}, "eventId"),
        ({"eventId": ""}, "eventId"),
        ({"sourceName": None}, "sourceName"),
        ({"priority": "Urgent"}, "priority"),
        ({"version": 4.1}, "version"),
        ({"vesEventListenerVersion": "8.0"}, "vesEventListenerVersion"),
        ({"sequence": "1"}, "sequence"),
        ({"sequence": True}, "sequence"),
        ({"startEpochMicrosec": "1795305600000000"}, "startEpochMicrosec"),
        ({"startEpochMicrosec": 1_795_305_600_000}, "startEpochMicrosec"),  # milliseconds
        ({"lastEpochMicrosec": ...}, "lastEpochMicrosec"),
        ({"reportingEntityName": ...}, "reportingEntityName"),
    ],
)
def test_a_header_field_missing_or_of_the_wrong_type_is_refused_naming_it(change: dict[str, Any], field: str) -> None:
    with pytest.raises(SchemaViolation, match=field):
        decode_ves(_record(**change))


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        (b"", MalformedEvent, "no value"),
        (b'{"event": ', MalformedEvent, "JSON"),
        (b"\xff\xfe{}", MalformedEvent, "UTF-8"),
        (b'[{"event": {}}]', MalformedEvent, "object"),
        (b'{"eventList": []}', SchemaViolation, "one event per record"),
        (b'{"event": "perf3gpp"}', SchemaViolation, "'event' must be an object"),
        (b'{"event": {}}', SchemaViolation, "commonEventHeader"),
        (b'{"event": {"commonEventHeader": {"startEpochMicrosec": NaN}}}', MalformedEvent, "NaN"),
    ],
)
def test_what_is_not_a_ves_event_is_refused(value: bytes, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        decode_ves(value)


def test_a_key_written_twice_in_any_object_is_refused() -> None:
    twice = _record().replace(b'"domain":"perf3gpp"', b'"domain":"fault","domain":"perf3gpp"')
    with pytest.raises(SchemaViolation, match="'domain' appears more than once"):
        decode_ves(twice)
    deep = b'{"event": {"commonEventHeader": {}, "x": {"p": 1, "p": 2}}}'
    with pytest.raises(SchemaViolation, match="'p' appears more than once"):
        decode_ves(deep)


def test_an_oversized_record_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(MalformedEvent, match="limit is 1048576"):
        decode_ves(b" " * 1_048_577)


def test_event_times_are_written_as_rfc3339_utc() -> None:
    assert utc_text(START_US) == "2026-11-22T00:00:00Z"
    assert utc_text(START_US + 1_500) == "2026-11-22T00:00:00.001Z"
