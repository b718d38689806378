"""Redaction of personal data from utterance text: the first thing the pipeline does with a text,
so that nothing downstream (features, results, the DLQ) ever holds the raw value.

Each value found is replaced by a typed placeholder (`[RRN]`, `[FRN]`, `[PHONE]`, `[CARD]`,
`[EMAIL]`, `[ADDRESS]`). What is recorded about a redaction is the kinds and how many of each,
plus `RECOGNIZER_VERSION`: never the values, their positions or a hash of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from pipelines.cs_insights import recognizers

RECOGNIZER_VERSION = "kr-en-pii-1.0.0"
"""Version of the recognizers as a whole; bump it whenever what they find changes, so a redaction
log says which rules produced a published text."""

PII_KINDS = ("EMAIL", "RRN", "FRN", "CARD", "PHONE", "ADDRESS")
"""Placeholder kinds, in the order overlaps are settled: an e-mail wins over the digits inside it,
a registration number over a card-shaped run, a card over the phone-shaped groups inside it."""

_FORMAT_CHARS = re.compile(r"[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]")
_SPACES = re.compile(r"[^\S\n]+")


@dataclass(frozen=True)
class PiiSpan:
    """One personal-data value found in a normalised text: `text[start:end]` is of `kind`."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Redaction:
    """A text with every value found replaced, and how many values of each kind were replaced."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def kinds(self) -> list[str]:
        """The kinds redacted, in `PII_KINDS` order."""
        return [kind for kind in PII_KINDS if kind in self.counts]

    def summary(self) -> list[dict[str, str | int]]:
        """What results and logs may say about the redaction: kinds and counts, nothing else."""
        return [{"kind": kind, "count": self.counts[kind]} for kind in self.kinds]


def normalise_text(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII, compatibility jamo composed), invisible
    format characters removed (a zero-width space must not split a phone number), runs of
    spaces and tabs collapsed. The published text is this normalised form, redacted."""
    text = unicodedata.normalize("NFKC", text)
    return _SPACES.sub(" ", _FORMAT_CHARS.sub("", text))


def _candidates(text: str) -> Iterator[PiiSpan]:
    for (start, end), kind in recognizers.registration_numbers(text):
        yield PiiSpan(start, end, kind)
    for finder, kind in (
        (recognizers.email_addresses, "EMAIL"),
        (recognizers.card_numbers, "CARD"),
        (recognizers.phone_numbers, "PHONE"),
        (recognizers.street_addresses, "ADDRESS"),
    ):
        for start, end in finder(text):
            yield PiiSpan(start, end, kind)


def find_pii(text: str) -> list[PiiSpan]:
    """Non-overlapping personal-data spans of a normalised text, in text order. Where candidates
    overlap, the kind earlier in `PII_KINDS` wins, then the longer span."""
    priority = {kind: i for i, kind in enumerate(PII_KINDS)}
    ranked = sorted(_candidates(text), key=lambda s: (priority[s.kind], s.start - s.end, s.start))
    taken: list[PiiSpan] = []
    for span in ranked:
        if span.end > span.start and all(span.end <= t.start or span.start >= t.end for t in taken):
            taken.append(span)
    return sorted(taken, key=lambda s: s.start)


def redact(text: str) -> Redaction:
    """The normalised text with every personal-data value replaced by `[KIND]`."""
    normalised = normalise_text(text)
    spans = find_pii(normalised)
    if not spans:
        return Redaction(normalised)
    parts: list[str] = []
    cursor = 0
    for span in spans:
        parts += [normalised[cursor : span.start], f"[{span.kind}]"]
        cursor = span.end
    parts.append(normalised[cursor:])
    return Redaction("".join(parts), dict(Counter(span.kind for span in spans)))


_JSON_ESCAPE = re.compile(r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})")


def _unescape(match: re.Match[str]) -> str:
    if match.group(3) is not None:
        code = int(match.group(3), 16)
        return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)
    high, low = int(match.group(1), 16), int(match.group(2), 16)
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def redact_bytes(raw: bytes) -> tuple[bytes, Redaction]:
    """Redact bytes that may not even be valid JSON (a record bound for the DLQ). They are read as
    UTF-8 (undecodable bytes become U+FFFD, so no raw byte survives unread) and JSON `\\uXXXX`
    escapes are expanded first, so an escaped Korean address is seen as Korean."""
    text = _JSON_ESCAPE.sub(_unescape, raw.decode("utf-8", errors="replace"))
    redaction = redact(text)
    return redaction.text.encode("utf-8"), redaction
