"""The form of an utterance that personal data is matched in: written the way the recognizers
expect, whatever way the caller said it or the speech-to-text engine wrote it.

Three rewrites, each keeping the map back to the original characters (`MappedText`):
1. `fold_compatibility`: NFKC (full-width digits and letters, circled and superscript digits),
   any script's decimal digits as ASCII, invisible format, control and variation characters
   removed (a zero-width space or an emoji keycap must not split a number), every run of
   whitespace, line breaks included, as one space.
2. `spoken_numbers`: number words as digits. English digit words ("oh one oh"), pairs
   ("twelve thirty four"), "double"/"triple", hundreds and thousands ("two hundred twenty one");
   Korean Sino numerals read digit by digit ("공일공") or by place ("천이백삼십사"), as whole
   words or before a particle ("공일공에", "오육칠팔이에요"). Words of one run (separated by
   spaces only) are written together: "공일공 일이삼사" is "0101234".
3. `join_digit_groups`: every separator between two digits (spaced hyphens, dots, slashes,
   underscores, a line break, the spoken "dash" or the Korean "에"/"다시" a caller says for a
   hyphen) as one hyphen. A comma stays: "110, 101동" is a building and its block, and the
   recognizers that take "010, 1234, 5678" say so themselves.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from typing import NamedTuple

from pipelines.cs_insights.mapped_text import MappedText

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_DROPPED = frozenset(
    [chr(c) for c in range(0xFE00, 0xFE10)] + ["\u20e3", "\u034f", "\u115f", "\u1160", "\u3164", "\uffa0"]
)
"""Variation selectors, the combining keycap, and the Hangul fillers: no meaning of their own."""


@cache
def _special_characters() -> re.Pattern[str]:
    """Non-ASCII characters that folding removes or rewrites even in NFKC text: format (Cf) and
    C1 control characters, surrogates, private use, the `_DROPPED` ones, and decimal digits of
    other scripts, Hanja numerals. Built once, from this Python's Unicode tables."""
    ranges: list[list[int]] = []
    for code in range(0x80, 0x110000):
        if unicodedata.category(chr(code)) in ("Cf", "Cc", "Cs", "Co") or chr(code) in _DROPPED:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    members = "".join(f"{chr(a)}-{chr(b)}" if b > a else re.escape(chr(a)) for a, b in ranges)
    return re.compile(f"[{members}{''.join(_HANJA_DIGITS)}]|(?![0-9])\\d")


def warm_up() -> None:
    """Build the tables folding needs now (half a second), not on the first utterance."""
    _special_characters()


def _continues_segment(ch: str) -> bool:
    """Whether NFKC may compose `ch` with the character before it (combining marks, Hangul
    medial and final jamo), so the two must be normalised together."""
    code = ord(ch)
    return unicodedata.combining(ch) != 0 or 0x1160 <= code <= 0x11FF or 0xD7B0 <= code <= 0xD7FF


def _segments(run: str) -> Iterator[tuple[int, int]]:
    start = 0
    for i in range(1, len(run)):
        if not _continues_segment(run[i]):
            yield start, i
            start = i
    yield start, len(run)


_HANJA_DIGITS = dict(zip("〇零一二三四五六七八九", "00123456789", strict=True))
"""Sino-Korean numerals written in Hanja, as a transcript may render a number read out."""


