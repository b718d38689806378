"""The customer-service pipeline against a real accelerator process: one inference call per batch,
one insight per utterance carrying only redacted text, emotion for customers only, deterministic
result ids, and refused records in the DLQ with their personal data redacted."""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest

from accel.model import Tensor
from edge.settings import EdgeSettings
from edgectl.synthetic.utterances import GeneratedUtterance, UtteranceGenerator
from edgectl.traffic import LABEL_HEADER, encode
from pipelines.accel_client import AcceleratorClient, InferResult
from pipelines.cs_insights.intake import MAX_TEXT_CHARS, id_personal_data
from pipelines.cs_insights.model import EMOTIONS, INTENTS
from pipelines.cs_insights.pipeline import CsInsightsPipeline
from pipelines.cs_insights.redaction import RECOGNIZER_VERSION, redact
from pipelines.cs_insights.settings import CsInsightsSettings
from pipelines.outcome import BatchOutcome
from pipelines.records import ConsumedRecord, InboundRecord, OutboundRecord
from pipelines.results import result_id
from training.cs_insights.quality import predict

from .leak_search import leaks, needles

REGION, SITE = "kr-seoul", "SEL-GN-0042"
INPUT = "kr-seoul.cs.utterances"
INSIGHTS, STATE = "kr-seoul.cs.insights", "kr-seoul.state.cs-insights"
MODEL_PATH = Path(__file__).resolve().parents[3] / "accel" / "model_repository" / "cs-insights" / "1" / "model.onnx"
TRACEPARENT = ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")


class CountingAcceleratorClient(AcceleratorClient):
    """The real client, counting the rows of each inference call."""

    calls: list[int]

    async def infer(self, model: str, inputs: Mapping[str, Tensor], outputs: list[str]) -> InferResult:
        self.calls.append(len(inputs["features"]))
        return await super().infer(model, inputs, outputs)


def _settings(accel_port: int = 1) -> EdgeSettings:
    return EdgeSettings(region=REGION, site_id=SITE, accel_targets=f"127.0.0.1:{accel_port}")


def _client(accel_port: int) -> CountingAcceleratorClient:
    client = CountingAcceleratorClient(_settings(accel_port), timeout_s=10, attempts=2)
    client.calls = []
    return client


def _traffic(sessions: int, rounds: int, seed: int, pii_rate: float = 0.6) -> list[GeneratedUtterance]:
    generator = UtteranceGenerator(REGION, SITE, sessions=sessions, seed=seed, pii_rate=pii_rate)
    out: list[GeneratedUtterance] = []
    for _ in range(rounds):
        generator.next_round()
        out += generator.last_round
    return out


def _records(utterances: list[GeneratedUtterance], partition: int = 0) -> list[InboundRecord]:
    records = []
    for offset, u in enumerate(utterances):
        key, value, headers = encode(u.labelled)
        records.append(ConsumedRecord(INPUT, partition, offset, key, value, [TRACEPARENT, *headers]))
    return records


def _insights(outcome: BatchOutcome) -> list[OutboundRecord]:
    """The batch's insight records (beside them: its sessions' churn state, for the changelog)."""
    return [r for r in outcome.outputs if r.topic == INSIGHTS]


async def test_a_batch_is_classified_in_one_call_and_each_utterance_gets_one_insight_with_only_redacted_text(
    accel_port: int,
) -> None:
    utterances = _traffic(sessions=40, rounds=3, seed=31)
    client = _client(accel_port)
    async with client:
        outcome = await CsInsightsPipeline(REGION, SITE, client).process(_records(utterances), asyncio.Event())
    assert client.calls == [120], "one request carries every utterance of the batch"
    assert (outcome.events_in, outcome.results, outcome.dlq) == (120, 120, 0)
    assert {r.topic for r in outcome.outputs} == {INSIGHTS, STATE}
    injected = [p.value for u in utterances for p in u.pii]
    assert len(injected) > 30
    assert leaks(outcome.outputs, needles(injected)) == [], "nor in the churn state"
    intent_probs, _ = predict(MODEL_PATH, [redact(u.labelled.event["text"]).text for u in utterances])
    for u, record, row in zip(utterances, _insights(outcome), intent_probs, strict=True):
        event, insight = u.labelled.event, orjson.loads(record.value)
        redaction = redact(event["text"])
        assert record.key == event["session_id"].encode()
        assert insight["schema"] == "cs.insight.v1" and "text" not in insight
        assert {k: insight[k] for k in ("event_id", "region", "site_id", "ts", "session_id", "speaker", "channel", "language")} == {
            k: event[k] for k in ("event_id", "region", "site_id", "ts", "session_id", "speaker", "channel", "language")
        }
        assert insight["redacted_text"] == redaction.text
        assert insight["redactions"] == redaction.summary()
        assert {s["kind"] for s in insight["redactions"]} >= {p.kind for p in u.pii}
        assert insight["recognizer_version"] == RECOGNIZER_VERSION
        assert insight["model"] == {"name": "cs-insights", "version": "1"}
        assert insight["intent"]["label"] == INTENTS[int(row.argmax())], "the accelerator ran the shipped model"
        assert insight["intent"]["confidence"] == pytest.approx(float(row.max()), abs=1e-3)


