"""The customer-service insights pipeline: redacts each utterance first, classifies intent and
emotion for the whole batch in one inference call, keeps a churn risk per session, and publishes
one insight per utterance for the CRM. Raw text never reaches an output topic, the DLQ included,
nor the changelog: it holds each session's churn signals, numbers only."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Unpack

import numpy as np

from pipelines.accel_client import AcceleratorClient
from pipelines.base import Pipeline, SiteOptions
from pipelines.changelog import EntityChange
from pipelines.cs_insights.churn import ChurnPolicy, ChurnTracker
from pipelines.cs_insights.features import hashed_ngrams
from pipelines.cs_insights.intake import RedactingIntake, check_utterance_fields, safe_trace_headers
from pipelines.cs_insights.model import (
    EMOTIONS,
    FEATURE_DIM,
    INTENTS,
    MODEL,
    OUTPUTS,
    ClassProbabilities,
    read_outputs,
)
from pipelines.cs_insights.redaction import Redaction, redact
from pipelines.cs_insights.results import insight_record
from pipelines.cs_insights.session_text import SessionTails
from pipelines.cs_insights.settings import CsInsightsSettings
from pipelines.cs_insights.spoken import warm_up
from pipelines.entity_limits import EntityLimits
from pipelines.intake import AcceptedEvent
from pipelines.outcome import BatchOutcome
from pipelines.records import InboundRecord, OutboundRecord
from pipelines.state_data import read_section

NAME = "cs-insights"
EVENT_SCHEMA = "cs.utterance.v1"
MAX_ROWS_PER_CALL = 1024
"""Most utterances per inference request: 1,024 rows of 4,096 float32 features is 16 MiB, well
inside the accelerator's message limit. Batches up to this size take exactly one call."""


@dataclass(frozen=True)
class _PreparedUtterances:
    """A batch's accepted utterances, redacted in session order, and their features."""

    accepted: list[AcceptedEvent]
    redactions: list[Redaction]
    latest: dict[str, str]
    """The latest raw text of each session in the batch, remembered once the batch is through."""
    features: np.ndarray

    @property
    def records(self) -> list[InboundRecord]:
        return [item.record for item in self.accepted]


Classified = list[tuple[ClassProbabilities, str, str]]
"""Class probabilities per chunk of rows, with the model name and version that computed them."""