def _fold(segment: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFKC", segment):
        if ch in _DROPPED or unicodedata.category(ch) in ("Cf", "Cc", "Cs", "Co") and not ch.isspace():
            continue
        digit = unicodedata.decimal(ch, None) if not ch.isascii() else None
        out.append(str(digit) if digit is not None else _HANJA_DIGITS.get(ch, ch))
    return "".join(out)


_SPACE_OR_CONTROL = re.compile(r"(?:\s|[\x00-\x08\x0e-\x1f\x7f])+")
_ODD_SPACE_OR_CONTROL = re.compile(r"[^\S ]|  |[\x00-\x08\x0e-\x1f\x7f]")


def fold_compatibility(text: str) -> MappedText:
    """Rewrite 1 (see the module docstring)."""
    mapped = MappedText.of(text)
    # Most utterances are plain ASCII or Hangul in NFKC already: nothing to fold.
    if not text.isascii() and not (unicodedata.is_normalized("NFKC", text) and _special_characters().search(text) is None):
        edits = []
        for run in _NON_ASCII.finditer(text):
            for start, end in _segments(run.group()):
                segment = run.group()[start:end]
                folded = _fold(segment)
                if folded != segment:
                    edits.append((run.start() + start, run.start() + end, folded))
        mapped = mapped.rewrite(edits)
    if _ODD_SPACE_OR_CONTROL.search(mapped.text) is None:
        return mapped
    edits = []
    for m in _SPACE_OR_CONTROL.finditer(mapped.text):
        wanted = " " if any(ch.isspace() for ch in m.group()) else ""
        if m.group() != wanted:
            edits.append((m.start(), m.end(), wanted))
    return mapped.rewrite(edits)


# --- number words -----------------------------------------------------------------------------
_EN_UNITS = {"zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
             "seven": 7, "eight": 8, "nine": 9}
_EN_TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
             "seventeen": 17, "eighteen": 18, "nineteen": 19}
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_EN_SCALES = {"hundred": 100, "thousand": 1000}
_EN_REPEATS = {"double": 2, "triple": 3}
_EN_WORDS = {**_EN_UNITS, **_EN_TEENS, **_EN_TENS, **_EN_SCALES, **_EN_REPEATS}

