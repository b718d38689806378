"""The synthetic contact centre: reproducible per seed, `cs.utterance.v1` events that the pipeline
accepts, labels that follow each session's arc, held-out phrasings kept apart from training ones,
and ground truth for every personal-data value it injects."""

from __future__ import annotations

import itertools
import re
import uuid
from collections import Counter, defaultdict
from datetime import datetime

import pytest

from edgectl.synthetic.personal_data import PII_FORMATS
from edgectl.synthetic.utterance_phrases import REQUESTS, RESOLVED
from edgectl.synthetic.utterances import (
    ARCS,
    COMPLAINTS,
    EMOTIONS,
    EXIT_INTENTS,
    HELD_OUT_EVERY,
    SCHEMA,
    GeneratedUtterance,
    Phrasings,
    UtteranceGenerator,
)
from edgectl.synthetic.utterances import INTENTS as GENERATOR_INTENTS
from pipelines.cs_insights import model
from pipelines.cs_insights.intake import check_utterance_fields
from pipelines.events import check_envelope

REGION, SITE = "kr-seoul", "SEL-GN-0042"


def run(rounds: int, **options: object) -> list[GeneratedUtterance]:
    generator = UtteranceGenerator(REGION, SITE, **options)  # type: ignore[arg-type]
    out: list[GeneratedUtterance] = []
    for _ in range(rounds):
        events = generator.next_round()
        assert [u.labelled for u in generator.last_round] == events
        out += generator.last_round
    return out


def test_the_same_seed_gives_the_same_traffic_and_another_seed_other_traffic() -> None:
    assert run(10, sessions=20, seed=7) == run(10, sessions=20, seed=7)
    first = [u.labelled.event["text"] for u in run(10, sessions=20, seed=7)]
    other = [u.labelled.event["text"] for u in run(10, sessions=20, seed=8)]
    assert first != other


def test_every_round_has_one_turn_per_session_and_time_moves_forward() -> None:
    generator = UtteranceGenerator(REGION, SITE, sessions=30, seed=1)
    previous: datetime | None = None
    for _ in range(8):
        events = [e.event for e in generator.next_round()]
        assert len(events) == 30 and len({e["session_id"] for e in events}) == 30
        (ts,) = {e["ts"] for e in events}
        now = datetime.fromisoformat(ts)
        assert previous is None or now > previous
        previous = now


