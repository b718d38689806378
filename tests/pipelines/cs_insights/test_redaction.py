"""Personal data is redacted from utterance text: every kind in every generated format, with
validity checks that keep dates, amounts and plan names out, and never a raw value in what is kept."""

from __future__ import annotations

import random

import pytest

from edge.synthetic.personal_data import PII_FORMATS, pii_value
from edge.synthetic.utterance_phrases import PII_CARRIERS
from pipelines.cs_insights.recognizers import birth_date_valid, luhn_valid
from pipelines.cs_insights.redaction import (
    PII_KINDS,
    RECOGNIZER_VERSION,
    Redaction,
    find_pii,
    normalise_text,
    redact,
    redact_bytes,
)
from pipelines.cs_insights.redaction_quality import PII_FREE_HARD_CASES, measure_redaction

SAMPLES_PER_FORMAT = 80
FALSE_POSITIVE_CEILING = 0.005
"""Share of PII-free texts allowed to lose anything to redaction (measured: 0 of ~2,900)."""


@pytest.mark.parametrize("kind", list(PII_FORMATS))
def test_every_generated_value_of_every_format_is_redacted_whole_as_its_kind(kind: str) -> None:
    rng = random.Random(f"recall-{kind}")
    for fmt in PII_FORMATS[kind]:
        for i in range(SAMPLES_PER_FORMAT):
            language = ("ko", "en")[i % 2]
            value = pii_value(kind, fmt, rng)
            text = rng.choice(PII_CARRIERS[language][kind]).format(v=value) + ", 요금제 변경하고 싶어요"
            redaction = redact(text)
            normalised_value = normalise_text(value)
            assert value not in redaction.text and normalised_value not in redaction.text, (fmt, text, redaction.text)
            spans = find_pii(normalise_text(text))
            start = normalise_text(text).find(normalised_value)
            covering = [s for s in spans if s.start <= start and start + len(normalised_value) <= s.end]
            assert [s.kind for s in covering] == [kind], (fmt, text, spans)
            assert redaction.counts.get(kind) == 1 and f"[{kind}]" in redaction.text


def test_redaction_recall_is_total_and_false_positives_stay_under_the_ceiling() -> None:
    report = measure_redaction(samples_per_format=40, seed=2027, pii_free_utterances=3000)
    assert all(recall == 1.0 for recall in report["recall_by_kind"].values()), report["missed_examples"]
    assert report["pii_free_texts"] > 1000
    assert report["false_positive_rate"] <= FALSE_POSITIVE_CEILING, report
    assert report["hard_case_false_positives"] == []


@pytest.mark.parametrize("text", PII_FREE_HARD_CASES)
def test_dates_amounts_plan_names_and_counts_are_left_alone(text: str) -> None:
    assert redact(text).counts == {}


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("주민번호 900101-1234567", {"RRN": 1}),
        ("주민번호 9001011234567", {"RRN": 1}),
        ("외국인등록번호 850315-5123456", {"FRN": 1}),
        ("born in 2004: 040229-3123456", {"RRN": 1}),  # 29 February of a leap year
        ("invalid month 901301-1234567", {}),
        ("invalid day 900431-1234567", {}),
        ("not a leap year 030229-3123456", {}),
        ("century digit 9 900101-9234567", {}),
        ("century 2000s but 1900s digit: 000229-1123456", {}),  # 1900 was not a leap year
    ],
)
def test_a_registration_number_needs_a_real_birth_date_and_a_valid_gender_digit(text: str, kinds: dict[str, int]) -> None:
    assert redact(text).counts == kinds


def test_birth_dates_follow_the_century_of_the_gender_digit() -> None:
    assert birth_date_valid("00", "02", "29", "3") and not birth_date_valid("00", "02", "29", "1")
    assert not birth_date_valid("99", "12", "32", "1") and not birth_date_valid("99", "12", "31", "0")


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("카드 4111 1111 1111 1111 로 결제", {"CARD": 1}),
        ("카드 4111-1111-1111-1111", {"CARD": 1}),
        ("amex 3782 822463 10005", {"CARD": 1}),
        ("카드 4111 1111 1111 1112 로 결제", {}),  # fails Luhn: an ordinary number
        ("order 1234 5678 9012 3456", {}),  # fails Luhn
        ("0000 0000 0000 0000", {}),  # Luhn-valid but no card
        ("4111 1111 1111 1111 12월에 결제", {"CARD": 1}),  # a card followed by another number
        ("4111 11111 1111 1111", {}),  # Luhn-valid digits in a shape no card is printed in
    ],
)
def test_a_card_number_must_pass_luhn_and_look_like_a_card(text: str, kinds: dict[str, int]) -> None:
    assert redact(text).counts == kinds


def test_luhn_check() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112")


def test_full_width_digits_and_invisible_characters_do_not_hide_a_number() -> None:
    assert redact("０１０－１２３４－５６７８로 연락 주세요").text == "[PHONE]로 연락 주세요"
    assert redact("010\u200b1234\u200b5678").text == "[PHONE]"


def test_korean_particles_attached_to_a_value_stay_and_the_value_goes() -> None:
    assert redact("hong@naver.com으로 보내주세요").text == "[EMAIL]으로 보내주세요"
    assert redact("주소는 서울특별시 중구 세종대로 110이에요").text == "주소는 [ADDRESS]이에요"
    assert redact("I live at 221 Baker Street로 바꿔주세요").text == "I live at [ADDRESS]로 바꿔주세요"


def test_overlaps_are_settled_by_kind_priority() -> None:
    assert redact("mail 01012345678@naver.com").counts == {"EMAIL": 1}
    # A Luhn-valid card whose digits hold a Seoul landline run (02...) is one card, not a phone.
    assert redact("card 9410 0212 3456 7890") == Redaction("card [CARD]", {"CARD": 1})
    # Sixteen digits that fail the Luhn check are no card, and no phone either.
    assert redact("card 9410 0212 3456 7892").counts == {}


def test_a_website_read_out_is_not_an_email_but_a_mailbox_is() -> None:
    assert redact("I looked at naver dot com").counts == {}
    assert redact("write to minsu at naver dot com").counts == {"EMAIL": 1}


def test_what_a_redaction_records_is_kinds_and_counts_only() -> None:
    redaction = redact("010-1234-5678, 010-9876-5432, minsu@naver.com")
    assert redaction.summary() == [{"kind": "EMAIL", "count": 1}, {"kind": "PHONE", "count": 2}]
    assert redaction.kinds == ["EMAIL", "PHONE"] and set(redaction.kinds) <= set(PII_KINDS)
    assert RECOGNIZER_VERSION


def test_bytes_are_redacted_even_when_json_escapes_hide_korean_or_bytes_are_not_utf8() -> None:
    escaped = '{"text": "\\uc8fc\\uc18c\\ub294 \\uc11c\\uc6b8\\ud2b9\\ubcc4\\uc2dc \\uc911\\uad6c \\uc138\\uc885\\ub300\\ub85c 110"'
    clean, redaction = redact_bytes(escaped.encode())
    assert redaction.counts == {"ADDRESS": 1} and "세종대로".encode() not in clean
    clean, redaction = redact_bytes(b"\xff\xfe broken 010-1234-5678 \xc0")
    assert redaction.counts == {"PHONE": 1} and b"1234" not in clean
