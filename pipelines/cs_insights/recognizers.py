"""Recognizers of Korean and English personal data in utterance text: one finder per kind, each a
pattern plus the validity check (a real date, a Luhn check digit) that keeps ordinary numbers out.

Every finder takes text in its matching form (`pipelines.cs_insights.spoken.matching_form`:
ASCII digits for full-width digits and number words, one hyphen between digit groups, one
space for any run of whitespace) and yields `(start, end)` spans of it. Digits are `[0-9]`,
never `\\d`, so the patterns mean the same whatever script surrounds them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

Span = tuple[int, int]

_SEP = r"(?:[ .\-‐‑–—]|, ?)"
"""One separator a person or a speech-to-text engine puts between digit groups (a transcript
writes "oh one oh, one two three four" as "010, 1234")."""

# --- Resident (G 1-4) and foreigner (G 5-8) registration numbers: YYMMDD-GNNNNNN -------------
_REGISTRATION = re.compile(
    r"(?<![0-9])([0-9]{2})([0-9]{2})([0-9]{2})(?: ?[\-‐‑–—] ?| |, ?)?([1-8])[0-9]{6}(?![0-9])"
)
_CENTURY = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000}


def registration_numbers(text: str) -> Iterator[tuple[Span, str]]:
    """RRN and FRN spans with their kind, however the thirteen digits are grouped ("90-01-01-
    1234567" too). The birth date must exist in the century its gender digit implies; the check
    digit is not required, because numbers issued since October 2020 have none."""
    for m in _REGISTRATION.finditer(text):
        yy, mm, dd, gender = m.group(1), m.group(2), m.group(3), m.group(4)
        if birth_date_valid(yy, mm, dd, gender):
            yield m.span(), "RRN" if gender in "1234" else "FRN"
    for (start, end), digits in _grouped_numbers(text):
        if len(digits) == 13 and birth_date_valid(digits[:2], digits[2:4], digits[4:6], digits[6]):
            yield (start, end), "RRN" if digits[6] in "1234" else "FRN"


def birth_date_valid(yy: str, mm: str, dd: str, gender: str) -> bool:
    """Whether YYMMDD is a calendar date in the century that the gender digit says."""
    try:
        date(_CENTURY[gender] + int(yy), int(mm), int(dd))
    except (KeyError, ValueError):
        return False
    return True


# --- Phone numbers: mobile 01X, Seoul 02, area codes 03X-06X, internet phone 070 ------------
_PREFIX = r"(?:(?:\+|00)?82(?:[ .\-]|, ?)?(?:\(0\) ?)?|\(?0)"
"""National `0`, or the country code 82 with `+`, `00` or nothing before it (a caller reads it out)."""
_PHONE = re.compile(
    rf"(?<![0-9+])(?:{_PREFIX}(?:1[016789]|2|[3-6][1-5])\)?{_SEP}?[0-9]{{3,4}}"
    rf"|{_PREFIX}70\)?{_SEP}?[0-9]{{4}}){_SEP}?[0-9]{{4}}(?![0-9])"
)


_PHONE_DIGITS = re.compile(r"(?:82|0)(?:1[016789][0-9]{7,8}|2[0-9]{7,8}|[3-6][1-5][0-9]{7,8}|70[0-9]{8})")


def phone_numbers(text: str) -> Iterator[Span]:
    """Korean mobile and landline numbers, with or without separators, national or 82, and
    however their digits are grouped ("010-12-34-5678")."""
    for m in _PHONE.finditer(text):
        yield m.span()
    for span, digits in _grouped_numbers(text):
        if _PHONE_DIGITS.fullmatch(digits):
            yield span


# --- Payment cards: 13-19 digits, Luhn-valid, contiguous or grouped ------------------------
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{1,19}(?:(?:[ \-‐‑–—]|, ?)[0-9]{1,19})*(?![0-9])")
_CARD_FIRST_DIGITS = frozenset("234569")
"""Issuer ranges: 2 and 5 (Mastercard), 3 (Amex, JCB, Diners), 4 (Visa), 6 (Discover,
UnionPay), 9 (Korean domestic-only cards)."""


FEWEST_DIGITS = 9
"""No registration, card or phone number has fewer digits (02-123-4567 has nine)."""
_MOST_GROUPS = 6
"""A number is read in at most this many groups; a longer run of numbers is several numbers."""


_GROUPED_NUMBER = re.compile(rf"(?<![0-9])[0-9]{{1,13}}(?:(?:[ \-]|, ?)[0-9]{{1,13}}){{0,{_MOST_GROUPS - 1}}}(?![0-9A-Za-z])")
"""Digit groups read as one number; the last is not the start of a word ("5G", "3rd")."""


def _grouped_numbers(text: str) -> Iterator[tuple[Span, str]]:
    """Runs of digit groups (one to `_MOST_GROUPS` groups) and their digits alone."""
    for run in _GROUPED_NUMBER.finditer(text):
        digits = re.sub(r"[^0-9]", "", run.group())
        if len(digits) >= FEWEST_DIGITS:
            yield run.span(), digits


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


# --- E-mail addresses, written or spoken ("minsu dot kim at naver dot com", "민수 골뱅이 네이버 닷컴") ---
_LOCAL = r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*"
_MAIL_PROVIDER_NAMES = r"(?:gmail|naver|daum|hanmail|kakao|nate|outlook|hotmail|yahoo|icloud|korea|empal)"
_EMAIL = re.compile(
    rf"{_LOCAL}@(?:(?:[A-Za-z0-9\-]+\.)+[A-Za-z]{{2,}}(?![A-Za-z0-9])|{_MAIL_PROVIDER_NAMES}(?![A-Za-z0-9.]))",
    re.IGNORECASE,
)
"""Written: `minsu.kim@naver.com`, and a known provider without its domain (`minsu@gmail`)."""
_LOCAL_WORD = r"[A-Za-z0-9][A-Za-z0-9%+]{0,63}"
_LOCAL_JOIN = r"(?: ?(?:[._\-]|dot|underscore|under ?bar|dash|hyphen|점|닷|언더바|언더스코어|하이픈|대시) ?)"
# Bounded repetitions: a mailbox is a few words, and an unbounded chain ("a dot a dot ...") would
# be tried again from every word of it, in quadratic time.
_SPOKEN_LOCAL = (
    rf"(?<![A-Za-z0-9._%+\-'’])(?:(?:[A-Za-z0-9] ){{2,30}}[A-Za-z0-9](?= at )"
    rf"|{_LOCAL_WORD}(?:{_LOCAL_JOIN}{_LOCAL_WORD}){{0,6}}"
    r"|[가-힣]{1,12}(?= ?(?:골뱅이|앳|@)))"
)
"""A mailbox read out: words joined by spoken dots, underscores or hyphens; letters spelled one
by one ("m i n s u at ..."); or a name in Hangul before 골뱅이."""
_SPOKEN_AT = r"(?: ?(?:@|골뱅이|앳|\(at\)|\[at\]) ?|( at ))"
_HANGUL_PROVIDERS = {
    "네이버": "naver", "지메일": "gmail", "다음": "daum", "한메일": "hanmail", "카카오": "kakao", "네이트": "nate",
    "아웃룩": "outlook", "핫메일": "hotmail", "야후": "yahoo", "아이클라우드": "icloud", "엠파스": "empal",
}
_TLD = r"(?:com|net|org|kr|io|co|ac|go|or|ne|re|edu|gov|biz|info|컴|넷|오알지|케이알|씨오|에이씨|아이오)"
_SPOKEN_DOT = r"(?: ?(?:\.|dot|\(dot\)|\[dot\]|닷|점|쩜) ?)"
_SPOKEN_EMAIL = re.compile(
    rf"({_SPOKEN_LOCAL}){_SPOKEN_AT}([A-Za-z0-9\-]{{1,63}}|[가-힣]{{1,10}}?)(?:{_SPOKEN_DOT}{_TLD}){{1,2}}"
    r"(?![A-Za-z0-9])",
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
_MAILBOX_SHAPED = re.compile(rf"[0-9]| [A-Za-z0-9] |{_LOCAL_JOIN}", re.IGNORECASE)
EMAIL_CUE = r"(?i:mail)|메일"
"""A caller saying "email" or "메일": a mailbox may follow."""
_EMAIL_CUE = re.compile(EMAIL_CUE)
_EMAIL_CUE_REACH = 40
"""Characters before a spoken address within which "email" or "메일" vouches for a plain "at"."""


def _spoken_mailbox(local: str, domain: str, announced: bool) -> bool:
    """Whether a plain spoken "at" joins a mailbox to a mail domain: the domain is a known mail
    provider, or the local part is shaped like a mailbox (digits, dots, underscores, spelled
    letters), or the caller has just said "email"; and the word before "at" is not one that
    points at a website."""
    last_word = re.split(rf"{_LOCAL_JOIN}", local)[-1].lower()
    if last_word in _NOT_A_MAILBOX:
        return False
    known = domain.lower() in _MAIL_PROVIDERS or domain in _HANGUL_PROVIDERS
    return known or announced or _MAILBOX_SHAPED.search(local) is not None


_AT_MARK = re.compile(r"@|골뱅이|앳|\bat\b", re.IGNORECASE)


def email_addresses(text: str) -> Iterator[Span]:
    """E-mail addresses as written, and as a caller reads them out in English or Korean (a
    spelled dot, underscore or hyphen in the mailbox; "at", "골뱅이" or "앳"; "dot", "닷" or "점"
    before the domain's parts; providers named in Hangul)."""
    if _AT_MARK.search(text) is None:
        return
    for m in _EMAIL.finditer(text):
        yield m.span()
    for m in _SPOKEN_EMAIL.finditer(text):
        if m.group(2) is not None:
            announced = _EMAIL_CUE.search(text, max(0, m.start() - _EMAIL_CUE_REACH), m.start()) is not None
            if not _spoken_mailbox(m.group(1), m.group(3), announced):
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
_ROMANISED_ROAD = r"[A-Z][a-z]+(?:-[a-z]+)*[- ](?:ro|gil|daero)(?![A-Za-z])(?: ?[0-9]{1,4}(?:beon)?-gil)?"
_ENGLISH_ADDRESS = re.compile(
    rf"(?<![A-Za-z0-9])(?:[0-9]{{1,5}}[A-Z]? (?:[A-Z][a-z]+\.? ){{1,3}}{_STREET_TYPE}(?![A-Za-z])\.?"
    rf"(?: (?:NW|NE|SW|SE|N|S|E|W)(?![A-Za-z]))?{_UNIT}{_TOWNS}"
    rf"|[0-9]{{1,5}}(?:-[0-9]{{1,5}})?,? {_ROMANISED_ROAD}{_UNIT}{_TOWNS}"
    rf"|{_ROMANISED_ROAD} [0-9]{{1,5}}(?:-[0-9]{{1,5}})?(?![0-9]){_UNIT}{_TOWNS})"
)
_SPOKEN_ENGLISH_ADDRESS = re.compile(
    rf"(?<![A-Za-z0-9])[0-9]{{1,5}}[a-z]? (?:[a-z]+\.? ){{1,3}}{_STREET_TYPE}(?![A-Za-z])\.?"
    r"(?:,? (?:apt|apartment|unit|suite|room|number|#)\.? ?#?[0-9a-z\-]{1,6})?",
    re.IGNORECASE,
)
"""A street address as speech-to-text writes it, in lower case ("i live at 12 main street apt 4"):
common words ("the whole way") look alike, so it counts only beside an address word."""


_BARE_ROAD_ADDRESS = re.compile(rf"(?<![가-힣0-9])[가-힣0-9]{{1,10}}(?<!으)(?:대로|로|길)(?: ?[0-9]{{1,4}}번?(?:길|가길))? ?{_NUMBER}{_DETAIL}")
_ADDRESS_CUE = re.compile(
    r"주소|사는 ?곳|살아요|살고|배송|청구지|거주지|자택|집|보내|address|live|ship|send|deliver|mail it", re.IGNORECASE
)
_CUE_REACH = 30
"""Characters before or after a bare road-and-number within which an address cue must stand."""


def street_addresses(text: str) -> Iterator[Span]:
    """Korean road-name (시/도 + 구/군 + 로/길 + number) and lot-number addresses, and English
    street addresses, including Korean ones romanised ("110 Sejong-daero, Jung-gu, Seoul").
    A road and number alone ("세종대로 110"), and an English address in lower case, count when
    the caller talks about an address nearby ("주소는", "보내주세요", "I live"): on their own
    they read like "연결로 2" or "45 minutes the whole way" too often."""
    for pattern in (_KOREAN_ADDRESS, _ENGLISH_ADDRESS, _BARE_ROAD_ADDRESS, _SPOKEN_ENGLISH_ADDRESS):
        for m in pattern.finditer(text):
            start, end = m.span()
            # Trailing separators belong to the sentence, not the address.
            while end > start and text[end - 1] in " ,":
                end -= 1
            cued = pattern is _BARE_ROAD_ADDRESS or pattern is _SPOKEN_ENGLISH_ADDRESS
            if cued and not _ADDRESS_CUE.search(
                text, max(0, start - _CUE_REACH), min(len(text), end + _CUE_REACH)
            ):
                continue
            yield start, end


# --- The start of a value, cut off by the end of an utterance --------------------------------
_FRAGMENT_END = r"(?=(?: ?[가-힣]{1,4})?[ .,!?~\-]*$)"
"""A fragment ends the utterance: at most a Korean particle, a dangling hyphen and punctuation
after it."""
_ENDS_LIKE_A_FRAGMENT = re.compile(
    r"(?:[0-9@)\]]|[로길동리가]|골뱅이|앳|(?<![A-Za-z])at)(?: ?[가-힣]{1,4})?[ .,!?~\-]*$", re.IGNORECASE
)
"""What a fragment ends with (a digit, a road or neighbourhood, an at-sign or word), or a
mailbox said after "email": texts that end otherwise are not searched further."""
_FRAGMENT_REACH = 120
"""How far from the end of a text a fragment (and the words announcing it) may begin."""
_FRAGMENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("EMAIL", re.compile(
        rf"(?P<v>{_SPOKEN_LOCAL} ?(?:@|골뱅이|앳|\(at\)|\[at\])){_FRAGMENT_END}"
        rf"|(?:mail|메일)[^.?!]{{0,30}}?(?P<at>{_SPOKEN_LOCAL}(?: at)?) ?$",
        re.IGNORECASE,
    )),
    ("RRN", re.compile(rf"(?<![0-9])(?<![0-9]-)(?P<v>(?P<yy>[0-9]{{2}})(?P<mm>[0-9]{{2}})(?P<dd>[0-9]{{2}})(?:-?(?P<g>[1-8])[0-9]{{0,5}})?){_FRAGMENT_END}")),
    ("CARD", re.compile(
        rf"(?<![0-9])(?<![0-9]-)(?P<v>[2-69][0-9]{{3}}(?:-[0-9]{{4}}){{2}}|3[47][0-9]{{2}}-[0-9]{{6}}|[2-69][0-9]{{11,14}})"
        rf"{_FRAGMENT_END}"
    )),
    ("PHONE", re.compile(
        rf"(?<![0-9+])(?<![0-9]-)(?P<v>(?:(?:\+|00)?82-?|0)(?:1[016789](?:-?[0-9]{{1,4}}){{0,2}}|(?:2|[3-6][1-5]|70)(?:-?[0-9]{{1,4}}){{1,2}}))"
        rf"{_FRAGMENT_END}"
    )),
    ("ADDRESS", re.compile(
        rf"(?<![가-힣0-9])(?P<v>(?:(?:{_SIDO}) ?(?:{_DISTRICT} ?){{0,2}}|(?:{_DISTRICT} ?){{1,2}})"
        rf"(?:[가-힣0-9]{{1,6}}(?:읍|면) ?)?(?:{_ROAD}|{_LOT})){_FRAGMENT_END}"
        r"|(?:live at|address is|ship (?:it )?to|send (?:it|the SIM) to|deliver (?:it )?to|주소는?|주소가|사는 ?곳은|청구지|배송지)"
        r" (?P<n>[0-9]{1,5}[A-Z]?) ?$",
        re.IGNORECASE,
    )),
)


def trailing_fragment(text: str) -> tuple[Span, str] | None:
    """The start of a value that the end of the text cut off, with the kind it would be: an
    e-mail up to its "at", a birth date (and the start of the rest of a registration number),
    three groups of a card (twelve digits; the first eight only name the issuer), a phone
    number's prefix (a mobile prefix alone will do), a Korean address up to its road or
    neighbourhood. Where the start alone is too common to mean anything, the caller must have
    said what it is: an English address's number after "I live at" or "주소는", a spoken "at"
    after "my email is". The next utterance of the session completes it (see
    `pipelines.cs_insights.redaction`)."""
    if (
        _ENDS_LIKE_A_FRAGMENT.search(text, max(0, len(text) - 16)) is None
        and _EMAIL_CUE.search(text, max(0, len(text) - 60)) is None
    ):
        return None
    start = max(0, len(text) - _FRAGMENT_REACH)
    for kind, pattern in _FRAGMENTS:
        m = pattern.search(text, start)
        if m is None:
            continue
        if kind == "RRN" and not any(
            birth_date_valid(m["yy"], m["mm"], m["dd"], g) for g in ([m["g"]] if m["g"] else ["1", "3"])
        ):
            continue
        group = next(g for g in ("v", "n", "at") if g in m.re.groupindex and m[g] is not None)
        if group == "at" and not m[group].lower().endswith(" at") and not _MAILBOX_SHAPED.search(m[group]):
            continue  # "my email is fine": a mailbox said without its "at" must look like one
        return m.span(group), kind
    return None
