"""Test helper: search records for personal data in every form a reader could see it, so that
the customer-service tests can say "no raw value anywhere" and mean it."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import orjson

from pipelines.cs_insights.redaction import normalise_text
from pipelines.cs_insights.spoken import matching_form


class SeenRecord(Protocol):
    """A consumed or produced record: its topic, key, value and headers."""

    @property
    def topic(self) -> str: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Any: ...


def needles(values: Iterable[str]) -> set[str]:
    """Each value as written, normalised (full-width digits as ASCII), and as bare digits when
    long, the digits it says in words included ("공일공 일이삼사 오육칠팔" is 01012345678)."""
    out = set()
    for value in values:
        out |= {value, normalise_text(value)}
        for form in (normalise_text(value), matching_form(value).text):
            digits = re.sub(r"[^0-9]", "", form)
            if len(digits) >= 7:
                out.add(digits)
    return out


def views(record: SeenRecord) -> Iterator[str]:
    """Every text a reader of the record could see: key, value, header names and values, and any
    base64 inside a JSON value (DLQ copies, original headers), each also normalised."""
    raws = [raw for raw in (record.key, record.value, *(v for _, v in record.headers)) if raw is not None]
    strings: list[str] = [k for k, _ in record.headers]
    try:
        stack: list[Any] = [orjson.loads(record.value)] if record.value is not None else []
    except orjson.JSONDecodeError:
        stack = []
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for k, v in item.items():
                if k.endswith("_b64") and isinstance(v, str):
                    raws.append(base64.b64decode(v))
                elif k == "original_headers":
                    raws += [base64.b64decode(b) for _, b in v]
                    strings += [name for name, _ in v]
                else:
                    stack.append(v)
        elif isinstance(item, list):
            stack += item
        elif isinstance(item, str):
            strings.append(item)
    decoded = [raw.decode("utf-8", errors="replace") for raw in raws]
    # UTF-16 or UTF-32 text puts NULs between ASCII digits: read it without them too.
    decoded += [raw.replace(b"\x00", b"").decode("utf-8", errors="replace") for raw in raws if b"\x00" in raw]
    for text in [*decoded, *strings]:
        yield text
        yield normalise_text(text)


def leaks(records: Iterable[SeenRecord], searched: set[str]) -> list[tuple[str, str]]:
    """(needle, topic) for every needle found in any view of any record."""
    return [(needle, record.topic) for record in records for view in views(record) for needle in searched if needle in view]