_KO_DIGITS = {"공": 0, "영": 0, "일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "륙": 6, "칠": 7, "팔": 8, "구": 9}
_KO_PLACES = {"십": 10, "백": 100, "천": 1000}
_KO_PARTICLES = (
    "이에요|이예요|이에여|이고요|이고|이요|이랑|이라고|이며|이죠|이거든요|이니까|입니다|인데요|인데|이야|이나|"
    "번이에요|번이요|번입니다|번으로|번|예요|예여|에요|에여|고요|으로|로|까지|부터|하고|라고|니까|"
    "은|는|을|를|에|의|도|랑|와|과|고|며|죠|요|야|나"
)
"""What may follow a number said in Korean: the copula and the particles. "팔이이요" reads as
82 then "이요", or as 822 then "요"; both readings are matched (see `matching_forms`)."""


def _korean_number_word(greedy: bool) -> re.Pattern[str]:
    syllables = "+" if greedy else "+?"
    return re.compile(
        r"(?<![0-9A-Za-z가-힣])[공영일이삼사오육륙칠팔구십백천만]" + syllables + r"(?=(?:" + _KO_PARTICLES + r")?(?![가-힣]))"
    )


_NUMERAL_SYLLABLES = frozenset("공영일이삼사오육륙칠팔구십백천만")
_KOREAN_NUMBER = _korean_number_word(greedy=False)
_KOREAN_NUMBER_GREEDY = _korean_number_word(greedy=True)
"""Korean number words read as few syllables as a particle allows ("오천사백이요": 5400, then
"이요"), or as many ("오천사백이요": 5402, then "요"). Both are grammatical: both are matched."""
_ENGLISH_WORD = re.compile(r"(?<![A-Za-z'])[A-Za-z]+(?![A-Za-z'])")


class _Word(NamedTuple):
    """One number word of a text: where it is, and the word (lower case if English)."""

    start: int
    end: int
    word: str
    korean: bool


def _number_words(text: str, greedy: bool) -> list[_Word]:
    """Every English number word and Korean numeral word of a text, in text order."""
    words = [
        _Word(m.start(), m.end(), word, False)
        for m in _ENGLISH_WORD.finditer(text)
        if (word := m.group().lower()) in _EN_WORDS
    ]
    if not text.isascii():
        korean = _KOREAN_NUMBER_GREEDY if greedy else _KOREAN_NUMBER
        words += [_Word(m.start(), m.end(), m.group(), True) for m in korean.finditer(text)]
        words.sort()
    return words


def _korean_value(word: str) -> str | None:
    """A Korean numeral word as digits: read digit by digit, or by place when it has 십/백/천/만."""
    if not any(ch in _KO_PLACES or ch == "만" for ch in word):
        return "".join(str(_KO_DIGITS[ch]) for ch in word)
    total = section = 0
    digit: int | None = None
    last_place = 10_000
    for ch in word:
        if ch in _KO_DIGITS:
            if digit is not None or _KO_DIGITS[ch] == 0:
                return None
            digit = _KO_DIGITS[ch]
        elif ch in _KO_PLACES:
            if _KO_PLACES[ch] >= last_place:
                return None
            last_place = _KO_PLACES[ch]
            section += (1 if digit is None else digit) * _KO_PLACES[ch]
            digit = None
        else:  # 만: everything so far counts ten thousands
            if total:
                return None
            total, section, digit, last_place = (section + (digit or 0) or 1) * 10_000, 0, None, 10_000
    return str(total + section + (digit or 0))


def _english_value(words: list[str]) -> str | None:
    """English number words (one run) as digits, or None when they do not read as a number."""
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if word in _EN_REPEATS:
            if nxt not in _EN_UNITS:
                return None
            out.append(str(_EN_UNITS[nxt]) * _EN_REPEATS[word])
            i += 2
        elif word in _EN_UNITS and nxt in _EN_SCALES and _EN_UNITS[word] > 0:
            value, i = _english_place_value(words, i)
            out.append(str(value))
        elif word in _EN_TENS:
            if nxt in _EN_UNITS and _EN_UNITS[nxt] > 0 and nxt not in ("o", "oh"):
                out.append(str(_EN_TENS[word] + _EN_UNITS[nxt]))
                i += 2
            else:
                out.append(str(_EN_TENS[word]))
                i += 1
        elif word in _EN_TEENS or word in _EN_UNITS:
            out.append(str(_EN_TEENS.get(word, _EN_UNITS.get(word))))
            i += 1
        else:  # a scale word with no digit before it
            return None
    return "".join(out)


def _english_place_value(words: list[str], i: int) -> tuple[int, int]:
    """'two thousand three hundred forty five' from words[i]: its value and the next index."""
    total = 0
    while i + 1 < len(words) and words[i] in _EN_UNITS and words[i + 1] in _EN_SCALES:
        scale = _EN_SCALES[words[i + 1]]
        if total and scale >= 1000:
            break
        total += _EN_UNITS[words[i]] * scale
        i += 2
    if i < len(words) and words[i] in _EN_TENS:
        total += _EN_TENS[words[i]]
        i += 1
        if i < len(words) and words[i] in _EN_UNITS and _EN_UNITS[words[i]] > 0 and words[i] not in ("o", "oh"):
            total += _EN_UNITS[words[i]]
            i += 1
    elif i < len(words) and (words[i] in _EN_TEENS or (words[i] in _EN_UNITS and words[i] not in ("o", "oh"))):
        total += _EN_TEENS.get(words[i], _EN_UNITS.get(words[i], 0))
        i += 1
    return total, i


def _runs(text: str, greedy: bool) -> Iterator[list[_Word]]:
    """Number words in runs: words separated by spaces only (or an English tens-unit hyphen)."""
    run: list[_Word] = []
    for w in _number_words(text, greedy):
        if run:
            gap = text[run[-1].end : w.start]
            tens_unit = gap == "-" and not run[-1].korean and run[-1].word in _EN_TENS
            if gap not in ("", " ") and not tens_unit:
                yield run
                run = []
        run.append(w)
    if run:
        yield run


def _beside_digits(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 2) : start].strip()
    after = text[end : end + 2].strip()
    return (before[-1:].isdigit()) or (after[:1].isdigit())


