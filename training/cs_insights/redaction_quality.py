"""Measured quality of the redaction: recall per kind and format on generated personal data, and
the false-positive rate on text that holds none (generated utterances plus number-heavy cases)."""

from __future__ import annotations

import random
from typing import Any

from edgectl.synthetic.personal_data import PII_FORMATS, pii_value, split_point
from edgectl.synthetic.utterance_phrases import PII_CARRIERS, REQUESTS
from edgectl.synthetic.utterances import UtteranceGenerator
from pipelines.cs_insights.redaction import PiiSpan, find_pii, pii_spans

PII_FREE_HARD_CASES = (
    "이번 달 요금이 55,000원이고 지난달은 132,000원이었어요",
    "2026-11-22에 개통했고 2026.11.22 오후 3시에 방문 예약했어요",
    "5G 슬림 69 요금제랑 LTE 데이터 33 중에 고민이에요",
    "주문번호 20261122-0042 확인 부탁드려요",
    "고객센터 114번이랑 대표번호 1588-0010으로 전화했어요",
    "데이터 100GB 중에 35.5GB 썼어요",
    "강남구 테헤란로 쪽에서 신호가 약해요",
    "서울 강남구 역삼동 근처 기지국 장애인가요",
    "약정 24개월 중 13개월 남았고 위약금이 230,000원이래요",
    "강남구 테헤란로 3시간째 먹통이에요",
    "010으로 시작하는 번호로 문자가 왔어요",
    "2024년 3월 15일에 가입했어요, 가족 4명이 결합했어요",
    "다시 연결로 2번 눌렀어요",
    "my bill went from $64.50 to $120 in October",
    "I signed up on 2026-11-22 at 3:15 pm",
    "the Unlimited Plus 85 plan versus Data 33",
    "I've waited 45 minutes, ticket 4471, case 2026-0042",
    "call 114 from your mobile, or 1588 0010 from a landline",
    "I get 3 bars at Gangnam station and 1 bar at home",
    "my contract has 13 of 24 months left and 2 lines",
    "order number 7734 1190 2231 was shipped on 11/22",
    "I live on the 3rd floor near Gangnam station",
    "the store at Coex Mall opens at 10:30",
    "I was looking at the naver website yesterday",
    "I looked at naver dot com and the plan is cheaper at uplus dot co dot kr",
    # Numbers said in words, and places, that are not personal data either.
    "요금이 오만 오천 원 나왔어요",
    "이천이십육년 십일월 이십이일에 개통했어요",
    "오후 세 시 반에 다시 전화 주세요",
    "삼십 분째 기다리고 있어요",
    "오지 요금제 육십구로 바꾸고 싶어요",
    "고객센터 일일사 번으로 전화했어요",
    "일 년 약정에 이십사 개월 할부예요",
    "데이터 백 기가 중에 삼십오 기가 썼어요",
    "사는 곳 근처 기지국이 문제인가요",
    "이 번호로 문자가 왔어요, 오늘 일이 많아서 이제 전화했어요",
    "일이삼 번 중에 몇 번을 눌러야 하나요",
    "대표번호 일오팔팔 공공일공으로 전화했어요",
    "the bill went from sixty four fifty to one hundred twenty dollars",
    "I signed up on november twenty second, twenty twenty six",
    "I've waited forty five minutes, ticket four four seven one",
    "my plan is the unlimited plus eighty five",
    "call one one four or one five eight eight, double oh one oh",
    "oh no, I was double charged again",
    "I get three bars at home and one at the office",
    "order number seven seven three four one one nine zero",
    "two thousand twenty six was the year I joined",
    "at ten thirty I was looking at naver dot com",
    "the router is on the second floor, room two oh four",
)
"""Text that holds no personal data but plenty of numbers, dates, amounts and place names."""


def _covered(value_span: tuple[int, int], spans: list[PiiSpan]) -> PiiSpan | None:
    start, end = value_span
    return next((s for s in spans if s.start <= start and end <= s.end), None)


def _context(rng: random.Random, language: str) -> str:
    return rng.choice(REQUESTS[rng.choice(tuple(REQUESTS))][language]).format_map(_AnySlot())


