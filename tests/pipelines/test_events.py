"""Event decoding refuses bad bytes and broken envelopes with a reason and a precise detail."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from pipelines.events import MalformedEvent, SchemaViolation, check_envelope, decode_event

GOOD = {
    "schema": "ran.cell_kpi.v1", "event_id": "e1", "region": "kr-seoul", "site_id": "S1",
    "ts": "2026-11-22T09:00:00Z",
}


@pytest.mark.parametrize(
    ("value", "message"),
    [(None, "no value"), (b"", "no value"), (b"{not json", "not valid UTF-8 JSON"), (b"[1,2]", "expected a JSON object, got list"),
     (b"\xff\xfe", "not valid UTF-8 JSON")],
)
def test_undecodable_values_are_malformed(value: bytes | None, message: str) -> None:
    with pytest.raises(MalformedEvent, match=message) as caught:
        decode_event(value)
    assert caught.value.dlq_reason == "malformed"


def test_an_oversized_value_is_malformed_and_names_the_limit() -> None:
    with pytest.raises(MalformedEvent, match="the limit is 1048576"):
        decode_event(b" " * 1_048_577)


def test_a_good_envelope_yields_its_utc_time() -> None:
    assert check_envelope(dict(GOOD), "ran.cell_kpi.v1") == datetime(2026, 11, 22, 9, tzinfo=UTC)
    offset = dict(GOOD, ts="2026-11-22T18:00:00+09:00")
    assert check_envelope(offset, "ran.cell_kpi.v1") == datetime(2026, 11, 22, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"event_id": None}, "field 'event_id' must be a non-empty string"),
        ({"region": 3}, "field 'region' must be a non-empty string"),
        ({"schema": "ran.other.v1"}, "this pipeline reads 'ran.cell_kpi.v1'"),
        ({"ts": "yesterday"}, "not an RFC 3339 timestamp"),
        ({"ts": "2026-11-22T09:00:00"}, "has no UTC offset"),
    ],
)
def test_envelope_violations_name_the_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(SchemaViolation, match=message) as caught:
        check_envelope(dict(GOOD, **change), "ran.cell_kpi.v1")
    assert caught.value.dlq_reason == "schema"


def test_decode_round_trips_unicode() -> None:
    assert decode_event(orjson.dumps({"site_id": "서울"}))["site_id"] == "서울"


def test_a_time_before_the_first_utc_date_is_a_schema_violation_not_a_crash() -> None:
    event = {"schema": "s.v1", "event_id": "e", "region": "kr-seoul", "site_id": "x", "ts": "0001-01-01T00:00:00+01:00"}
    with pytest.raises(SchemaViolation, match="'ts' is out of range in UTC"):
        check_envelope(event, "s.v1")


def test_an_event_nested_too_deeply_to_check_for_repeated_fields_is_malformed_not_a_crash() -> None:
    """orjson reads 1,024 levels; the second, key-by-key parse (needed once a `\\u` escape appears)
    would hit Python's recursion limit first."""
    deep = b'{"schema": "x\\u0041", "nest": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    assert orjson.loads(deep)
    with pytest.raises(MalformedEvent, match="nested too deeply"):
        decode_event(deep)
