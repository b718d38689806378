"""Personal data is redacted from utterance text: every kind in every generated format, with
validity checks that keep dates, amounts and plan names out, and never a raw value in what is kept."""

from __future__ import annotations

import random

import pytest

from edgectl.synthetic.personal_data import PII_FORMATS, pii_value
from edgectl.synthetic.utterance_phrases import PII_CARRIERS
from pipelines.cs_insights.recognizers import birth_date_valid, luhn_valid
from pipelines.cs_insights.redaction import (
    PII_KINDS,
    RECOGNIZER_VERSION,
    Redaction,
    find_pii,
    normalise_text,
    pii_spans,
    redact,
    redact_bytes,
)
from training.cs_insights.redaction_quality import PII_FREE_HARD_CASES, measure_redaction

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


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("제 번호는 공일공 일이삼사 오육칠팔이에요", "제 번호는 [PHONE]이에요"),
        ("공일공에 일이삼사에 오육칠팔로 연락 주세요", "[PHONE]로 연락 주세요"),
        ("번호는 공일공 천이백삼십사 오천육백칠십팔입니다", "번호는 [PHONE]입니다"),
        ("my number is oh one oh, twelve thirty four, fifty six seventy eight", "my number is [PHONE]"),
        ("call zero one zero dash one two three four dash five six seven eight", "call [PHONE]"),
        ("it's double oh eight two, one oh, one two three four, five six seven eight", "it's [PHONE]"),
        ("010 - 1234 - 5678 이에요", "[PHONE] 이에요"),
        ("010/1234/5678", "[PHONE]"),
        ("010_1234_5678", "[PHONE]"),
        ("010-1234-\n5678로 주세요", "[PHONE]로 주세요"),
        ("82 10 1234 5678", "[PHONE]"),
        ("0\ufe0f\u20e31\ufe0f\u20e30\ufe0f\u20e3 1234 5678", "[PHONE]"),
        ("٠١٠١٢٣٤٥٦٧٨", "[PHONE]"),
        ("주민번호 구공공일공일 다시 일이삼사오육칠요", "주민번호 [RRN]요"),
        ("card four one one one, one one one one, one one one one, one one one one", "card [CARD]"),
        ("메일은 minsu.kim 골뱅이 네이버 닷컴입니다", "메일은 [EMAIL]입니다"),
        ("minsu 점 kim 골뱅이 naver 점 com으로 보내주세요", "[EMAIL]으로 보내주세요"),
        ("email me at minsu dot kim at gmail dot com", "email me at [EMAIL]"),
        ("jpark 앳 gmail 닷컴", "[EMAIL]"),
        ("주소는 서울특별시 중구 세종대로 백십입니다", "주소는 [ADDRESS]입니다"),
        # 110 then "이에요", or 112 then "에요": both readings are matched, the longer mask wins.
        ("주소는 서울특별시 중구 세종대로 백십이에요", "주소는 [ADDRESS]에요"),
        ("주소는 세종대로 110이에요", "주소는 [ADDRESS]이에요"),
        ("서울 세종대로 110으로 보내주세요", "[ADDRESS]으로 보내주세요"),
        ("I live at two twenty one Baker Street", "I live at [ADDRESS]"),
    ],
)
def test_values_said_or_transcribed_in_words_or_with_any_separator_are_masked_exactly(text: str, redacted: str) -> None:
    assert redact(text).text == redacted


@pytest.mark.parametrize(
    "text",
    [
        "사는 곳 근처 기지국이 문제인가요",
        "오늘 일이 많아서 이제 전화했어요",
        "oh no, I was double charged again",
        "다시 연결로 2번 눌렀어요",
        "문자로 1588-0010 왔어요",
        "요금제로 69 쓰고 있어요",
        "I've waited forty five minutes, ticket four four seven one",
    ],
)
def test_number_words_and_roads_in_ordinary_talk_are_left_alone(text: str) -> None:
    assert redact(text).counts == {}, redact(text).text


def test_the_mask_covers_exactly_the_original_characters_of_a_spoken_value() -> None:
    text = "네, 공일공 일이삼사 오육칠팔 맞아요"
    (span,) = pii_spans(text)
    assert text[span.start : span.end] == "공일공 일이삼사 오육칠팔" and span.kind == "PHONE"
    assert redact(text).text == "네, [PHONE] 맞아요"


