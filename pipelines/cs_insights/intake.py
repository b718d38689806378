"""The front door of the customer-service pipeline: the shared intake, with every refused record
redacted before it becomes a DLQ record, since a malformed utterance may still hold personal data.

The DLQ record keeps its usual contract (reason, detail, source topic/partition/offset, key,
value and headers in base64) but the key, the value, every header other than trace context, and
the detail are the redacted text of the original bytes, and the record says so
(`value_redacted`, `recognizer_version`, `redactions`). No hash of the original is kept: a hash of
a short value (a bare phone number) could be reversed by trying every number. The raw record
stays where it was, in the region's input topic, under that topic's retention and ACLs; the
source offset finds it. The reason of an audit record is redacted too: a residency refusal quotes
the event's `region` field, and a field can hold anything. So is every value a refusal message
quotes, before it is cut short (a number cut in half is no longer recognised).

Ids travel to the CRM unredacted (`session_id` is the insight's key), so an utterance whose
`session_id` or `event_id` holds personal data is refused. Of the trace headers only a well-formed
W3C `traceparent` passes unchanged; `tracestate` is free text and is redacted like any header.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import orjson

from edge.telemetry import trace_headers
from pipelines.base import BatchOutcome
from pipelines.cs_insights.redaction import PII_KINDS, RECOGNIZER_VERSION, redact, redact_bytes
from pipelines.events import SchemaViolation
from pipelines.intake import AcceptedEvent, EventIntake
from pipelines.records import ConsumedRecord, InboundRecord, OutboundRecord

SPEAKERS = ("customer", "agent")
LANGUAGES = ("ko", "en")
CHANNELS = ("call", "chat")
MAX_TEXT_CHARS = 10_000
"""Longest utterance accepted; a longer one is a transcript, not a turn."""


def redacted_quote(value: object, limit: int = 80) -> str:
    """A field's value as a refusal message shows it: redacted first, then cut to `limit`."""
    return f"{redact(repr(value)).text:.{limit}}"


def check_utterance_fields(event: dict[str, Any]) -> None:
    """The fields of `cs.utterance.v1` beyond the envelope. Messages never quote the text.

    Raises:
        SchemaViolation: naming the first field at fault.
    """
    session_id = event.get("session_id")
    if not isinstance(session_id, str) or not session_id or len(session_id) > 200:
        raise SchemaViolation("field 'session_id' must be a non-empty string of at most 200 characters")
    for name in ("session_id", "event_id"):
        kinds = redact(event[name]).kinds
        if kinds:
            raise SchemaViolation(
                f"field {name!r} holds personal data ({', '.join(kinds)}); ids are published, so they must be opaque"
            )
    for name, allowed in (("speaker", SPEAKERS), ("language", LANGUAGES), ("channel", CHANNELS)):
        if event.get(name) not in allowed:
            got = redacted_quote(event.get(name), 40)
            raise SchemaViolation(f"field {name!r} must be one of {', '.join(allowed)}, got {got}")
    text = event.get("text")
    if not isinstance(text, str):
        raise SchemaViolation(f"field 'text' must be a string, got {type(text).__name__}")
    if not text.strip():
        raise SchemaViolation("field 'text' is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise SchemaViolation(f"field 'text' has {len(text)} characters, the limit is {MAX_TEXT_CHARS}")


_TRACEPARENT = re.compile(rb"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def safe_trace_headers(headers: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The trace headers of a record that may travel on as they are: a well-formed `traceparent`
    (hex ids only), and `tracestate` redacted."""
    safe = []
    for key, value in trace_headers(headers):
        if key == "traceparent":
            if _TRACEPARENT.match(value):
                safe.append((key, value))
        else:
            safe.append((key, redact_bytes(value)[0]))
    return safe


def redact_record(record: InboundRecord) -> tuple[InboundRecord, Counter[str]]:
    """The record with its key, value and non-trace headers redacted, and the kinds found."""
    found: Counter[str] = Counter()

    def scrub(raw: bytes | None) -> bytes | None:
        if raw is None:
            return None
        clean, redaction = redact_bytes(raw)
        found.update(redaction.counts)
        return clean

    keep = {k for k, _ in safe_trace_headers(record.headers)}
    headers = [(k, v if k in keep else scrub(v) or b"") for k, v in record.headers]
    clean = ConsumedRecord(
        record.topic, record.partition, record.offset, scrub(record.key), scrub(record.value), headers, record.timestamp
    )
    return clean, found


class RedactingIntake(EventIntake):
    """`EventIntake` whose refusals carry redacted bytes (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.show = redacted_quote

    def screen(self, records: Sequence[InboundRecord], outcome: BatchOutcome) -> list[AcceptedEvent]:
        """As `EventIntake.screen`, with the reason of every audit record redacted as well: a
        residency refusal quotes the event's `region` field, which may hold anything."""
        first = len(outcome.outputs)
        accepted = super().screen(records, outcome)
        for i in range(first, len(outcome.outputs)):
            out = outcome.outputs[i]
            if out.topic == self.topics.audit:
                body = orjson.loads(out.value)
                body["reason"] = redact(body["reason"]).text
                outcome.outputs[i] = out._replace(value=orjson.dumps(body))
        return accepted

    def reject(self, outcome: BatchOutcome, record: InboundRecord, reason: str, detail: str) -> None:
        clean, found = redact_record(record)
        detail_redaction = redact(detail)
        found.update(detail_redaction.counts)
        super().reject(outcome, clean, reason, detail_redaction.text)
        dlq = outcome.outputs[-1]
        body = orjson.loads(dlq.value)
        body["value_redacted"] = True
        body["recognizer_version"] = RECOGNIZER_VERSION
        body["redactions"] = [{"kind": kind, "count": found[kind]} for kind in PII_KINDS if found[kind]]
        outcome.outputs[-1] = OutboundRecord(dlq.topic, dlq.key, orjson.dumps(body), dlq.headers)