async def test_batches_above_the_row_limit_are_chunked_with_the_same_insights(accel_port: int) -> None:
    records = _records(_traffic(sessions=10, rounds=2, seed=32))
    chunked_client, whole_client = _client(accel_port), _client(accel_port)
    async with chunked_client, whole_client:
        chunked = await CsInsightsPipeline(REGION, SITE, chunked_client, max_rows_per_call=7).process(records, asyncio.Event())
        whole = await CsInsightsPipeline(REGION, SITE, whole_client).process(records, asyncio.Event())
    assert chunked_client.calls == [7, 7, 6] and whole_client.calls == [20]
    assert [r.value for r in chunked.outputs] == [r.value for r in whole.outputs]


def test_a_row_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_rows_per_call must be >= 1"):
        CsInsightsPipeline(REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1), max_rows_per_call=0)


async def test_emotion_is_published_for_customer_turns_only_and_agents_never_move_the_churn_risk(accel_port: int) -> None:
    utterances = _traffic(sessions=30, rounds=6, seed=33)
    async with _client(accel_port) as client:
        outcome = await CsInsightsPipeline(REGION, SITE, client).process(_records(utterances), asyncio.Event())
    customer_turns: Counter[str] = Counter()
    speakers: Counter[str] = Counter()
    for u, record in zip(utterances, _insights(outcome), strict=True):
        insight = orjson.loads(record.value)
        speaker = u.labelled.event["speaker"]
        speakers[speaker] += 1
        if speaker == "customer":
            customer_turns[insight["session_id"]] += 1
            assert insight["emotion_assessed"] is True and insight["emotion"]["label"] in EMOTIONS
            assert 0 < insight["emotion"]["confidence"] <= 1
        else:
            assert insight["emotion_assessed"] is False and insight["emotion"] is None
        churn = insight["churn_risk"]
        assert churn["customer_turns"] == customer_turns[insight["session_id"]]
        assert churn["level"] in ("low", "medium", "high") and 0 < churn["score"] < 1
    assert speakers["agent"] > 20 and speakers["customer"] > 20
    assert outcome.anomalies == sum(1 for r in _insights(outcome) if orjson.loads(r.value)["churn_risk"]["level"] == "high")


async def test_result_ids_are_deterministic_so_a_redelivered_batch_gives_the_same_insights(accel_port: int) -> None:
    records = _records(_traffic(sessions=10, rounds=2, seed=34))
    async with _client(accel_port) as client:
        first = await CsInsightsPipeline(REGION, SITE, client).process(records, asyncio.Event())
        again = await CsInsightsPipeline(REGION, SITE, client).process(records, asyncio.Event())
    for record in _insights(first):
        insight = orjson.loads(record.value)
        assert insight["result_id"] == result_id("cs-insights", insight["event_id"], "insight")
    assert [r.value for r in first.outputs] == [r.value for r in again.outputs]
    assert len({orjson.loads(r.value)["result_id"] for r in _insights(first)}) == len(records)


async def test_an_insight_carries_its_events_trace_context_and_no_other_header(accel_port: int) -> None:
    records = _records(_traffic(sessions=3, rounds=1, seed=35))
    assert all(any(k == LABEL_HEADER for k, _ in r.headers) for r in records)
    async with _client(accel_port) as client:
        outcome = await CsInsightsPipeline(REGION, SITE, client).process(records, asyncio.Event())
    assert [r.headers for r in _insights(outcome)] == [[TRACEPARENT]] * 3


