"""End to end against the real broker and a real accelerator process: utterances laden with personal
data of every kind, Korean and English, written and spoken (number words, any separator, spoken
e-mail) and split across turns of a session, go through the customer-service pipeline; each good
one gets one insight, each bad one lands in the DLQ with its reason, and no raw value is to be
found in any key, value or header of any record of any topic the region has, other than the input.
A part of a value split across two turns is not in either turn's insight."""

from __future__ import annotations

import base64
import json
import re

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from edge.settings import EdgeSettings
from edge.topics import SiteTopics
from edgectl.broker import create_topics
from edgectl.synthetic.utterances import UtteranceGenerator
from edgectl.traffic import encode
from pipelines.cs_insights.pipeline import CsInsightsPipeline
from pipelines.cs_insights.redaction import normalise_text, redact
from pipelines.cs_insights.spoken import matching_form
from pipelines.results import result_id
from pipelines.settings import PipelineSettings
from tests.pipelines.cs_insights.leak_search import leaks, needles, views

from .kafka_io import committed, produce, read_topic
from .pipeline_run import run_until_consumed

pytestmark = pytest.mark.integration
REGION, SITE = "kr-seoul", "SEL-GN-0042"
TOPICS = SiteTopics(REGION)

HAND_WRITTEN: list[tuple[str, str, dict[str, str]]] = [
    # (language, text with {placeholders}, the values put in them)
    ("ko", "제 주민번호는 {rrn}이고 연락처는 {phone}예요", {"rrn": "900101-1234567", "phone": "010-2345-6789"}),
    ("ko", "외국인등록번호 {frn} 으로 본인 확인해 주세요", {"frn": "850315-5123456"}),
    ("ko", "카드번호 {card}로 자동이체 바꿔주세요", {"card": "4111-1111-1111-1111"}),
    ("ko", "청구서는 {email}로 보내주시고 주소는 {address}이에요",
     {"email": "minsu.kim@naver.com", "address": "서울특별시 중구 세종대로 110"}),
    ("ko", "번호가 {phone}인데 주민번호 {rrn} 맞아요", {"phone": "０１０－９８７６－５４３２", "rrn": "0402293123456"}),
    ("ko", "메일은 {email}입니다, 집은 {address}", {"email": "jiyoung 골뱅이 daum.net", "address": "부산광역시 해운대구 해운대로 570"}),
    ("en", "my card is {card} and my number is {phone}", {"card": "3782 822463 10005", "phone": "+82 10-3333-4444"}),
    ("en", "send the SIM to {address}, email {email}", {"address": "221 Baker Street, Apt 4B", "email": "john.doe at gmail dot com"}),
    ("en", "my resident registration number is {rrn}, I live at {address}",
     {"rrn": "850315 1234563", "address": "110 Sejong-daero, Jung-gu, Seoul"}),
    ("en", "call me on {phone} or {landline}", {"phone": "01055556666", "landline": "02-735-1234"}),
    ("ko", "번호는 {phone}이고 메일은 {email}이에요", {"phone": "공일공 구팔칠육 오사삼이", "email": "minsu.kim 골뱅이 네이버 닷컴"}),
    ("ko", "카드는 {card}, 주소는 {address}입니다",
     {"card": "사일일일 일일일일 일일일일 일일일일", "address": "서울특별시 중구 세종대로 백십"}),
    ("en", "it's {phone}, email {email}", {"phone": "oh one oh, twenty three forty five, sixty seven eighty nine",
                                           "email": "john dot doe at gmail dot com"}),
    ("en", "my number is {phone} and I live at {address}",
     {"phone": "82 10 3333 4444", "address": "two twenty one Baker Street"}),
    ("ko", "연락처 {phone} 입니다", {"phone": "010 - 7777 -\n8888"}),
]
BAD_VALUES = {
    "rrn": "920304-2345678", "phone": "010-6543-2100", "card": "5105 1051 0510 5100", "email": "hong_gildong@kakao.com",
    "address": "대구광역시 수성구 동대구로 300", "key": "010-8080-9090", "header": "seojun.lee@outlook.com",
}


