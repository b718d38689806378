"""The front door of the customer-service pipeline: the shared intake with stricter fields, and
every refused record redacted before it becomes a DLQ record, since a malformed utterance may
still hold personal data.

Nothing but redacted text leaves this pipeline, so every field it publishes is either checked
against a strict pattern or redacted:
- ids (`event_id`, and `session_id`, the insight's key) are opaque tokens: 1-128 characters of
  letters, digits and `._:-`, holding no personal data. Anything else is refused, and the
  refusal does not quote the id;
- `ts` is RFC 3339 to the letter; `speaker`, `language` and `channel` are one of their values;
- a refusal names the field and what it allows, never what it got (its type and length only);
- of the trace headers only a well-formed W3C `traceparent` travels on (`tracestate` is free
  text and is dropped).

A DLQ record keeps its usual contract (reason, detail, source topic/partition/offset, key,
value and headers in base64) but the key, the value, every header's name and value and the
detail are the redacted text of the original bytes, read as UTF-8 whatever they are (a byte that
is not UTF-8 becomes U+FFFD; control characters between digits do not hide them, see
`pipelines.cs_insights.spoken`), and the record says so (`value_redacted`, `recognizer_version`,
`redactions`). With `CS_INSIGHTS_DLQ_ORIGINALS=omitted` no copy is kept at all. No hash of the
original is kept either way: a hash of a short value (a bare phone number) could be reversed by
trying every number. The raw record stays where it was, in the region's input topic, under that
topic's retention and ACLs; the source offset finds it. The reason of an audit record is
redacted too.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import orjson

from edge.telemetry import trace_headers
from pipelines.cs_insights.recognizers import FEWEST_DIGITS
from pipelines.cs_insights.redaction import (
    PII_KINDS,
    RECOGNIZER_VERSION,
    find_pii,
    redact,
    redact_bytes,
)
from pipelines.cs_insights.settings import DlqOriginals
from pipelines.dlq import (
    DLQ_MAX_ORIGINAL_HEADER_BYTES,
    DLQ_MAX_ORIGINAL_KEY_BYTES,
    DLQ_MAX_ORIGINAL_VALUE_BYTES,
)
from pipelines.events import SchemaViolation
from pipelines.intake import AcceptedEvent, EventIntake
from pipelines.outcome import BatchOutcome
from pipelines.records import ConsumedRecord, InboundRecord, OutboundRecord

SPEAKERS = ("customer", "agent")
LANGUAGES = ("ko", "en")
CHANNELS = ("call", "chat")
MAX_TEXT_CHARS = 10_000
"""Longest utterance accepted; a longer one is a transcript, not a turn."""
MAX_ID_CHARS = 128
"""Longest `event_id` or `session_id`: room for a UUID with a prefix, not for a payload."""
_OPAQUE_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:\-]{{0,{MAX_ID_CHARS - 1}}}")
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:[Zz]|[+\-][0-9]{2}:[0-9]{2})")
_HEX_LETTERS = frozenset("abcdefABCDEF")
_DIGITS = re.compile(r"[0-9]")


def described(value: object) -> str:
    """What a refusal says about a value, since it must not quote it (no recognizer finds every
    name or number a field can hold): its type and size."""
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    return "null" if value is None else f"a {type(value).__name__}"


_ID_NUMBER = re.compile(r"[0-9](?:[0-9._:\-]*[0-9])?")


def id_personal_data(value: str) -> list[str]:
    """The kinds of personal data an id (an opaque token of letters, digits and `._:-`) holds.

    Only numbers can hide in such a token: an e-mail needs `@` or spaces, an address spaces or
    Hangul. So each run of digits and separators long enough to hold one is searched on its own.
    A number inside a run of hexadecimal (a UUID, a hash) is part of that run, not a phone
    number: digits bordered by a hex letter do not count."""
    kinds = set()
    for run in _ID_NUMBER.finditer(value):
        if len(_DIGITS.findall(run.group())) < FEWEST_DIGITS:
            continue
        for span in find_pii(run.group()):
            if span.kind == "PHONE" and run.group()[span.start : span.start + 2] == "82":
                continue  # a country code without its + is how numbers are said, not how ids are made
            start, end = run.start() + span.start, run.start() + span.end
            before = value[start - 1] if start else ""
            after = value[end] if end < len(value) else ""
            if before not in _HEX_LETTERS and after not in _HEX_LETTERS:
                kinds.add(span.kind)
    return [kind for kind in PII_KINDS if kind in kinds]


def check_utterance_fields(event: dict[str, Any]) -> None:
    """The fields of `cs.utterance.v1` beyond the envelope, and the envelope's ids and time to
    the letter. Messages quote none of them.

    Raises:
        SchemaViolation: naming the first field at fault.
    """
    for name in ("event_id", "session_id"):
        value = event.get(name)
        if not isinstance(value, str) or _OPAQUE_ID.fullmatch(value) is None:
            raise SchemaViolation(
                f"field {name!r} must be an opaque id of 1-{MAX_ID_CHARS} letters, digits and '._:-' "
                f"starting with a letter or digit, got {described(value)}"
            )
        kinds = id_personal_data(value)
        if kinds:
            raise SchemaViolation(
                f"field {name!r} holds personal data ({', '.join(kinds)}); ids are published, so they must be opaque"
            )
    if _RFC3339.fullmatch(event["ts"]) is None:
        raise SchemaViolation("field 'ts' must be an RFC 3339 timestamp such as 2026-11-22T09:00:00Z")
    for name, allowed in (("speaker", SPEAKERS), ("language", LANGUAGES), ("channel", CHANNELS)):
        if event.get(name) not in allowed:
            raise SchemaViolation(f"field {name!r} must be one of {', '.join(allowed)}, got {described(event.get(name))}")
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
    (hex ids only). `tracestate` is vendor free text, so it stays behind."""
    return [(k, v) for k, v in trace_headers(headers) if k == "traceparent" and _TRACEPARENT.match(v)]