async def test_the_sessions_of_a_revoked_partition_are_forgotten_and_the_others_kept(accel_port: int) -> None:
    utterances = [u for u in _traffic(sessions=8, rounds=6, seed=36) if u.labelled.event["speaker"] == "customer"]
    sessions = list(dict.fromkeys(u.labelled.event["session_id"] for u in utterances))
    on_p0 = [u for u in utterances if sessions.index(u.labelled.event["session_id"]) % 2 == 0]
    on_p1 = [u for u in utterances if sessions.index(u.labelled.event["session_id"]) % 2 == 1]
    async with _client(accel_port) as client:
        pipeline = CsInsightsPipeline(REGION, SITE, client)
        await pipeline.process(_records(on_p0, partition=0) + _records(on_p1, partition=1), asyncio.Event())
        pipeline.forget_keys([(INPUT, 0)])
        repeat = [on_p0[0], on_p1[0]]
        outcome = await pipeline.process(_records(repeat[:1], partition=0) + _records(repeat[1:], partition=1), asyncio.Event())
    p1_turns = sum(1 for u in on_p1 if u.labelled.event["session_id"] == repeat[1].labelled.event["session_id"])
    after = [orjson.loads(r.value)["churn_risk"]["customer_turns"] for r in _insights(outcome)]
    assert p1_turns >= 2 and after == [1, p1_turns + 1]


def _utterance(**changes: Any) -> dict[str, Any]:
    event = {
        "schema": "cs.utterance.v1", "event_id": "5b0c3f9e-7d1a-4a63-9b51-0c6f1f7d2e10", "region": REGION,
        "site_id": SITE, "ts": "2026-11-22T09:00:00Z", "session_id": "call-0042", "speaker": "customer",
        "text": "요금제 변경하고 싶어요", "language": "ko", "channel": "call",
    }
    return event | changes


PII = {
    "rrn": "900101-1234567", "frn": "850315-5123456", "phone": "010-2345-6789", "phone2": "010-4444-5555",
    "phone3": "010-1212-3434", "card": "4111 1111 1111 1111", "amex": "3782 822463 10005",
    "email": "minsu.kim@naver.com", "email2": "john.doe@gmail.com", "address": "서울특별시 중구 세종대로 110",
    "address_en": "221 Baker Street", "key_phone": "010-7777-8888",
}


def _bad_records() -> list[tuple[str, InboundRecord]]:
    """(expected reason, record) for records that must be refused, every one holding personal data."""
    p = PII
    bad: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]] = [
        ("malformed", None, f'{{"schema": "cs.utterance.v1", "text": "주민번호는 {p["rrn"]}이고 번호는 {p["phone"]}'.encode(), []),
        ("malformed", None, b"\xff\xfe " + p["phone2"].encode() + b" \xc0 " + p["email"].encode(), []),
        ("schema", None, orjson.dumps(_utterance(speaker="bot", text=f"카드번호 {p['card']}로 결제했어요")), []),
        ("schema", None, orjson.dumps(_utterance(speaker=p["phone3"])), []),
        ("schema", None, json.dumps(_utterance(language="ja", text=f"주소는 {p['address']}이에요")).encode(), []),
        ("schema", None, orjson.dumps(_utterance(text=f"email me at {p['email2']} " + "x" * MAX_TEXT_CHARS)), []),
        ("schema", None, orjson.dumps(_utterance(ts=p["amex"])), []),
        ("schema", p["key_phone"].encode(), orjson.dumps(_utterance(session_id="", text=f"I live at {p['address_en']}")),
         [TRACEPARENT, ("caller", p["email"].encode())]),
        ("residency", None, orjson.dumps(_utterance(region="jp-tokyo", text=f"외국인등록번호는 {p['frn']}예요")), []),
        ("residency", None, orjson.dumps(_utterance(region=p["address"])), []),
    ]
    return [(reason, ConsumedRecord(INPUT, 3, 100 + i, key, value, headers)) for i, (reason, key, value, headers) in enumerate(bad)]