def _hand_written() -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = []
    for i, (language, template, values) in enumerate(HAND_WRITTEN):
        event = {
            "schema": "cs.utterance.v1", "event_id": f"hand-{i}", "region": REGION, "site_id": SITE,
            "ts": f"2026-11-22T09:00:{i:02d}Z", "session_id": f"chat-hand-{i}", "speaker": "customer",
            "text": template.format(**values), "language": language, "channel": "chat",
        }
        records.append((event["session_id"].encode(), orjson.dumps(event), []))
    return records


def _bad_records() -> list[tuple[str, tuple[bytes | None, bytes, list[tuple[str, bytes]]]]]:
    """(expected reason, record), each record marked by a `marker` header and holding personal data."""
    v = BAD_VALUES
    base = {
        "schema": "cs.utterance.v1", "region": REGION, "site_id": SITE, "ts": "2026-11-22T09:00:00Z",
        "session_id": "call-bad", "speaker": "customer", "language": "ko", "channel": "call",
    }
    cases: list[tuple[str, bytes | None, bytes]] = [
        ("malformed", None, f'{{"schema": "cs.utterance.v1", "text": "주민번호 {v["rrn"]} 전화 {v["phone"]}'.encode()),
        ("malformed", None, b"\xc3\x28 card " + v["card"].encode() + b" \xff"),
        ("schema", None, orjson.dumps(base | {"event_id": "bad-2", "speaker": v["phone"], "text": "hello"})),
        ("schema", None, json.dumps(base | {"event_id": "bad-3", "language": "ja", "text": f"주소 {v['address']}"}).encode()),
        ("schema", v["key"].encode(), orjson.dumps(base | {"event_id": "bad-4", "text": " ", "email": v["email"]})),
        ("residency", None, orjson.dumps(base | {"event_id": "bad-5", "region": "jp-tokyo", "text": f"my email is {v['email']}"})),
        ("residency", None, orjson.dumps(base | {"event_id": "bad-6", "region": v["address"], "text": "요금 문의요"})),
        # region twice: foreign first, ours last (a reader taking the first would call it foreign)
        ("schema", None, b'{"region": "jp-tokyo", ' + orjson.dumps(base | {"event_id": "bad-7", "text": f"카드 {v['card']}"})[1:]),
        ("residency", None, orjson.dumps(base | {"event_id": "bad-8", "site_id": "SEL-GN-0043", "text": f"주민번호 {v['rrn']}"})),
        ("malformed", None, f"주민번호 {v['rrn']} 전화 {v['phone']}".encode("utf-16-le")),
    ]
    out = []
    for i, (reason, key, value) in enumerate(cases):
        headers = [("marker", f"bad-{i}".encode()), ("caller", v["header"].encode())]
        out.append((reason, (key, value, headers)))
    return out


async def _all_topics(bootstrap: str) -> set[str]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return set(await consumer.topics())
    finally:
        await consumer.stop()