@pytest.mark.parametrize(
    ("first", "second", "first_redacted", "second_redacted"),
    [
        ("제 번호는 010-1234", "5678이에요", "제 번호는 [PHONE]", "[PHONE]이에요"),
        ("my number is 010", "1234 5678, thanks", "my number is [PHONE]", "[PHONE], thanks"),
        ("주민번호는 900101", "1234567입니다", "주민번호는 [RRN]", "[RRN]입니다"),
        ("card 4111 1111 1111", "1111 please", "card [CARD]", "[CARD] please"),
        ("메일은 minsu.kim 골뱅이", "naver 닷컴이요", "메일은 [EMAIL]", "[EMAIL]이요"),
        ("my email is minsu at", "naver dot com", "my email is [EMAIL]", "[EMAIL]"),
        ("주소는 서울시 강남구 테헤란로", "152 입니다", "주소는 [ADDRESS]", "[ADDRESS] 입니다"),
        ("I live at 221", "Baker Street, London", "I live at [ADDRESS]", "[ADDRESS]"),
    ],
)
def test_a_value_split_across_two_utterances_is_masked_in_both(
    first: str, second: str, first_redacted: str, second_redacted: str
) -> None:
    assert redact(first).text == first_redacted
    assert redact(second, first).text == second_redacted
    assert redact(second).text != second_redacted or first_redacted == "my email is [EMAIL]"


def test_the_start_of_a_value_counts_only_where_no_whole_value_lies() -> None:
    assert redact("01012345678").counts == {"PHONE": 1}, "a phone number, not a birth date and more"
    assert redact("ticket 4471").counts == {} and redact("the plan is 69").counts == {}


def test_a_previous_utterance_only_completes_values_that_cross_into_this_one() -> None:
    assert redact("요금제 변경하고 싶어요", "제 번호는 010-1234-5678이에요").counts == {}
    assert redact("5678 요금제요", "고객센터 114").counts == {}


def test_control_characters_between_digits_do_not_hide_them() -> None:
    utf16 = "010-1234-5678".encode("utf-16-le")
    clean, redaction = redact_bytes(b'{"text": "' + utf16 + b'"}')
    assert redaction.counts == {"PHONE": 1} and b"1\x002\x003\x004" not in clean


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("010 -- 1234 -- 5678", "PHONE"), ("010*1234*5678", "PHONE"), ("010:1234:5678", "PHONE"), ("010 | 1234 | 5678", "PHONE"),
        ("010、1234、5678", "PHONE"), ("010−1234−5678", "PHONE"), ("010ー1234ー5678", "PHONE"), ("0 1 0 1 2 3 4 5 6 7 8", "PHONE"),
        ("zero-one-zero-one-two-three-four-five-six-seven-eight", "PHONE"),
        ("zero, one, zero, one, two, three, four, five, six, seven, eight", "PHONE"),
        ("공일공 one two three four 오육칠팔", "PHONE"), ("〇一〇 一二三四 五六七八", "PHONE"), ("010-12-34-5678", "PHONE"),
        ("010-123-45678", "PHONE"), ("900101ㅡ1234567", "RRN"), ("900101―1234567", "RRN"), ("90-01-01-1234567", "RRN"),
        ("900101-1 234567", "RRN"), ("4111*1111*1111*1111", "CARD"), ("my email is minsukim at company dot com", "EMAIL"),
        ("minsukim (at) gmail (dot) com", "EMAIL"), ("minsukim [at] gmail [dot] com", "EMAIL"), ("minsukim@gmail", "EMAIL"),
        ("m i n s u at gmail dot com", "EMAIL"), ("엠아이엔에스유 골뱅이 네이버 닷컴", "EMAIL"), ("minsu 골뱅이 회사 닷컴", "EMAIL"),
        ("'minsu.kim@naver.com'", "EMAIL"), ("i live at 12 main street apt 4", "ADDRESS"),
        ("send it to 152 Teheran ro, Gangnam-gu, Seoul", "ADDRESS"),
    ],
)
def test_adversarial_spellings_found_by_review_are_masked_whole(text: str, kind: str) -> None:
    redaction = redact(text)
    assert redaction.counts.get(kind) == 1, redaction.text
    assert not any(run in redaction.text for run in ("1234", "5678", "minsu", "minsukim", "m i n s", "엠아이", "4111")), redaction.text


@pytest.mark.parametrize(
    ("first", "second", "second_redacted"),
    [
        ("my email is minsu dot kim", "at gmail dot com", "[EMAIL]"),
        ("제 번호는 010-1234-", "5678입니다", "[PHONE]입니다"),
        ("주민번호 앞자리는 900101 이고요", "뒷자리는 1234567 이에요", "뒷자리는 [RRN] 이에요"),
        ("제 번호는 010-1234", "뒷번호는 5678이에요", "뒷번호는 [PHONE]이에요"),
    ],
)
def test_the_rest_of_a_value_is_masked_even_when_words_come_between_the_two_parts(
    first: str, second: str, second_redacted: str
) -> None:
    assert redact(first).counts, redact(first).text
    assert redact(second, first).text == second_redacted


@pytest.mark.parametrize(
    ("first", "second"),
    [("고객센터 114", "3번 눌렀어요"), ("제 번호는 010", "요금이 5만원 나왔어요"), ("my email is fine", "thanks"),
     ("I waited 10:30 to 11:45", "and then 2 hours")],
)
def test_numbers_of_ordinary_talk_after_one_are_left_alone(first: str, second: str) -> None:
    assert redact(second, first).counts == {}