async def test_refused_records_go_to_the_dlq_and_audit_with_their_personal_data_redacted_everywhere() -> None:
    bad = _bad_records()
    # Never started: a call to it would fail, and none is needed for a batch of refusals.
    pipeline = CsInsightsPipeline(REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1))
    outcome = await pipeline.process([record for _, record in bad], asyncio.Event())
    dlq = [orjson.loads(r.value) for r in outcome.outputs if r.topic == "kr-seoul.dlq"]
    audit = [orjson.loads(r.value) for r in outcome.outputs if r.topic == "kr-seoul.audit"]
    assert [d["reason"] for d in dlq] == [reason for reason, _ in bad]
    assert outcome.dlq == len(bad) and outcome.results == 0
    assert outcome.dlq_by_reason == dict(Counter(reason for reason, _ in bad))
    assert leaks(outcome.outputs, needles(list(PII.values()))) == []
    for entry, (_, record) in zip(dlq, bad, strict=True):
        assert entry["pipeline"] == "cs-insights" and entry["value_redacted"] is True
        assert entry["recognizer_version"] == RECOGNIZER_VERSION
        assert entry["source"] == {"topic": INPUT, "partition": 3, "offset": record.offset}
        assert entry["redactions"], "every refused record held personal data, and says which kinds"
        assert base64.b64decode(entry["original_value_b64"]) != record.value
    assert "field 'speaker' must be one of customer, agent" in dlq[2]["detail"]
    assert "field 'speaker'" in dlq[3]["detail"] and "got a string of 13 characters" in dlq[3]["detail"]
    assert "field 'language' must be one of ko, en" in dlq[4]["detail"]
    assert {"kind": "ADDRESS", "count": 1} in dlq[4]["redactions"], "JSON-escaped Korean is redacted too"
    assert f"the limit is {MAX_TEXT_CHARS}" in dlq[5]["detail"]
    assert "field 'ts'" in dlq[6]["detail"]
    assert "field 'session_id'" in dlq[7]["detail"]
    assert "not this site's region 'kr-seoul'" in dlq[8]["detail"] and "jp-tokyo" not in dlq[8]["detail"]
    redacted_key = next(r for r in outcome.outputs if r.topic == "kr-seoul.dlq" and r.key is not None)
    assert redacted_key.key == b"[PHONE]" and base64.b64decode(dlq[7]["original_key_b64"]) == b"[PHONE]"
    assert redacted_key.headers == [TRACEPARENT, ("caller", b"[EMAIL]")], "trace context is kept as it was"
    assert [a["action"] for a in audit] == ["refused-event", "refused-event"]
    assert "not this site's region" in audit[0]["reason"] and all("original_value_b64" not in a for a in audit)
    assert [a["source"]["offset"] for a in audit] == [bad[8][1].offset, bad[9][1].offset]


@pytest.mark.parametrize("field", ["speaker", "language", "channel"])
async def test_a_refusal_of_a_field_names_what_it_allows_and_never_quotes_what_it_got(field: str) -> None:
    """A name is personal data no recognizer finds: a refused value is described, not quoted."""
    value = orjson.dumps(_utterance(**{field: "Kim Minsu " + PII["phone"]}))
    pipeline = CsInsightsPipeline(REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1))
    outcome = await pipeline.process([ConsumedRecord(INPUT, 0, 0, None, value)], asyncio.Event())
    (entry,) = [orjson.loads(r.value) for r in outcome.outputs]
    assert entry["reason"] == "schema" and f"field {field!r} must be one of" in entry["detail"]
    assert "Minsu" not in entry["detail"] and "2345" not in entry["detail"], entry["detail"]
    assert "a string of 23 characters" in entry["detail"]


@pytest.mark.parametrize("field", ["ts", "event_id", "schema"])
async def test_an_envelope_refusal_never_holds_part_of_a_value_cut_short(field: str) -> None:
    """Envelope messages quote 80 characters; a number straddling the cut is redacted first."""
    value = orjson.dumps(_utterance(**{field: "y" * 72 + PII["phone"]} if field != "event_id" else {field: 7}))
    if field == "event_id":  # a non-string id is quoted; put the number where the cut falls
        value = value.replace(b'"event_id":7', b'"event_id":["' + b"y" * 70 + PII["phone"].encode() + b'"]')
    pipeline = CsInsightsPipeline(REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1))
    outcome = await pipeline.process([ConsumedRecord(INPUT, 0, 0, None, value)], asyncio.Event())
    (entry,) = [orjson.loads(r.value) for r in outcome.outputs]
    assert entry["reason"] == "schema" and f"field {field!r}" in entry["detail"], entry["detail"]
    assert "010-23" not in entry["detail"] and "2345" not in entry["detail"], entry["detail"]