async def test_no_raw_personal_data_reaches_any_topic_and_every_utterance_is_accounted_for(
    edge_settings: EdgeSettings,
) -> None:
    bootstrap = edge_settings.kafka_bootstrap_servers
    await create_topics(bootstrap, TOPICS.all(), partitions=3)
    generator = UtteranceGenerator(REGION, SITE, sessions=40, seed=909, pii_rate=0.9, split_rate=0.4)
    generated = []
    for _ in range(6):
        generator.next_round()
        generated += generator.last_round
    parts = [p for u in generated for p in u.pii if p.part != "whole"]
    assert len(parts) > 20, "values are split across turns"
    whole = [p.whole or p.value for u in generated for p in u.pii]
    injected = whole + [v for _, _, values in HAND_WRITTEN for v in values.values()]
    good = [encode(u.labelled) for u in generated] + _hand_written()
    bad = _bad_records()
    await produce(bootstrap, TOPICS.cs_utterances, good + [record for _, record in bad])
    sent = len(good) + len(bad)

    settings = PipelineSettings(session_timeout_ms=6000, metrics_port=0, max_batch_records=100)
    runtime = await run_until_consumed(edge_settings, lambda accel: CsInsightsPipeline(REGION, SITE, accel), sent, settings)
    assert runtime.stats.events_in == sent

    # The search finds every value where it is known to be: the input topic, written raw.
    searched = needles(injected + list(BAD_VALUES.values()))
    inputs = await read_topic(bootstrap, TOPICS.cs_utterances)
    seen_in_input = {n for r in inputs for view in views(r) for n in searched if n in view}
    written = [p.value for u in generated for p in u.pii if p.part == "whole"]
    assert {normalise_text(v) for v in written} <= seen_in_input

    topics = await _all_topics(bootstrap) - {TOPICS.cs_utterances}
    assert {TOPICS.cs_insights, TOPICS.dlq, TOPICS.audit} <= topics
    by_topic = {topic: await read_topic(bootstrap, topic) for topic in sorted(topics)}
    found = leaks([r for records in by_topic.values() for r in records], searched)
    assert found == [], sorted(set(found))

    insights = [orjson.loads(r.value) for r in by_topic[TOPICS.cs_insights]]
    events = [orjson.loads(value) for _, value, _ in good]
    by_event = {i["event_id"]: i for i in insights}
    assert len(insights) == len(events) and set(by_event) == {e["event_id"] for e in events}, "one insight per utterance"
    previous: dict[str, str] = {}
    for event in events:  # each session's turns in the order they were produced
        insight = by_event[event["event_id"]]
        assert insight["redacted_text"] == redact(event["text"], previous.get(event["session_id"], "")).text
        previous[event["session_id"]] = event["text"]
        assert insight["result_id"] == result_id("cs-insights", event["event_id"], "insight")
        assert (insight["emotion"] is None) == (event["speaker"] == "agent")
    for u in generated:
        text = by_event[u.labelled.event["event_id"]]["redacted_text"]
        for p in u.pii:
            assert normalise_text(p.value) not in text, (p, text)
            digits = re.sub(r"[^0-9]", "", matching_form(p.value).text)
            assert len(digits) < 3 or digits not in re.sub(r"[^0-9]", "", text), (p, text)
    for i, (_, _, values) in enumerate(HAND_WRITTEN):
        assert sum(s["count"] for s in by_event[f"hand-{i}"]["redactions"]) == len(values), by_event[f"hand-{i}"]

    reasons = {}
    for record in by_topic[TOPICS.dlq]:
        entry = orjson.loads(record.value)
        headers = {k: base64.b64decode(v) for k, v in entry["original_headers"]}
        reasons[headers["marker"].decode()] = entry["reason"]
        assert headers["caller"] == b"[EMAIL]" and dict(record.headers)["caller"] == b"[EMAIL]"
        assert entry["original"] == "redacted"
        assert entry["pipeline"] == "cs-insights" and entry["value_redacted"] is True
        assert entry["source"]["topic"] == TOPICS.cs_utterances
    assert reasons == {f"bad-{i}": reason for i, (reason, _) in enumerate(bad)}
    audit = [orjson.loads(r.value) for r in by_topic[TOPICS.audit]]
    assert sorted(a["action"] for a in audit) == ["refused-event"] * 3
    assert all("jp-tokyo" not in a["reason"] and "0043" not in a["reason"] for a in audit), "reasons never quote"
    assert runtime.stats.results_out == len(good) and runtime.stats.dlq == len(bad)

    offsets = await committed(bootstrap, runtime.group_id, TOPICS.cs_utterances)
    assert runtime.group_id == "kr-seoul.cs-insights"
    assert sum(offsets.values()) == sent, "every consumed offset is committed after its outputs"
