"""Synthetic contact-centre utterances (`cs.utterance.v1`): Korean and English calls and chats
whose sessions follow arcs (resolved, escalating to cancellation, threatening to port, retained),
with labelled intent and emotion and personal data injected in many formats.

Phrasings are split: every fourth alternative of each phrase list is held out, so a model trained
on `phrasings="train"` is measured on `phrasings="held_out"` wordings it has never seen.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from edgectl.synthetic import LabelledEvent
from edgectl.synthetic.cell_kpi import rfc3339
from edgectl.synthetic.personal_data import NEEDS_ADDRESS_CUE, PII_FORMATS, pii_value, split_point
from edgectl.synthetic.utterance_phrases import (
    ABOUT,
    AGENT_GENERIC,
    AGENT_PII,
    AGENT_TOPIC,
    CHAT_MARKS,
    CUES,
    PII_CARRIERS,
    REQUESTS,
    RESOLVED,
    SLOTS,
    TONES,
    TOPICS,
)

SCHEMA = "cs.utterance.v1"
INTENTS = ("billing_dispute", "plan_change", "roaming", "coverage_outage", "device_issue",
           "number_porting", "cancellation", "sim_esim", "fraud_security", "other")
EMOTIONS = ("calm", "frustrated", "angry", "satisfied")
Phrasings = Literal["train", "held_out", "all"]
HELD_OUT_EVERY = 4
"""Alternative i of a phrase list is held out when i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1."""


EXIT_INTENTS = ("cancellation", "number_porting")
COMPLAINTS = ("billing_dispute", "coverage_outage", "device_issue")
# Session arcs: customer turns as (intent or "main", emotion); agents answer between them.
ARCS: dict[str, tuple[tuple[str, str], ...]] = {
    "quick": (("main", "calm"), ("main", "satisfied")),
    "resolved": (("other", "calm"), ("main", "calm"), ("main", "frustrated"), ("main", "satisfied")),
    "escalating": (("main", "calm"), ("main", "frustrated"), ("main", "angry"), ("cancellation", "angry")),
    "porting_threat": (("main", "frustrated"), ("main", "frustrated"), ("number_porting", "angry")),
    "retained": (("main", "frustrated"), ("cancellation", "angry"), ("cancellation", "frustrated"), ("plan_change", "satisfied")),
    "repeated_complaint": (("main", "frustrated"), ("main", "frustrated"), ("main", "angry"), ("main", "frustrated")),
}
_ARC_WEIGHTS = {"quick": 3, "resolved": 4, "escalating": 2, "porting_threat": 1, "retained": 1, "repeated_complaint": 2}


@dataclass(frozen=True)
class InjectedPii:
    """Ground truth of one personal-data value put into an utterance: `text[start:end] == value`.
    A value split across two turns of a session is two of these: `part` "head" at the end of
    one utterance and "tail" at the start of the next, each with the `whole` value."""

    kind: str
    fmt: str
    value: str
    start: int
    end: int
    part: Literal["whole", "head", "tail"] = "whole"
    whole: str = ""


@dataclass(frozen=True)
class GeneratedUtterance:
    """One generated utterance with what a test needs to judge it: the session's arc and the
    personal data injected (the event's text is `labelled.event["text"]`)."""

    labelled: LabelledEvent
    arc: str
    pii: tuple[InjectedPii, ...]


@dataclass
class _Session:
    session_id: str
    language: str
    channel: str
    arc: str
    main_intent: str
    turns: list[tuple[str, str]]
    agent_opens: bool
    step: int = 0
    queue: list[tuple[str, str, str]] = field(default_factory=list)
    carry: InjectedPii | None = None
    """The tail of a value split at the end of the last turn, said first in the next one."""


class UtteranceGenerator:
    """Concurrent customer-service sessions; each round, every session says its next turn.

    Example: `UtteranceGenerator("kr-seoul", "SEL-GN-0042", sessions=20, seed=7).next_round()`
    gives 20 labelled utterances (label `"{intent}/{emotion}"`, key the session id).
    `last_round` then describes each one, with the personal data injected into it.

    Args:
        pii_rate: chance that a customer turn carries personal data (agents read it back at half).
        split_rate: chance that a value said at the end of a turn is cut off there and finished
            at the start of the session's next turn (formats that `split_point` splits).
        phrasings: which phrase alternatives to use: `"train"`, `"held_out"` (never in train) or `"all"`.
    """

    def __init__(
        self,
        region: str,
        site_id: str,
        *,
        sessions: int = 50,
        seed: int = 0,
        pii_rate: float = 0.15,
        split_rate: float = 0.0,
        phrasings: Phrasings = "all",
        korean_share: float = 0.6,
        start: datetime | None = None,
    ) -> None:
        if sessions < 1:
            raise ValueError(f"sessions must be >= 1, got {sessions}")
        for name, rate in (("pii_rate", pii_rate), ("split_rate", split_rate), ("korean_share", korean_share)):
            if not 0 <= rate <= 1:
                raise ValueError(f"{name} must be within [0, 1], got {rate}")
        self.region, self.site_id = region, site_id
        self.pii_rate, self.split_rate, self.phrasings, self.korean_share = pii_rate, split_rate, phrasings, korean_share
        self.now = start or datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
        self.last_round: list[GeneratedUtterance] = []
        self._rng = random.Random(seed)
        self._sessions = [self._new_session() for _ in range(sessions)]

    def next_round(self) -> list[LabelledEvent]:
        """The next turn of every session (a finished session is replaced by a new one)."""
        self.last_round = []
        for i, session in enumerate(self._sessions):
            if not session.queue and session.step >= len(session.turns):
                session = self._sessions[i] = self._new_session()
            self.last_round.append(self._next_turn(session))
        self.now += timedelta(seconds=self._rng.randint(3, 12))
        return [u.labelled for u in self.last_round]

    def _choose(self, items: tuple[str, ...]) -> str:
        if self.phrasings == "all" or len(items) < HELD_OUT_EVERY:
            return self._rng.choice(items)
        held = [x for i, x in enumerate(items) if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1]
        return self._rng.choice(held if self.phrasings == "held_out" else [x for x in items if x not in held])

    def _new_session(self) -> _Session:
        rng = self._rng
        arc = rng.choices(list(_ARC_WEIGHTS), weights=list(_ARC_WEIGHTS.values()))[0]
        complaint = arc in ("escalating", "porting_threat", "repeated_complaint")
        main = rng.choice(COMPLAINTS if complaint else [i for i in INTENTS if i not in EXIT_INTENTS + ("other",)])
        channel = rng.choice(("call", "chat"))
        return _Session(
            session_id=f"{channel}-{uuid.UUID(int=rng.getrandbits(128), version=4).hex[:20]}",
            language="ko" if rng.random() < self.korean_share else "en",
            channel=channel, arc=arc, main_intent=main,
            turns=[(main if intent == "main" else intent, emotion) for intent, emotion in ARCS[arc]],
            agent_opens=rng.random() < 0.5,
        )

    def _next_turn(self, session: _Session) -> GeneratedUtterance:
        rng = self._rng
        if session.step == 0 and session.agent_opens:
            session.agent_opens = False
            return self._emit(session, "agent", "other", "calm", self._choose(AGENT_GENERIC[session.language]), pii_rate=0.0)
        if session.queue:
            speaker, intent, text = session.queue.pop(0)
            return self._emit(session, speaker, intent, "calm", text, pii_rate=self.pii_rate / 2)
        intent, emotion = session.turns[session.step]
        session.step += 1
        text = self._customer_text(session, intent, emotion)
        if intent != "other" and rng.random() < 0.8:
            topic = self._choose(TOPICS[intent][session.language == "en"])
            session.queue.append(("agent", intent, self._choose(AGENT_TOPIC[session.language]).format(topic=topic)))
        return self._emit(session, "customer", intent, emotion, text, pii_rate=self.pii_rate)

    def _customer_text(self, session: _Session, intent: str, emotion: str) -> str:
        rng, lang = self._rng, session.language
        if emotion == "satisfied" and intent != "other":
            topic = self._choose(TOPICS[intent][lang == "en"])
            core = self._choose(RESOLVED[lang]).format(topic=topic)
        else:
            core = self._choose(REQUESTS[intent][lang]).format(**{k: rng.choice(v[lang == "en"]) for k, v in SLOTS.items()})
        if intent != "other" and emotion != "satisfied" and rng.random() < 0.3:
            core = self._choose(ABOUT[lang]).format(topic=rng.choice(TOPICS[intent][lang == "en"])) + " " + core
        prefixes, suffixes = TONES[emotion][lang]
        prefix, suffix = self._choose(prefixes), self._choose(suffixes)
        if rng.random() < 0.5:
            prefix = f"{prefix} {rng.choice(CUES[emotion][lang == 'en'])}".strip()
        text = " ".join(part for part in (prefix, core) if part)
        if suffix:
            text += suffix if suffix[0] in ".!?" else f" {suffix}"
        if session.channel == "chat" and rng.random() < 0.5:
            text += CHAT_MARKS[emotion][0 if lang == "ko" else 1]
        return text

    def _emit(self, session: _Session, speaker: str, intent: str, emotion: str, text: str, pii_rate: float) -> GeneratedUtterance:
        rng = self._rng
        injected: list[InjectedPii] = []
        for _ in range((1 + (rng.random() < 0.3)) if rng.random() < pii_rate else 0):
            kind = rng.choice(tuple(PII_FORMATS))
            fmt = rng.choice(PII_FORMATS[kind])
            if speaker == "agent" and (kind, fmt) in NEEDS_ADDRESS_CUE:
                fmt = "road"  # an agent's read-back does not say "address"
            value = pii_value(kind, fmt, rng)
            carriers = PII_CARRIERS[session.language][kind] if speaker == "customer" else AGENT_PII[session.language]
            carrier = self._choose(carriers)
            before, _, after = carrier.partition("{v}")
            cut = split_point(kind, fmt, value, before) if self.split_rate and session.carry is None else None
            if cut is not None and rng.random() < self.split_rate:
                # The caller stops after the start of the value; the next turn finishes it.
                joint = " " if text[-1:] in ".!?" else ". "
                head, tail = value[:cut].rstrip(), value[cut:].lstrip()
                offset = len(text) + len(joint) + len(before)
                text = f"{text}{joint}{before}{head}"
                injected = [*injected, InjectedPii(kind, fmt, head, offset, offset + len(head), "head", value)]
                session.carry = InjectedPii(kind, fmt, tail, 0, len(tail), "tail", value)
                break
            if rng.random() < 0.5:
                joint = " " if text[-1:] in ".!?" else ". "
                offset = len(text) + len(joint)
                text = f"{text}{joint}{before}{value}{after}"
                injected = [*injected, InjectedPii(kind, fmt, value, offset + len(before), offset + len(before) + len(value))]
            else:
                shift = len(before) + len(value) + len(after) + 2
                injected = [InjectedPii(p.kind, p.fmt, p.value, p.start + shift, p.end + shift) for p in injected]
                injected.append(InjectedPii(kind, fmt, value, len(before), len(before) + len(value)))
                text = f"{before}{value}{after}, {text}"
        if session.carry is not None and (not injected or injected[-1].part != "head"):
            carried, session.carry = session.carry, None
            shift = len(carried.value) + 2
            moved = (InjectedPii(p.kind, p.fmt, p.value, p.start + shift, p.end + shift, p.part, p.whole) for p in injected)
            injected = [carried, *moved]
            text = f"{carried.value}. {text}"
        event = {
            "schema": SCHEMA,
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "region": self.region,
            "site_id": self.site_id,
            "ts": rfc3339(self.now),
            "session_id": session.session_id,
            "speaker": speaker,
            "text": text,
            "language": session.language,
            "channel": session.channel,
        }
        labelled = LabelledEvent(event, session.session_id, f"{intent}/{emotion}")
        return GeneratedUtterance(labelled, session.arc, tuple(injected))