@pytest.mark.parametrize("field", ["session_id", "event_id"])
async def test_an_utterance_whose_id_holds_personal_data_is_refused_without_publishing_it(field: str) -> None:
    value = orjson.dumps(_utterance(**{field: f"cust-{PII['phone']}"}))
    pipeline = CsInsightsPipeline(REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1))
    outcome = await pipeline.process([ConsumedRecord(INPUT, 0, 0, None, value)], asyncio.Event())
    (entry,) = [orjson.loads(r.value) for r in outcome.outputs]
    assert entry["reason"] == "schema" and f"field {field!r} holds personal data (PHONE)" in entry["detail"]
    assert leaks(outcome.outputs, needles([PII["phone"]])) == []


async def test_only_a_well_formed_traceparent_passes_and_tracestate_stays_behind(accel_port: int) -> None:
    utterance = _traffic(sessions=1, rounds=1, seed=38)[0]
    key, value, _ = encode(utterance.labelled)
    headers = [TRACEPARENT, ("tracestate", f"crm=caller:{PII['email']}".encode())]
    forged = [("traceparent", f"00-{PII['phone']}-x-01".encode())]
    records = [ConsumedRecord(INPUT, 0, 0, key, value, headers), ConsumedRecord(INPUT, 0, 1, key, value, forged)]
    async with _client(accel_port) as client:
        outcome = await CsInsightsPipeline(REGION, SITE, client).process(records, asyncio.Event())
    assert [r.headers for r in _insights(outcome)] == [[TRACEPARENT], []]


async def test_good_and_refused_records_in_one_batch_are_each_accounted_for_once(accel_port: int) -> None:
    utterances = _traffic(sessions=5, rounds=2, seed=37)
    bad = _bad_records()
    records = _records(utterances) + [r for _, r in bad]
    client = _client(accel_port)
    async with client:
        outcome = await CsInsightsPipeline(REGION, SITE, client).process(records, asyncio.Event())
    assert client.calls == [len(utterances)], "refused records never reach the accelerator"
    assert outcome.results == len(utterances) and outcome.dlq == len(bad)
    insights = [orjson.loads(r.value) for r in _insights(outcome)]
    assert [i["event_id"] for i in insights] == [u.labelled.event["event_id"] for u in utterances]


def test_the_pipeline_reads_and_writes_only_its_regions_customer_service_topics() -> None:
    pipeline = CsInsightsPipeline(REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1))
    assert pipeline.name == "cs-insights"
    assert pipeline.input_topics == [INPUT]
    assert pipeline.output_topics == ["kr-seoul.cs.insights", "kr-seoul.dlq", "kr-seoul.audit"]


def test_the_leak_search_finds_raw_values_in_keys_headers_and_base64() -> None:
    """The search the tests above rely on finds a value in every place a record could hold it."""
    body = {"original_value_b64": base64.b64encode("０１０－２３４５－６７８９".encode()).decode()}
    record = OutboundRecord("t", b"k", orjson.dumps(body), [("h", b"x")])
    assert {n for n, _ in leaks([record], needles([PII["phone"]]))} == {"010-2345-6789"}
    record = OutboundRecord("t", b"01023456789", b"{}", [("h", PII["email"].encode())])
    assert {n for n, _ in leaks([record], needles([PII["phone"], PII["email"]]))} == {"01023456789", PII["email"]}