class CsInsightsPipeline(Pipeline[_PreparedUtterances]):
    """Utterances in (`{region}.cs.utterances`), insights out (`{region}.cs.insights`)."""

    name = NAME
    batch_records = 1_000
    intake: RedactingIntake
    # Not overlapping: a batch is redacted after the last turn of each session before it, which
    # is remembered only once that batch is through (an abandoned batch comes back).

    def __init__(
        self,
        region: str,
        site_id: str,
        accel: AcceleratorClient,
        *,
        churn_policy: ChurnPolicy | None = None,
        max_rows_per_call: int = MAX_ROWS_PER_CALL,
        settings: CsInsightsSettings | None = None,
        **options: Unpack[SiteOptions],
    ) -> None:
        if max_rows_per_call < 1:
            raise ValueError(f"max_rows_per_call must be >= 1, got {max_rows_per_call}")
        super().__init__(region, site_id, accel, **options)
        settings = settings or CsInsightsSettings()
        self.intake = RedactingIntake(
            NAME, EVENT_SCHEMA, self.topics, site_id, check_utterance_fields, dlq_originals=settings.dlq_originals,
            served_site_ids=self.served_site_ids, guarded_fields=("session_id", "speaker", "text", "language", "channel"),
        )
        self.churn = ChurnTracker(churn_policy)
        self.tails = SessionTails(self.churn.policy.max_sessions, settings.session_tail_s)
        warm_up()  # the redaction's Unicode tables, built once, before the first batch waits on them
        self.max_rows_per_call = max_rows_per_call
        self.input_topics = [self.topics.cs_utterances]
        self.output_topics = [self.topics.cs_insights, self.topics.dlq, self.topics.audit]
        # The index of sessions by partition holds as many as the churn state it lets forget,
        # which bounds and counts itself.
        self._sessions = self.hold_entities(
            EntityLimits(max_entities=self.churn.policy.max_sessions, idle_s=0), self._forget_sessions, counted=False
        )

    def _forget_sessions(self, sessions: list[str]) -> None:
        """Drop the churn state and last turn of sessions moved away or evicted by the limits."""
        self.churn.forget(sessions)
        self.tails.forget(sessions)

    def entity_state(self, key: str) -> dict[str, Any] | None:
        churn = self.churn.snapshot(key)
        return None if churn is None else {"churn": churn}

    def restore_entity(self, key: str, version: int, state: dict[str, Any]) -> None:
        """Hold a session's churn signals again. Its last turn's tail is not among them: raw
        text stays in memory only, so a value split across the restart is matched in each turn
        on its own, as after the tail's `session_tail_s`."""
        churn = read_section(state, "churn")
        if churn is None:
            raise ValueError("a session's state needs its `churn` signals")
        self.churn.load(key, churn)

    def prepare(self, records: Sequence[InboundRecord], outcome: BatchOutcome) -> _PreparedUtterances | None:
        """Screen the batch and redact every utterance; only the redacted text goes further."""
        accepted = self.intake.screen(records, outcome)
        if not accepted:
            return None
        redactions, latest = self._redact(accepted)
        features = hashed_ngrams([r.text for r in redactions], FEATURE_DIM)
        return _PreparedUtterances(accepted, redactions, latest, features)

    def _redact(self, accepted: list[AcceptedEvent]) -> tuple[list[Redaction], dict[str, str]]:
        """Each utterance redacted after the one before it in its session, and the latest text of
        each session (remembered only once the batch is through: an abandoned batch comes back)."""
        latest: dict[str, str] = {}
        redactions = []
        for item in accepted:
            session_id, text = item.event["session_id"], item.event["text"]
            previous = latest[session_id] if session_id in latest else self.tails.previous(session_id)
            redactions.append(redact(text, previous))
            latest[session_id] = text
        return redactions, latest

    async def infer(self, prepared: _PreparedUtterances, stopping: asyncio.Event) -> Classified:
        """Class probabilities per chunk of at most `max_rows_per_call` rows."""
        chunks = []
        for start in range(0, len(prepared.features), self.max_rows_per_call):
            rows = prepared.features[start : start + self.max_rows_per_call]
            result = await self.call_model(MODEL, {"features": rows}, OUTPUTS, stopping)
            chunks.append((read_outputs(result.outputs, len(rows)), result.model_name, result.model_version))
        return chunks

    def emit(self, outcome: BatchOutcome, prepared: _PreparedUtterances, classified: Classified) -> None:
        accepted, redactions = prepared.accepted, prepared.redactions
        self._sessions.note(accepted, "session_id")
        self.tails.remember(prepared.latest)
        rows = ((probs, name, version, i) for probs, name, version in classified for i in range(len(probs.intent)))
        for item, redaction, (probs, model_name, model_version, i) in zip(accepted, redactions, rows, strict=True):
            event = item.event
            customer = event["speaker"] == "customer"
            intent_id = int(probs.intent[i].argmax())
            emotion_id = int(probs.emotion[i].argmax())
            churn = self.churn.observe(event["session_id"], customer, probs.intent[i], probs.emotion[i])
            record = insight_record(
                pipeline=NAME,
                event=event,
                redaction=redaction,
                intent=(INTENTS[intent_id], float(probs.intent[i, intent_id])),
                # Emotion is inferred for customers only: never for agents (workers).
                emotion=(EMOTIONS[emotion_id], float(probs.emotion[i, emotion_id])) if customer else None,
                churn=churn,
                model_name=model_name,
                model_version=model_version,
            )
            key = event["session_id"].encode()
            outcome.outputs.append(OutboundRecord(self.topics.cs_insights, key, record, safe_trace_headers(item.record.headers)))
            outcome.results += 1
            if churn.level == "high":
                outcome.anomalies += 1
        self._changed_sessions(outcome, accepted)

    def _changed_sessions(self, outcome: BatchOutcome, accepted: list[AcceptedEvent]) -> None:
        """The batch's changelog: a tombstone for each session dropped while it ran, then the
        signals of each session it heard from.

        Sessions are noted and observed here, in `emit`, so their evictions are taken here too:
        the index's (beyond its bound) and the churn tracker's own (idle wall-clock time, or its
        bound), which the index is then told of, so that it holds only sessions with state."""
        sessions, churn, changes = self._sessions, self.churn, outcome.changes
        for session, dropped_from in sessions.take_dropped():
            changes[session] = EntityChange(dropped_from, None)
        for session in churn.take_evicted():
            partition = sessions.partition_of(session)
            if partition is not None and session not in churn:  # not heard from again since
                changes[session] = EntityChange(partition, None)
                sessions.discard(session)
        self.state_changed(outcome, dict.fromkeys(item.event["session_id"] for item in accepted))