def _split_found(value: str, cut: int, before: str, rng: random.Random, language: str) -> bool:
    """Whether both parts of a value split across two utterances of a session are masked."""
    head, tail = value[:cut].rstrip(), value[cut:].lstrip()
    first = f"{_context(rng, language)}. {before}{head}"
    second = f"{tail}. {_context(rng, language)}"
    head_start = len(first) - len(head)
    return (
        _covered((head_start, len(first)), pii_spans(first)) is not None
        and _covered((0, len(tail)), pii_spans(second, first)) is not None
    )


def measure_redaction(*, samples_per_format: int, seed: int, pii_free_utterances: int = 5000) -> dict[str, Any]:
    """Recall per kind (a value counts when one span covers all of it) and per format, the share
    found as the right kind, recall of values split across two utterances (both parts masked),
    and the false-positive rate on PII-free text (anything masked at all)."""
    rng = random.Random(seed)
    recall: dict[str, dict[str, float]] = {}
    split_recall: dict[str, dict[str, float]] = {}
    right_kind: dict[str, float] = {}
    missed: list[str] = []
    for kind, formats in PII_FORMATS.items():
        recall[kind], split_recall[kind] = {}, {}
        correct = total = 0
        for fmt in formats:
            found = split_found = splits = 0
            for _ in range(samples_per_format):
                language = rng.choice(("ko", "en"))
                value = pii_value(kind, fmt, rng)
                text = rng.choice(PII_CARRIERS[language][kind]).format(v=value) + ", " + _context(rng, language)
                start = text.find(value)
                span = _covered((start, start + len(value)), find_pii(text))
                found += span is not None
                correct += span is not None and span.kind == kind
                total += 1
                if span is None and len(missed) < 20:
                    missed.append(f"{kind}/{fmt}: {text}")
                before = rng.choice(PII_CARRIERS[language][kind]).partition("{v}")[0]
                cut = split_point(kind, fmt, value, before)
                if cut is not None:
                    splits += 1
                    split_found += _split_found(value, cut, before, rng, language)
            recall[kind][fmt] = found / samples_per_format
            if splits:
                split_recall[kind][fmt] = split_found / splits
        right_kind[kind] = correct / total
    generator = UtteranceGenerator("kr-seoul", "SYNTH", sessions=100, seed=seed, pii_rate=0.0)
    corpus = list(PII_FREE_HARD_CASES)
    while len(corpus) < pii_free_utterances + len(PII_FREE_HARD_CASES):
        corpus += [e.event["text"] for e in generator.next_round()]
    flagged = {text: [s.kind for s in pii_spans(text)] for text in corpus}
    false_positives = {text: kinds for text, kinds in flagged.items() if kinds}
    return {
        "samples_per_format": samples_per_format,
        "recall_by_kind": {kind: min(by_format.values()) for kind, by_format in recall.items()},
        "recall_by_format": recall,
        "split_recall_by_kind": {kind: min(by_format.values()) for kind, by_format in split_recall.items()},
        "split_recall_by_format": split_recall,
        "right_kind_by_kind": right_kind,
        "pii_free_texts": len(flagged),
        "false_positive_rate": len(false_positives) / len(flagged),
        "hard_case_false_positives": sorted(t for t in false_positives if t in PII_FREE_HARD_CASES),
        "missed_examples": missed,
    }


class _AnySlot(dict[str, str]):
    """Fills every `{slot}` of a request with a neutral word, for context sentences."""

    def __missing__(self, key: str) -> str:
        return "5G"


def redaction_table(report: dict[str, Any]) -> str:
    """The redaction report as a Markdown table."""
    lines = ["| measure | value |", "| --- | --- |"]
    for kind, value in report["recall_by_kind"].items():
        formats = len(report["recall_by_format"][kind])
        lines.append(f"| recall {kind} (worst of {formats} formats x {report['samples_per_format']}) | {value:.3f} |")
    for kind, value in report["split_recall_by_kind"].items():
        formats = len(report["split_recall_by_format"][kind])
        lines.append(f"| recall {kind} split across two utterances (worst of {formats} formats) | {value:.3f} |")
    for kind, value in report["right_kind_by_kind"].items():
        lines.append(f"| found as the right kind, {kind} | {value:.3f} |")
    lines.append(f"| false-positive rate, {report['pii_free_texts']:,} distinct PII-free texts | {report['false_positive_rate']:.4f} |")
    return "\n".join(lines)