async def test_a_value_split_across_turns_is_masked_in_both_insights_within_a_batch_and_across_batches(
    accel_port: int,
) -> None:
    turns = [("call-7", "제 번호는 010-1234"), ("call-8", "요금제 문의요"), ("call-7", "5678이에요"),
             ("call-7", "카드는 4111 1111 1111"), ("call-7", "1111입니다")]
    records = [
        ConsumedRecord(INPUT, 0, i, s.encode(), orjson.dumps(_utterance(event_id=f"e-{i}", session_id=s, text=t)))
        for i, (s, t) in enumerate(turns)
    ]
    async with _client(accel_port) as client:
        pipeline = CsInsightsPipeline(REGION, SITE, client)
        first = await pipeline.process(records[:4], asyncio.Event())
        second = await pipeline.process(records[4:], asyncio.Event())
        stranger = CsInsightsPipeline(REGION, SITE, client)
        alone = await stranger.process(records[4:], asyncio.Event())
    texts = [orjson.loads(r.value)["redacted_text"] for r in _insights(first) + _insights(second)]
    assert texts == ["제 번호는 [PHONE]", "요금제 문의요", "[PHONE]이에요", "카드는 [CARD]", "[CARD]입니다"]
    assert orjson.loads(_insights(alone)[0].value)["redacted_text"] == "1111입니다", "only its own session's turn joins"


async def test_a_session_whose_partition_moved_is_not_joined_to_its_old_turns(accel_port: int) -> None:
    first = ConsumedRecord(INPUT, 0, 0, b"call-9", orjson.dumps(_utterance(event_id="e-0", session_id="call-9", text="card 4111 1111 1111")))
    second = ConsumedRecord(INPUT, 0, 1, b"call-9", orjson.dumps(_utterance(event_id="e-1", session_id="call-9", text="1111 please")))
    async with _client(accel_port) as client:
        pipeline = CsInsightsPipeline(REGION, SITE, client)
        await pipeline.process([first], asyncio.Event())
        assert len(pipeline.tails) == 1
        pipeline.forget_keys([(INPUT, 0)])
        assert len(pipeline.tails) == 0
        after = await pipeline.process([second], asyncio.Event())
    assert orjson.loads(_insights(after)[0].value)["redacted_text"] == "1111 please"


async def test_with_originals_omitted_a_dlq_record_keeps_no_copy_of_the_refused_record() -> None:
    bad = _bad_records()
    settings = CsInsightsSettings(dlq_originals="omitted")
    pipeline = CsInsightsPipeline(REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1), settings=settings)
    outcome = await pipeline.process([record for _, record in bad], asyncio.Event())
    dlq = [(r, orjson.loads(r.value)) for r in outcome.outputs if r.topic == "kr-seoul.dlq"]
    assert len(dlq) == len(bad)
    for record, entry in dlq:
        assert entry["original"] == "omitted" and entry["original_value_b64"] is None and entry["original_key_b64"] is None
        assert entry["original_headers"] in ([], [["traceparent", base64.b64encode(TRACEPARENT[1]).decode()]])
        assert record.key is None and all(k == "traceparent" for k, _ in record.headers)
    assert leaks(outcome.outputs, needles(list(PII.values()))) == []


async def test_header_names_and_utf16_originals_are_redacted_in_the_dlq() -> None:
    utf16 = f"전화 {PII['phone']} 주세요".encode("utf-16-le")
    headers = [(PII["email"], b"x"), ("x-caller", PII["phone2"].encode("utf-16-be"))]
    record = ConsumedRecord(INPUT, 0, 0, None, utf16, headers)
    pipeline = CsInsightsPipeline(REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1))
    outcome = await pipeline.process([record], asyncio.Event())
    (out,) = outcome.outputs
    entry = orjson.loads(out.value)
    assert entry["reason"] == "malformed" and entry["original"] == "redacted"
    assert [k for k, _ in entry["original_headers"]] == ["[EMAIL]", "x-caller"]
    assert [k for k, _ in out.headers] == ["[EMAIL]", "x-caller"]
    original = base64.b64decode(entry["original_value_b64"]).replace(b"\x00", b"")
    assert b"2345" not in original and b"[PHONE]" in original
    assert b"4444" not in base64.b64decode(entry["original_headers"][1][1]).replace(b"\x00", b"")
    assert {r["kind"] for r in entry["redactions"]} == {"EMAIL", "PHONE"}


