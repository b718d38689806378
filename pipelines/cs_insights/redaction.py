"""Redaction of personal data from utterance text: the first thing the pipeline does with a text,
so that nothing downstream (features, results, the DLQ) ever holds the raw value.

Values are matched in the utterance's matching form (`pipelines.cs_insights.spoken`: number
words as digits, every separator as one, full-width and invisible characters folded) and masked
in the utterance as written: each value's original characters are replaced by a typed
placeholder (`[RRN]`, `[FRN]`, `[PHONE]`, `[CARD]`, `[EMAIL]`, `[ADDRESS]`), and the rest of the
text is published in its display form (`normalise_text`).

A value split across two utterances of one session is masked in both: the start of a value at
the end of an utterance is masked on its own (`recognizers.trailing_fragment`), and the next
utterance is matched joined to the end of the one before it (`previous`), so its part of the
value is found too.

What is recorded about a redaction is the kinds and how many of each, plus
`RECOGNIZER_VERSION`: never the values, their positions or a hash of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pipelines.cs_insights import recognizers
from pipelines.cs_insights.spoken import matching_forms

RECOGNIZER_VERSION = "kr-en-pii-2.0.0"
"""Version of the recognizers as a whole; bump it whenever what they find changes, so a redaction
log says which rules produced a published text. 2.0.0: spoken and transcribed forms (number
words, any separator, spoken e-mail, bare roads), values split across utterances."""

PII_KINDS = ("EMAIL", "RRN", "FRN", "CARD", "PHONE", "ADDRESS")
"""Placeholder kinds, in the order overlaps are settled: an e-mail wins over the digits inside it,
a registration number over a card-shaped run, a card over the phone-shaped groups inside it."""

SESSION_TAIL_CHARS = 100
"""How much of the end of an utterance is joined to the start of the next one of its session:
longer than any value (a full Korean address with its unit is about 60 characters)."""

_FORMAT_CHARS = re.compile(r"[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]")
_SPACES = re.compile(r"[^\S\n]+")


@dataclass(frozen=True)
class PiiSpan:
    """One personal-data value found in a text: `text[start:end]` is of `kind`."""

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
    """The display form of text that holds no personal data: NFKC (full-width digits and letters
    to ASCII, compatibility jamo composed), invisible format characters removed, runs of spaces
    and tabs collapsed. A published text is this form of what is left between placeholders."""
    text = unicodedata.normalize("NFKC", text)
    return _SPACES.sub(" ", _FORMAT_CHARS.sub("", text))


_DIGIT = re.compile(r"[0-9]")


def _candidates(text: str) -> Iterator[tuple[int, int, str]]:
    digits = len(_DIGIT.findall(text))
    if digits >= recognizers.FEWEST_DIGITS:
        for (start, end), kind in recognizers.registration_numbers(text):
            yield start, end, kind
    finders: list[tuple[Callable[[str], Iterator[tuple[int, int]]], str]] = [(recognizers.email_addresses, "EMAIL")]
    if digits >= recognizers.FEWEST_DIGITS:
        finders += [(recognizers.card_numbers, "CARD"), (recognizers.phone_numbers, "PHONE")]
    if digits:
        finders.append((recognizers.street_addresses, "ADDRESS"))
    for finder, kind in finders:
        for start, end in finder(text):
            yield start, end, kind


def _settle(spans: list[PiiSpan]) -> list[PiiSpan]:
    """Non-overlapping spans in text order: where spans overlap, the kind earlier in `PII_KINDS`
    wins, then the longer span."""
    priority = {kind: i for i, kind in enumerate(PII_KINDS)}
    ranked = sorted(spans, key=lambda s: (priority[s.kind], s.start - s.end, s.start))
    taken: list[PiiSpan] = []
    for span in ranked:
        if span.end > span.start and all(span.end <= t.start or span.start >= t.end for t in taken):
            taken.append(span)
    return sorted(taken, key=lambda s: s.start)


def _found(text: str) -> tuple[list[PiiSpan], PiiSpan | None]:
    """The values a text holds, and the start of one its end cut off (if any). Where number
    words read two ways, what either reading finds counts."""
    found: list[PiiSpan] = []
    fragment: PiiSpan | None = None
    for form in matching_forms(text):
        found += [PiiSpan(*form.original_span(start, end), kind) for start, end, kind in _candidates(form.text)]
        cut = recognizers.trailing_fragment(form.text)
        if fragment is None and cut is not None:
            fragment = PiiSpan(*form.original_span(*cut[0]), cut[1])
    return found, fragment


def find_pii(text: str) -> list[PiiSpan]:
    """The personal-data values of a text, as spans of the text as written, in text order."""
    return _settle(_found(text)[0])


_EN_NUMBER_WORDS = "zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|teen|ty|hundred|thousand"
_ENDS_WITH_A_NUMBER = re.compile(
    rf"(?:[0-9]|(?<![가-힣])[공영일이삼사오육륙칠팔구십백천만]+|(?<![A-Za-z])(?:{_EN_NUMBER_WORDS}))"
    r"(?: ?[가-힣]{1,4})?[\s.,!?~)\]\-]*$",
    re.IGNORECASE,
)
"""An utterance that ends with a number, in digits or words: the rest of it may come next."""
_MAY_CONTINUE = re.compile(
    r"(?:[0-9@]|(?<![가-힣])[공영일이삼사오육륙칠팔구십백천만]+|[로길동리가구시군도읍면점닷]|골뱅이|앳"
    rf"|(?<![A-Za-z])(?:at|dot|underscore|dash|{_EN_NUMBER_WORDS})|[A-Z][a-z]*)"
    r"(?: ?[가-힣]{1,4})?[\s.,!?~)\]\-]*$"
    rf"|(?:{recognizers.EMAIL_CUE})[^.?!]{{0,40}}$",
)
"""How an utterance ends when a value may go on in the next one: a digit or a number word, an
at-sign or at-word, a dot-word, a Korean place suffix, a capitalised word (an English street),
or anything just after "email" (the start of a mailbox).
Other endings ("...싶어요.", "thanks") are not joined to the next turn at all."""


_DIGITS_IN_ALL = {"RRN": (13, 13), "FRN": (13, 13), "PHONE": (9, 12), "CARD": (15, 19)}
"""How many digits a whole value of each kind has (a phone number with its 82, a card of any issuer)."""
_FIRST_NUMBER = re.compile(r"[0-9](?:[0-9 \-]*[0-9])?")
_NUMBER_REACH = 40
"""How far into a turn the rest of a number begun in the turn before may start."""


def _continued(previous: str, text: str) -> list[PiiSpan]:
    """The parts of `text` that complete a value begun at the end of `previous`: a value that runs
    across the two once they are joined, or else, after the start of a number ("앞자리는
    900101"), the first number of `text` with the digits that start lacks ("뒷자리는 1234567")."""
    if _MAY_CONTINUE.search(previous, max(0, len(previous) - 48)) is None:
        return []
    tail = previous[-SESSION_TAIL_CHARS:]
    joined = f"{tail} {text[:SESSION_TAIL_CHARS]}"
    boundary = len(tail) + 1
    crossing = [
        PiiSpan(0, span.end - boundary, span.kind)
        for span in _found(joined)[0]
        if span.start < len(tail) and span.end > boundary
    ]
    if crossing or _ENDS_WITH_A_NUMBER.search(tail, max(0, len(tail) - 48)) is None:
        return crossing
    tail_form = matching_forms(tail)[0]
    fragment = recognizers.trailing_fragment(tail_form.text)
    if fragment is None or fragment[1] not in _DIGITS_IN_ALL:
        return []
    (start, end), kind = fragment
    have = sum(ch.isdigit() for ch in tail_form.text[start:end])
    form = matching_forms(text[:SESSION_TAIL_CHARS])[0]
    number = _FIRST_NUMBER.search(form.text, 0, _NUMBER_REACH + 20)
    if number is None or number.start() > _NUMBER_REACH:
        return []
    digits = re.sub(r"[^0-9]", "", number.group())
    low, high = _DIGITS_IN_ALL[kind]
    if not low <= have + len(digits) <= high or (kind in ("RRN", "FRN") and have == 6 and digits[0] not in "12345678"):
        return []
    return [PiiSpan(*form.original_span(*number.span()), kind)]


def pii_spans(text: str, previous: str = "") -> list[PiiSpan]:
    """What `redact` masks: the values of the text, the parts of it that complete a value begun
    at the end of `previous`, and the start of a value cut off by its end; spans of the text as
    written, not overlapping, in text order."""
    found, fragment = _found(text)
    if previous:
        found += _continued(previous, text)
    settled = _settle(found)
    # The start of a value counts only where no whole value lies: "01012345678" is a phone
    # number, not a birth date and the beginning of a registration number.
    if fragment is not None and all(fragment.end <= s.start or fragment.start >= s.end for s in settled):
        settled = sorted([*settled, fragment], key=lambda s: s.start)
    return settled


def redact(text: str, previous: str = "") -> Redaction:
    """The text with every personal-data value replaced by `[KIND]`, the rest in display form.

    Args:
        previous: the session's utterance before this one (its end is joined to this one's
            start, so a value split across the two is found); empty for none.
    """
    spans = pii_spans(text, previous)
    if not spans:
        return Redaction(normalise_text(text))
    parts: list[str] = []
    cursor = 0
    for span in spans:
        parts += [normalise_text(text[cursor : span.start]), f"[{span.kind}]"]
        cursor = span.end
    parts.append(normalise_text(text[cursor:]))
    return Redaction("".join(parts), dict(Counter(span.kind for span in spans)))


_JSON_ESCAPE = re.compile(
    r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})|\\([\"\\/bfnrt])"
)
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _unescape(match: re.Match[str]) -> str:
    if match.group(4) is not None:
        return _SIMPLE_ESCAPES[match.group(4)]
    if match.group(3) is not None:
        code = int(match.group(3), 16)
        return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)
    high, low = int(match.group(1), 16), int(match.group(2), 16)
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def redact_bytes(raw: bytes) -> tuple[bytes, Redaction]:
    """Redact bytes that may not even be valid JSON (a record bound for the DLQ). They are read as
    UTF-8 (undecodable bytes become U+FFFD, so no raw byte survives unread) and every JSON escape
    is expanded first (`\\uXXXX`, `\\n`, `\\/`...), so an escaped Korean address is seen as
    Korean and a number broken by an escaped line break is seen whole. The result is the
    redacted text, not JSON."""
    text = _JSON_ESCAPE.sub(_unescape, raw.decode("utf-8", errors="replace"))
    redaction = redact(text)
    return redaction.text.encode("utf-8"), redaction
