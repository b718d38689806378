"""Recognizers of Korean and English personal data in utterance text: one finder per kind, each a
pattern plus the validity check (a real date, a Luhn check digit) that keeps ordinary numbers out.

Every finder takes text already normalised by `pipelines.cs_insights.redaction.normalise_text`
(NFKC, so full-width digits are ASCII) and yields `(start, end)` spans. Digits are `[0-9]`, never
`\\d`, so the patterns mean the same whatever script surrounds them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

Span = tuple[int, int]

_SEP = r"[ .\-‐‑–—]"
"""One separator a person or a speech-to-text engine puts between digit groups."""

# --- Resident (G 1-4) and foreigner (G 5-8) registration numbers: YYMMDD-GNNNNNN -------------
_REGISTRATION = re.compile(
    r"(?<![0-9])([0-9]{2})([0-9]{2})([0-9]{2})(?: ?[\-‐‑–—] ?| )?([1-8])[0-9]{6}(?![0-9])"
)
_CENTURY = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000}


def registration_numbers(text: str) -> Iterator[tuple[Span, str]]:
    """RRN and FRN spans with their kind. The birth date must exist in the century its gender
    digit implies; the check digit is not required, because numbers issued since October 2020
    have none."""
    for m in _REGISTRATION.finditer(text):
        yy, mm, dd, gender = m.group(1), m.group(2), m.group(3), m.group(4)
        if birth_date_valid(yy, mm, dd, gender):
            yield m.span(), "RRN" if gender in "1234" else "FRN"


def birth_date_valid(yy: str, mm: str, dd: str, gender: str) -> bool:
    """Whether YYMMDD is a calendar date in the century that the gender digit says."""
    try:
        date(_CENTURY[gender] + int(yy), int(mm), int(dd))
    except (KeyError, ValueError):
        return False
    return True


# --- Phone numbers: mobile 01X, Seoul 02, area codes 03X-06X, internet phone 070 ------------
_PREFIX = r"(?:(?:\+|00)82[ .\-]?(?:\(0\) ?)?|\(?0)"
_PHONE = re.compile(
    rf"(?<![0-9+])(?:{_PREFIX}(?:1[016789]|2|[3-6][1-5])\)?{_SEP}?[0-9]{{3,4}}"
    rf"|{_PREFIX}70\)?{_SEP}?[0-9]{{4}}){_SEP}?[0-9]{{4}}(?![0-9])"
)


def phone_numbers(text: str) -> Iterator[Span]:
    """Korean mobile and landline numbers, with or without separators, national or +82."""
    for m in _PHONE.finditer(text):
        yield m.span()


# --- Payment cards: 13-19 digits, Luhn-valid, contiguous or grouped ------------------------
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{1,19}(?:[ \-‐‑–—][0-9]{1,19})*(?![0-9])")
_CARD_FIRST_DIGITS = frozenset("234569")
"""Issuer ranges: 2 and 5 (Mastercard), 3 (Amex, JCB, Diners), 4 (Visa), 6 (Discover,
UnionPay), 9 (Korean domestic-only cards)."""


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check over a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_shaped(groups: list[str]) -> bool:
    digits = "".join(groups)
    if not 13 <= len(digits) <= 19 or digits[0] not in _CARD_FIRST_DIGITS or len(set(digits)) == 1:
        return False
    sizes = [len(g) for g in groups]
    grouped_by_four = all(s == 4 for s in sizes[:-1]) and 1 <= sizes[-1] <= 4
    amex_or_diners = sizes in ([4, 6, 5], [4, 6, 4])
    return (len(groups) == 1 or grouped_by_four or amex_or_diners) and luhn_valid(digits)


def card_numbers(text: str) -> Iterator[Span]:
    """Card numbers inside runs of digit groups; the longest valid sub-run wins, so a card
    followed by another number is still found."""
    for run in _DIGIT_RUN.finditer(text):
        groups = [(g.start() + run.start(), g.end() + run.start(), g.group()) for g in re.finditer(r"[0-9]+", run.group())]
        i = 0
        while i < len(groups):
            for j in range(min(len(groups), i + 5), i, -1):
                if _card_shaped([g[2] for g in groups[i:j]]):
                    yield groups[i][0], groups[j - 1][1]
                    i = j
                    break
            else:
                i += 1


# --- E-mail addresses, written or spoken ("minsu at naver dot com", "minsu 골뱅이 naver.com") ---
_LOCAL = r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*"
_EMAIL = re.compile(rf"{_LOCAL}@(?:[A-Za-z0-9\-]+\.)+[A-Za-z]{{2,}}(?![A-Za-z0-9])")
_TLD = r"(?:com|net|org|kr|io|co|ac|go|or|ne|re|edu|gov|biz|info)"
_DOT = r"(?: ?\. ?| dot )"
_SPOKEN_EMAIL = re.compile(
    rf"({_LOCAL}) ?(?:골뱅이|\(at\)|\[at\]|( at )) ?([A-Za-z0-9\-]+)(?:{_DOT}{_TLD}){{1,2}}(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_MAIL_PROVIDERS = frozenset(
    ("gmail", "naver", "daum", "hanmail", "kakao", "nate", "outlook", "hotmail", "yahoo", "icloud", "korea", "empal")
)
_NOT_A_MAILBOX = frozenset((
    "it", "that", "this", "me", "us", "them", "him", "her", "you", "there", "here", "was", "is", "are", "were",
    "look", "looked", "looking", "online", "site", "website", "shop", "shopping", "cheaper", "available",
    "signed", "sign", "log", "logged", "up", "in", "on",
))
"""Words before a spoken "at" that say "a website", not "a mailbox": "I looked at naver dot com"."""


def email_addresses(text: str) -> Iterator[Span]:
    """E-mail addresses as written, and as a caller reads them out. A plain spoken "at" counts
    only before a known mail provider, and not after words like "looked" or "it"."""
    for m in _EMAIL.finditer(text):
        yield m.span()
    for m in _SPOKEN_EMAIL.finditer(text):
        if m.group(2) is not None and (
            m.group(3).lower() not in _MAIL_PROVIDERS or m.group(1).lower() in _NOT_A_MAILBOX
        ):
            continue
        yield m.span()


# --- Street addresses: Korean road-name and lot-number addresses, English street addresses ---
_SIDO = (
    "서울특별시|서울시|서울|부산광역시|부산시|부산|대구광역시|대구시|대구|인천광역시|인천시|인천|"
    "광주광역시|광주시|광주|대전광역시|대전시|대전|울산광역시|울산시|울산|세종특별자치시|세종시|세종|"
    "경기도|경기|강원특별자치도|강원도|강원|충청북도|충북|충청남도|충남|전북특별자치도|전라북도|전북|"
    "전라남도|전남|경상북도|경북|경상남도|경남|제주특별자치도|제주도|제주"
)
_DISTRICT = r"[가-힣]{1,6}(?:시|군|구)"
_ROAD = r"[가-힣0-9]{1,12}(?:로|길)(?: ?[0-9]{1,4}번?(?:길|가길))?"
_LOT = r"[가-힣0-9]{1,8}(?:동|리|가)"
# A building number is not a count: "연결로 2번", "3시간", "5만원" are not addresses.
_NUMBER = (
    r"[0-9]{1,5}(?:-[0-9]{1,5})?(?:번지)?(?![0-9])"
    r"(?! ?(?:번(?!지|길)|개|시간|시|일|분|원|만|천|기가|달|년|회|차|월|명|대|살|%))"
)
_DETAIL = r"(?:,? ?[0-9]{1,4}동)?(?:,? ?[0-9]{1,5}호)?(?:,? ?[0-9]{1,3}층)?(?: ?\([가-힣0-9, ]{1,20}\))?"
_KOREAN_ADDRESS = re.compile(
    rf"(?<![가-힣0-9])(?:(?:{_SIDO}) ?(?:{_DISTRICT} ?){{0,2}}|(?:{_DISTRICT} ?){{1,2}})"
    rf"(?:[가-힣0-9]{{1,6}}(?:읍|면) ?)?(?:{_ROAD} ?|{_LOT} ?){_NUMBER}{_DETAIL}"
)
_STREET_TYPE = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|"
    r"Terrace|Parkway|Pkwy|Highway|Hwy)"
)
_UNIT = r"(?:,? (?:Apt|Apartment|Unit|Suite|Ste|Room|#)\.? ?#?[0-9A-Z\-]{1,6})?"
_TOWNS = r"(?:, ?[A-Z][a-z]+(?:-(?:gu|gun|si|do|dong|eup|myeon))?(?: [A-Z][a-z]+)?){0,3}"
_ROMANISED_ROAD = r"[A-Z][a-z]+(?:-[a-z]+)*-(?:ro|gil|daero)(?: ?[0-9]{1,4}(?:beon)?-gil)?"
_ENGLISH_ADDRESS = re.compile(
    rf"(?<![A-Za-z0-9])(?:[0-9]{{1,5}}[A-Z]? (?:[A-Z][a-z]+\.? ){{1,3}}{_STREET_TYPE}(?![A-Za-z])\.?"
    rf"(?: (?:NW|NE|SW|SE|N|S|E|W)(?![A-Za-z]))?{_UNIT}{_TOWNS}"
    rf"|[0-9]{{1,5}}(?:-[0-9]{{1,5}})?,? {_ROMANISED_ROAD}{_UNIT}{_TOWNS}"
    rf"|{_ROMANISED_ROAD} [0-9]{{1,5}}(?:-[0-9]{{1,5}})?(?![0-9]){_UNIT}{_TOWNS})"
)


def street_addresses(text: str) -> Iterator[Span]:
    """Korean road-name (시/도 + 구/군 + 로/길 + number) and lot-number addresses, and English
    street addresses, including Korean ones romanised ("110 Sejong-daero, Jung-gu, Seoul")."""
    for pattern in (_KOREAN_ADDRESS, _ENGLISH_ADDRESS):
        for m in pattern.finditer(text):
            start, end = m.span()
            # Trailing separators belong to the sentence, not the address.
            while end > start and text[end - 1] in " ,":
                end -= 1
            yield start, end