@pytest.mark.parametrize("field", ["region", "site_id", "session_id", "text", "speaker"])
async def test_an_utterance_that_names_a_field_twice_is_refused_whatever_value_comes_last(field: str) -> None:
    good = orjson.dumps(_utterance()).decode()
    twice = "{" + f'"{field}": "x-{field}", ' + good[1:]
    pipeline = CsInsightsPipeline(REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1))
    outcome = await pipeline.process([ConsumedRecord(INPUT, 0, 0, None, twice.encode())], asyncio.Event())
    (entry,) = [orjson.loads(r.value) for r in outcome.outputs]
    assert entry["reason"] == "schema" and f"field {field!r} appears more than once" in entry["detail"]


async def test_an_utterance_of_another_site_of_the_region_is_refused_and_audited() -> None:
    value = orjson.dumps(_utterance(site_id="SEL-GN-0043", text=f"제 번호는 {PII['phone']}"))
    pipeline = CsInsightsPipeline(REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1))
    outcome = await pipeline.process([ConsumedRecord(INPUT, 0, 0, None, value)], asyncio.Event())
    dlq, audit = (orjson.loads(r.value) for r in outcome.outputs)
    assert dlq["reason"] == "residency" and audit["action"] == "refused-event"
    assert "SEL-GN-0042" in audit["reason"] and "0043" not in audit["reason"]
    served = CsInsightsPipeline(
        REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1), served_site_ids={SITE, "SEL-GN-0043"}
    )
    assert served.intake.screen([ConsumedRecord(INPUT, 0, 0, None, value)], BatchOutcome()) != []


@pytest.mark.parametrize(
    ("field", "value"),
    [("event_id", "a b"), ("event_id", "x" * 129), ("session_id", "세션-1"), ("session_id", "-lead"),
     ("session_id", "tel01012345678"), ("event_id", "minsu.kim@naver.com"), ("ts", "2026-11-22 09:00:00Z")],
)
async def test_ids_and_times_outside_their_strict_patterns_are_refused_without_being_quoted(field: str, value: str) -> None:
    record = ConsumedRecord(INPUT, 0, 0, None, orjson.dumps(_utterance(**{field: value})))
    pipeline = CsInsightsPipeline(REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1))
    outcome = await pipeline.process([record], asyncio.Event())
    (entry,) = [orjson.loads(r.value) for r in outcome.outputs]
    assert entry["reason"] == "schema" and f"field {field!r}" in entry["detail"]
    assert value not in entry["detail"]


def test_ids_with_hex_runs_that_look_like_numbers_are_still_opaque_ids() -> None:
    for opaque in ("f86668c16d0548189450", "chat-a41244f0801247718688", "313874cddfbc423db246548991270564"):
        assert id_personal_data(opaque) == [], opaque
    assert id_personal_data("call-010-1234-5678") == ["PHONE"] and id_personal_data("01012345678") == ["PHONE"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("ts", "minsu.kim@naver.com"), ("schema", "010 1234 5678"), ("site_id", ["Kim Minsu"]), ("ts", "010\n1234\n5678")],
)
async def test_an_envelope_refusal_describes_the_value_and_never_quotes_it(field: str, value: object) -> None:
    record = ConsumedRecord(INPUT, 0, 0, None, orjson.dumps(_utterance(**{field: value})))
    pipeline = CsInsightsPipeline(REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1))
    outcome = await pipeline.process([record], asyncio.Event())
    detail = orjson.loads(outcome.outputs[0].value)["detail"]
    assert f"field {field!r}" in detail and ("a string of" in detail or "a list" in detail), detail
    assert not any(part in detail for part in ("minsu", "1234", "5678", "Minsu")), detail


async def test_a_dlq_copy_reads_json_escapes_so_an_escaped_line_break_splits_no_number() -> None:
    text = "제 010\\n1234\\n5678, 4111\\n1111\\n1111\\n1111, 010\\/9999\\/8888"  # JSON escapes, as written
    raw = ('{"schema": "cs.utterance.v1", "speaker": "bot", "text": "' + text + '"}').encode()
    pipeline = CsInsightsPipeline(REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1))
    outcome = await pipeline.process([ConsumedRecord(INPUT, 0, 0, None, raw)], asyncio.Event())
    copy = base64.b64decode(orjson.loads(outcome.outputs[0].value)["original_value_b64"])
    assert b"1234" not in copy and b"1111" not in copy and b"9999" not in copy, copy