def _run_value(text: str, run: list[_Word]) -> str | None:
    first = run[0]
    alone = len(run) == 1 and (len(first.word) == 1 or first.word == "oh")
    if alone and not _beside_digits(text, first.start, first.end):
        return None  # one syllable (사는 곳, 오는 길) or "oh" is a number only beside other digits
    if alone and first.korean and "가" <= text[first.end : first.end + 1] <= "힣":
        return None  # and a syllable before a particle is the particle's ("900101 이고요")
    if not any(w.korean for w in run):
        return _english_value([w.word for w in run])
    # Korean words one by one; English words of the run (a caller may switch) as their own run.
    values: list[str | None] = []
    english: list[str] = []
    for w in run:
        if w.korean:
            if english:
                values.append(_english_value(english))
                english = []
            values.append(_korean_value(w.word))
        else:
            english.append(w.word)
    if english:
        values.append(_english_value(english))
    return None if any(v is None for v in values) else "".join(v for v in values if v is not None)


def _number_edits(text: str, greedy: bool) -> tuple[list[tuple[int, int, str]], bool]:
    """The edits of rewrite 2, and whether a greedy reading could differ: a Korean number word
    read before a particle that starts with a numeral syllable ("팔" then "이요")."""
    edits = []
    ambiguous = False
    for run in _runs(text, greedy):
        value = _run_value(text, run)
        if value is not None:
            edits.append((run[0].start, run[-1].end, value))
            ambiguous |= run[-1].korean and text[run[-1].end : run[-1].end + 1] in _NUMERAL_SYLLABLES
    return edits, ambiguous


def spoken_numbers(mapped: MappedText, *, greedy: bool = False) -> MappedText:
    """Rewrite 2 (see the module docstring); `greedy` reads Korean number words as far as a
    particle allows."""
    return mapped.rewrite(_number_edits(mapped.text, greedy)[0])


# --- separators between digit groups ----------------------------------------------------------
_SEPARATOR_CHARS = "\\-‐‑‒–—―−⁃ー_/.·~\\\\*+:=|、。ㅡᅳ"
"""What stands between digit groups in a transcript or a chat: hyphens and dashes of every kind
(the minus sign, the katakana long vowel, the Hangul vowel ㅡ typed for a dash), slashes, dots,
underscores, and the odd `*`, `+`, `:`, `=`, `|`."""
_DIGIT_GAP = re.compile(
    rf"(?<=[0-9])(?:(?: ?[{_SEPARATOR_CHARS}]){{1,3}} ?|(?: ?(?:에|의|다시|대시|하이픈|dash|hyphen)(?![가-힣A-Za-z]) ?)| )(?=[0-9])",
    re.IGNORECASE,
)
_SINGLE_DIGITS = re.compile(r"(?<![0-9])[0-9](?:(?:-|, ?)[0-9](?![0-9])){3,}")
"""Four or more digits said one at a time ("0 1 0 1 2 ...", "zero, one, zero, ..."): one number."""


def join_digit_groups(mapped: MappedText) -> MappedText:
    """Rewrite 3 (see the module docstring); digits said one at a time become one group."""
    joined = mapped.rewrite((m.start(), m.end(), "-") for m in _DIGIT_GAP.finditer(mapped.text) if m.group() != "-")
    edits = []
    for m in _SINGLE_DIGITS.finditer(joined.text):
        edits += [(m.start() + g.start(), m.start() + g.end(), "") for g in re.finditer(r"[^0-9]+", m.group())]
    return joined.rewrite(edits)


def matching_forms(text: str) -> list[MappedText]:
    """All three rewrites: the text personal data is matched in. Two forms when Korean number
    words can be read two ways (see `_KOREAN_NUMBER_GREEDY`), else one."""
    folded = fold_compatibility(text)
    edits, ambiguous = _number_edits(folded.text, greedy=False)
    forms = [join_digit_groups(folded.rewrite(edits))]
    if ambiguous:
        greedy = join_digit_groups(folded.rewrite(_number_edits(folded.text, greedy=True)[0]))
        if greedy.text != forms[0].text:
            forms.append(greedy)
    return forms


def matching_form(text: str) -> MappedText:
    """The first of `matching_forms`."""
    return matching_forms(text)[0]