def test_events_carry_the_envelope_and_fields_the_design_names_and_pass_the_pipelines_intake() -> None:
    utterances = run(12, sessions=40, seed=3, pii_rate=0.5)
    event_ids = set()
    for u in utterances:
        event = u.labelled.event
        assert set(event) == {"schema", "event_id", "region", "site_id", "ts", "session_id", "speaker", "text",
                              "language", "channel"}
        assert event["schema"] == SCHEMA == "cs.utterance.v1"
        assert (event["region"], event["site_id"]) == (REGION, SITE)
        assert uuid.UUID(event["event_id"]).version == 4
        event_ids.add(event["event_id"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", event["ts"]), event["ts"]
        assert event["speaker"] in ("customer", "agent")
        assert event["language"] in ("ko", "en") and event["channel"] in ("call", "chat")
        assert event["session_id"].startswith(f"{event['channel']}-")
        assert isinstance(event["text"], str) and event["text"].strip()
        assert u.labelled.key == event["session_id"], "keyed by the customer session"
        check_envelope(event, SCHEMA)
        check_utterance_fields(event)
    assert len(event_ids) == len(utterances)


def test_a_session_keeps_its_language_and_channel() -> None:
    seen: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for u in run(15, sessions=30, seed=4):
        seen[u.labelled.event["session_id"]].add((u.labelled.event["language"], u.labelled.event["channel"]))
    assert all(len(pairs) == 1 for pairs in seen.values())


def test_the_korean_share_sets_the_language_of_sessions() -> None:
    assert {u.labelled.event["language"] for u in run(5, sessions=30, seed=5, korean_share=1.0)} == {"ko"}
    assert {u.labelled.event["language"] for u in run(5, sessions=30, seed=5, korean_share=0.0)} == {"en"}
    sessions = {u.labelled.event["session_id"]: u.labelled.event["language"] for u in run(1, sessions=500, seed=5)}
    assert 0.5 < Counter(sessions.values())["ko"] / len(sessions) < 0.7, "60% Korean by default"


def test_labels_are_an_intent_and_an_emotion_the_model_knows_and_agents_are_labelled_calm() -> None:
    assert GENERATOR_INTENTS == model.INTENTS and EMOTIONS == model.EMOTIONS, "the same columns, in order"
    speakers: Counter[str] = Counter()
    for u in run(10, sessions=40, seed=6):
        assert u.labelled.label is not None
        intent, emotion = u.labelled.label.split("/")
        assert intent in model.INTENTS and emotion in model.EMOTIONS
        speakers[u.labelled.event["speaker"]] += 1
        if u.labelled.event["speaker"] == "agent":
            assert emotion == "calm", "an agent's emotion is never a label"
    assert speakers["customer"] > 0 and speakers["agent"] > 0


def test_customer_turns_follow_their_sessions_arc() -> None:
    turns: dict[str, list[tuple[str, str]]] = defaultdict(list)
    arcs: dict[str, str] = {}
    for u in run(30, sessions=60, seed=8):
        event = u.labelled.event
        arcs[event["session_id"]] = u.arc
        if event["speaker"] == "customer":
            assert u.labelled.label is not None
            intent, emotion = u.labelled.label.split("/")
            turns[event["session_id"]].append((intent, emotion))
    complete = 0
    for session_id, said in turns.items():
        arc = ARCS[arcs[session_id]]
        mains = {intent for (planned, _), (intent, _) in zip(arc, said, strict=False) if planned == "main"}
        assert len(mains) <= 1, (arcs[session_id], said)
        main = mains.pop() if mains else "main"  # not said yet
        assert main not in EXIT_INTENTS + ("other",)
        if arcs[session_id] in ("escalating", "porting_threat", "repeated_complaint") and main != "main":
            assert main in COMPLAINTS
        expected = [(main if planned == "main" else planned, emotion) for planned, emotion in arc]
        assert said == expected[: len(said)], (arcs[session_id], said)
        complete += len(said) == len(expected)
    assert complete > 100 and set(arcs.values()) == set(ARCS)


def _template(text: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[a-z]+\\\}", ".+?", re.escape(text)))


@pytest.mark.parametrize("phrasings", ["train", "held_out"])
def test_held_out_phrasings_never_appear_in_training_traffic_and_vice_versa(phrasings: Phrasings) -> None:
    def split(items: tuple[str, ...]) -> tuple[list[str], list[str]]:
        held = [x for i, x in enumerate(items) if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1]
        return held, [x for x in items if x not in held]

    checked = 0
    for u in run(10, sessions=100, seed=9, pii_rate=0.0, phrasings=phrasings):
        event = u.labelled.event
        if event["speaker"] != "customer":
            continue
        assert u.labelled.label is not None
        intent, emotion = u.labelled.label.split("/")
        resolved = emotion == "satisfied" and intent != "other"
        held, kept = split(RESOLVED[event["language"]] if resolved else REQUESTS[intent][event["language"]])
        mine, other = (held, kept) if phrasings == "held_out" else (kept, held)
        assert any(_template(t).search(event["text"]) for t in mine), event["text"]
        assert not any(_template(t).search(event["text"]) for t in other), event["text"]
        checked += 1
    assert checked > 300


def test_injected_personal_data_is_where_the_ground_truth_says_in_every_kind_and_format() -> None:
    utterances = run(20, sessions=100, seed=10, pii_rate=1.0)
    formats = set()
    carriers = Counter[str]()
    for u in utterances:
        text = u.labelled.event["text"]
        for pii in u.pii:
            assert text[pii.start : pii.end] == pii.value, (pii, text)
            assert pii.fmt in PII_FORMATS[pii.kind]
            formats.add((pii.kind, pii.fmt))
            carriers[u.labelled.event["speaker"]] += 1
        spans = sorted((p.start, p.end) for p in u.pii)
        assert all(a[1] < b[0] for a, b in itertools.pairwise(spans)), "values never overlap"
    assert formats == {(kind, fmt) for kind, fmts in PII_FORMATS.items() for fmt in fmts}
    assert carriers["customer"] > carriers["agent"] > 0, "agents read personal data back, less often"


def test_the_pii_rate_sets_how_often_a_customer_turn_carries_personal_data() -> None:
    assert not any(u.pii for u in run(10, sessions=50, seed=11, pii_rate=0.0))
    customer = [u for u in run(10, sessions=100, seed=11, pii_rate=0.3) if u.labelled.event["speaker"] == "customer"]
    share = sum(1 for u in customer if u.pii) / len(customer)
    assert 0.22 < share < 0.38, share


def test_an_agent_opening_a_session_never_carries_personal_data() -> None:
    openers = []
    seen: set[str] = set()
    for u in run(3, sessions=200, seed=12, pii_rate=1.0):
        session_id = u.labelled.event["session_id"]
        if session_id not in seen:
            seen.add(session_id)
            if u.labelled.event["speaker"] == "agent":
                openers.append(u)
    assert len(openers) > 50 and not any(u.pii for u in openers)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sessions": 0}, "sessions must be >= 1"),
        ({"pii_rate": 1.5}, "pii_rate must be within"),
        ({"korean_share": -0.1}, "korean_share must be within"),
    ],
)
def test_impossible_options_are_refused_naming_the_option(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        UtteranceGenerator(REGION, SITE, **options)  # type: ignore[arg-type]
