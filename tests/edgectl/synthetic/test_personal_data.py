"""Synthetic personal data is valid in every format it claims: registration numbers with real birth
dates and the right gender digit, Luhn-valid cards of real issuer ranges, Korean phone numbering,
and e-mail and addresses as people write and say them."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import date

import pytest

from edgectl.synthetic.personal_data import PII_FORMATS, pii_value, split_point
from pipelines.cs_insights.redaction import normalise_text
from pipelines.cs_insights.spoken import matching_form

SAMPLES = 200
RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def values(kind: str, fmt: str, seed: int = 0) -> list[str]:
    rng = random.Random(f"{kind}/{fmt}/{seed}")
    return [pii_value(kind, fmt, rng) for _ in range(SAMPLES)]


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def spoken_digits(value: str) -> str:
    """The digits a value says, in words or written: what a listener writes down."""
    return re.sub(r"[^0-9]", "", matching_form(value).text)


WORDS = {
    "words_ko": r"[공영일이삼사오육칠팔구천백십]+(?:(?: |에 | 다시 )[공영일이삼사오육칠팔구천백십]+)*",
    "words_ko_place": r"[공영일이삼사오육칠팔구천백십]+(?:(?: |에 | 다시 )[공영일이삼사오육칠팔구천백십]+)*",
    "words_en": r"[a-z]+(?:(?:[ -]|, | dash )[a-z]+)*",
    "words_en_pairs": r"[a-z]+(?:(?:[ -]|, | dash )[a-z]+)*",
}
"""Spoken formats: words only, no digit written."""


def rrn_check_digit_valid(number: str) -> bool:
    check = (11 - sum(int(d) * w for d, w in zip(number, RRN_WEIGHTS, strict=False)) % 11) % 10
    return int(number[12]) == check


@pytest.mark.parametrize("kind", list(PII_FORMATS))
def test_values_are_reproducible_from_the_seed_and_vary_between_draws(kind: str) -> None:
    for fmt in PII_FORMATS[kind]:
        assert values(kind, fmt) == values(kind, fmt)
        assert len(set(values(kind, fmt))) > SAMPLES // 4, fmt


@pytest.mark.parametrize("kind", ["RRN", "FRN"])
@pytest.mark.parametrize("fmt", PII_FORMATS["RRN"])
def test_registration_numbers_have_a_real_birth_date_in_the_century_of_their_gender_digit(kind: str, fmt: str) -> None:
    shape = {"hyphen": r"[0-9]{6}-[0-9]{7}", "plain": r"[0-9]{13}", "spaced": r"[0-9]{6} [0-9]{7}",
             "fullwidth": r"[0-9]{6}-[0-9]{7}", "spaced_hyphen": r"[0-9]{6} - [0-9]{7}",
             "newline": r"[0-9]{6}(?:\n|-\n| \n)[0-9]{7}", **WORDS}[fmt]
    check_digits = Counter[bool]()
    for value in values(kind, fmt):
        if fmt == "fullwidth":
            assert re.fullmatch(r"[０-９]{6}－[０-９]{7}", value), value
        written = normalise_text(value)
        assert re.fullmatch(shape, written), value
        number = spoken_digits(value)
        assert len(number) == 13, value
        gender = int(number[6])
        assert gender in ((1, 2, 3, 4) if kind == "RRN" else (5, 6, 7, 8)), value
        century = 1900 if gender in (1, 2, 5, 6) else 2000
        born = date(century + int(number[:2]), int(number[2:4]), int(number[4:6]))  # raises if no such day
        assert date(1940, 1, 1) <= born <= date(2019, 12, 31), value
        check_digits[rrn_check_digit_valid(number)] += 1
    # Numbers issued since October 2020 carry no check digit, so only some of them pass it.
    assert 0.3 * SAMPLES < check_digits[True] < 0.8 * SAMPLES, check_digits


PHONE_SHAPES = {
    "mobile": r"010-[0-9]{4}-[0-9]{4}",
    "mobile_plain": r"010[0-9]{8}",
    "mobile_spaced": r"010 [0-9]{4} [0-9]{4}",
    "mobile_dots": r"010\.[0-9]{4}\.[0-9]{4}",
    "mobile_intl": r"\+82 10-[0-9]{4}-[0-9]{4}",
    "mobile_intl_plain": r"\+8210[0-9]{8}",
    "mobile_parens": r"\(010\) [0-9]{4}-[0-9]{4}",
    "legacy_mobile": r"01[16789]-[0-9]{3}-[0-9]{4}",
    "seoul": r"02-[0-9]{3,4}-[0-9]{4}",
    "area": r"0(?:3[1-3]|4[1-3]|5[1-5]|6[1-4])-[0-9]{3}-[0-9]{4}",
    "area_spaced": r"0(?:3[1-3]|4[1-3]|5[1-5]|6[1-4]) [0-9]{4} [0-9]{4}",
    "internet": r"070-[0-9]{4}-[0-9]{4}",
    "landline_intl": r"\+82 2 [0-9]{4} [0-9]{4}",
    "fullwidth": r"０１０－[０-９]{4}－[０-９]{4}",
    "spaced_hyphens": r"010 - [0-9]{4} - [0-9]{4}",
    "slashes": r"010/[0-9]{4}/[0-9]{4}",
    "underscores": r"010_[0-9]{4}_[0-9]{4}",
    "newline": r"010(?:-[0-9]{4})?(?:\n|-\n| \n)[0-9]{4}(?:-[0-9]{4})?",
    "intl_no_plus": r"(?:82 10 [0-9]{4} [0-9]{4}|82-10-[0-9]{4}-[0-9]{4}|0082 10 [0-9]{4} [0-9]{4})",
    **WORDS,
    "words_mixed": r"010 (?:[공영일이삼사오육칠팔구]+(?: |에 | 다시 )[공영일이삼사오육칠팔구]+|[a-z]+(?:(?: |, | dash )[a-z]+)*)",
}
SPOKEN_PHONE = re.compile(r"010[0-9]{8}|0(?:3[1-3]|4[1-3]|5[1-5]|6[1-4])[0-9]{7}")


def test_every_phone_format_follows_korean_numbering() -> None:
    assert set(PHONE_SHAPES) == set(PII_FORMATS["PHONE"])
    for fmt, shape in PHONE_SHAPES.items():
        for value in values("PHONE", fmt):
            assert re.fullmatch(shape, value), (fmt, value)
            if fmt.startswith("words") or fmt in ("spaced_hyphens", "slashes", "underscores", "newline"):
                assert SPOKEN_PHONE.fullmatch(spoken_digits(value)), (fmt, value)


CARD_SHAPES = {
    "spaces": (r"[0-9]{4}( [0-9]{4}){3}", ("4", "51", "53", "2221")),
    "hyphens": (r"[0-9]{4}(-[0-9]{4}){3}", ("4", "51", "53", "2221")),
    "plain": (r"[0-9]{16}", ("4", "51", "53", "2221")),
    "amex": (r"3[47][0-9]{2} [0-9]{6} [0-9]{5}", ("34", "37")),
    "domestic": (r"94[13]0(-[0-9]{4}){3}", ("9410", "9430")),
    "unionpay19": (r"62[0-9]{2}( [0-9]{4}){3} [0-9]{3}", ("62",)),
    "spaced_hyphens": (r"[0-9]{4}( - [0-9]{4}){3}", ("4", "51", "53", "2221")),
    "newline": (r"[0-9]{4}(?:(?:-|\n|-\n| \n)[0-9]{4}){3}", ("4", "51", "53", "2221")),
    "words_en": (WORDS["words_en"], ("4", "51", "53", "2221")),
    "words_ko": (WORDS["words_ko"], ("4", "51", "53", "2221")),
}


def test_every_card_is_luhn_valid_in_its_issuers_range_and_printed_shape() -> None:
    assert set(CARD_SHAPES) == set(PII_FORMATS["CARD"])
    for fmt, (shape, prefixes) in CARD_SHAPES.items():
        for value in values("CARD", fmt):
            digits = spoken_digits(value)
            assert re.fullmatch(shape, value), (fmt, value)
            assert len(digits) in (15, 16, 19), (fmt, value)
            assert digits.startswith(prefixes), (fmt, value)
            assert luhn(digits), (fmt, value)


EMAIL_SHAPES = {
    "plain": r"[a-z0-9._]+@[a-z]+\.(?:com|net)",
    "mixed_case": r"[A-Z][A-Za-z0-9._]*[0-9]{1,2}@[a-z]+\.(?:com|net)",
    "plus_tag": r"[a-z0-9._]+\+bill@[a-z]+\.(?:com|net)",
    "co_kr": r"[a-z0-9._]+@[a-z]+\.co\.kr",
    "spoken_ko": r"[a-z0-9._]+ 골뱅이 [a-z]+\.(?:com|net)",
    "spoken_en": r"[a-z0-9._]+ at [a-z]+ dot (?:com|net)",
    "at_parens": r"[a-z0-9._]+ \(at\) [a-z]+\.(?:com|net)",
    "spoken_en_dotted": r"[a-z0-9]+(?: (?:dot|underscore) [a-z0-9]+)* at [a-z]+ dot (?:com|net)",
    "spoken_ko_hangul": r"[a-z0-9._]+ 골뱅이 (?:네이버|지메일|다음|한메일|카카오|아웃룩) 닷(?:컴|넷)",
    "spoken_ko_words": r"[a-z0-9]+(?: (?:점|언더바) [a-z0-9]+)* 골뱅이 [a-z]+ 점 (?:com|net)",
    "spoken_ko_at": r"[a-z0-9._]+ 앳 [a-z]+ 닷(?:컴|넷)",
}


def test_every_email_format_is_an_address_as_written_or_read_out() -> None:
    assert set(EMAIL_SHAPES) == set(PII_FORMATS["EMAIL"])
    for fmt, shape in EMAIL_SHAPES.items():
        for value in values("EMAIL", fmt):
            assert re.fullmatch(shape, value), (fmt, value)


_BUILDING = r"[0-9]{1,4}(?:-[0-9]{1,2})?"
ADDRESS_SHAPES = {
    "road": rf"[가-힣]+ [가-힣]+(?:구|시|군) [가-힣]+(?:로|길) {_BUILDING}",
    "road_city_district": rf"경기도 [가-힣]+시 [가-힣]+구 [가-힣]+(?:로|길) {_BUILDING}",
    "road_detail": rf"[가-힣]+ [가-힣]+(?:구|시|군) [가-힣]+(?:로|길) {_BUILDING}, 1[0-2][0-9]동 [0-9]{{1,2}}0[1-4]호",
    "road_beongil": r"[가-힣]+ [가-힣]+(?:구|시|군) [가-힣]+(?:로|길)[0-9]{1,2}번길 [0-9]{1,2}",
    "road_no_province": rf"[가-힣]+(?:구|시|군) [가-힣]+(?:로|길) {_BUILDING}",
    "sejong": rf"세종특별자치시 [가-힣0-9]+로 {_BUILDING}",
    "lot": r"[가-힣]+ [가-힣]+(?:구|시|군) [가-힣]+동 [0-9]{1,4}-[0-9]{1,2}",
    "english": r"[0-9]{1,4} [A-Z][a-z]+ (?:Street|Avenue|Boulevard|Road|Lane|Drive|Way|Court)",
    "english_unit": r"[0-9]{1,4} [A-Z][a-z]+ (?:Street|Avenue|Boulevard|Road|Lane|Drive|Way|Court), Apt [0-9]{1,2}[A-D]",
    "romanised": rf"{_BUILDING} [A-Z][a-z]+-(?:ro|daero), [A-Z][a-z]+-gu, Seoul",
    "romanised_road_first": rf"[A-Z][a-z]+-(?:ro|daero) {_BUILDING}, [A-Z][a-z]+-gu, (?:Seoul|Busan)",
    "road_no_district": rf"[가-힣]+ [가-힣]+(?:로|길) {_BUILDING}",
    "road_bare": rf"[가-힣]+(?:로|길) {_BUILDING}",
    "road_words_ko": r"[가-힣]+ [가-힣]+(?:구|시|군) [가-힣]+(?:로|길) [공영일이삼사오육칠팔구천백십]+",
    "english_words": r"[a-z]+(?:[ -][a-z]+)* [A-Z][a-z]+ (?:Street|Avenue|Boulevard|Road|Lane|Drive|Way|Court)",
}


def test_every_address_format_is_a_road_name_lot_or_street_address_with_a_number() -> None:
    assert set(ADDRESS_SHAPES) == set(PII_FORMATS["ADDRESS"])
    for fmt, shape in ADDRESS_SHAPES.items():
        for value in values("ADDRESS", fmt):
            assert re.fullmatch(shape, value), (fmt, value)


@pytest.mark.parametrize("kind", list(PII_FORMATS))
def test_a_split_value_breaks_where_a_caller_pauses_and_only_when_announced_where_it_must_be(kind: str) -> None:
    split = 0
    for fmt in PII_FORMATS[kind]:
        for value in values(kind, fmt):
            cut = split_point(kind, fmt, value, "my address and email are")
            if cut is None:
                continue
            split += 1
            head, tail = value[:cut].rstrip(), value[cut:].lstrip()
            assert head and tail and spoken_digits(head) + spoken_digits(tail) == spoken_digits(value), (fmt, value)
            if kind == "ADDRESS" and fmt == "english" or kind == "EMAIL" and fmt.startswith("spoken_en"):
                assert split_point(kind, fmt, value, "") is None, "a bare number or 'at' is split only when announced"
    assert split >= 3 * SAMPLES