def redact_record(record: InboundRecord) -> tuple[InboundRecord, Counter[str]]:
    """The record with its key, value and headers (names too) redacted, and the kinds found.
    A well-formed `traceparent` is kept as it is."""
    found: Counter[str] = Counter()

    def scrub(raw: bytes) -> bytes:
        clean, redaction = redact_bytes(raw)
        found.update(redaction.counts)
        return clean

    # Only what a DLQ record keeps is redacted: a 1 MiB value costs no more than its copy.
    keep = set(safe_trace_headers(record.headers))
    headers = [
        (k, v) if (k, v) in keep else (scrub(k.encode()).decode(), scrub(v[:DLQ_MAX_ORIGINAL_HEADER_BYTES]))
        for k, v in record.headers
    ]
    key = None if record.key is None else scrub(record.key[:DLQ_MAX_ORIGINAL_KEY_BYTES])
    value = None if record.value is None else scrub(record.value[:DLQ_MAX_ORIGINAL_VALUE_BYTES])
    clean = ConsumedRecord(record.topic, record.partition, record.offset, key, value, headers, record.timestamp)
    return clean, found


class RedactingIntake(EventIntake):
    """`EventIntake` whose refusals carry redacted bytes, or none (see the module docstring)."""

    def __init__(self, *args: Any, dlq_originals: DlqOriginals = "redacted", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.show = described
        self.dlq_originals = dlq_originals

    def screen(self, records: Sequence[InboundRecord], outcome: BatchOutcome) -> list[AcceptedEvent]:
        """As `EventIntake.screen`, with the reason of every audit record redacted as well."""
        first = len(outcome.outputs)
        accepted = super().screen(records, outcome)
        for i in range(first, len(outcome.outputs)):
            out = outcome.outputs[i]
            if out.topic == self.topics.audit and out.value is not None:
                body = orjson.loads(out.value)
                body["reason"] = redact(body["reason"]).text
                outcome.outputs[i] = out._replace(value=orjson.dumps(body))
        return accepted

    def reject(self, outcome: BatchOutcome, record: InboundRecord, reason: str, detail: str) -> None:
        """Send one record to the DLQ as a redacted copy, or with no copy (`dlq_originals`)."""
        if self.dlq_originals == "omitted":
            clean: InboundRecord = ConsumedRecord(
                record.topic, record.partition, record.offset, None, None, safe_trace_headers(record.headers), record.timestamp
            )
            found: Counter[str] = Counter()
        else:
            clean, found = redact_record(record)
        detail_redaction = redact(detail)
        found.update(detail_redaction.counts)
        super().reject(outcome, clean, reason, detail_redaction.text)
        dlq = outcome.outputs[-1]
        assert dlq.value is not None, "a DLQ record always has a value"
        body = orjson.loads(dlq.value)
        body["value_redacted"] = True
        body["original"] = self.dlq_originals
        # Sizes of the original, not of its redacted copy: the copy may be clipped, the original whole.
        size = len(record.value) if record.value is not None else 0
        body["original_value_bytes"] = size
        body["original_value_truncated"] = self.dlq_originals == "redacted" and size > DLQ_MAX_ORIGINAL_VALUE_BYTES
        body["recognizer_version"] = RECOGNIZER_VERSION
        body["redactions"] = [{"kind": kind, "count": found[kind]} for kind in PII_KINDS if found[kind]]
        outcome.outputs[-1] = OutboundRecord(dlq.topic, dlq.key, orjson.dumps(body), dlq.headers)
