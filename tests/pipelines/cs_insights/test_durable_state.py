"""The customer-service pipeline's per-session churn state through its changelog: a replica that
restores what another wrote gives the same insights (the same churn risk, turn for turn), the
changelog holds numbers and nothing anyone said, sessions dropped by the session bound or by
wall-clock idleness leave tombstones and are not restored, a restored session's idle time starts
at the restore, and a state record this release cannot read is refused without quoting the session."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from edgectl.synthetic.utterances import GeneratedUtterance, UtteranceGenerator
from edgectl.traffic import encode
from pipelines.accel_client import AcceleratorClient
from pipelines.cs_insights.churn import ChurnPolicy
from pipelines.cs_insights.pipeline import CsInsightsPipeline
from pipelines.errors import StateRefused
from pipelines.outcome import BatchOutcome
from pipelines.records import ConsumedRecord, InboundRecord
from pipelines.restore import hold_restored
from tests.pipelines.changelog_replay import latest_changelog

from .leak_search import leaks, needles

REGION, SITE = "kr-seoul", "SEL-GN-0042"
INPUT, INSIGHTS, STATE = f"{REGION}.cs.utterances", f"{REGION}.cs.insights", f"{REGION}.state.cs-insights"
ROUNDS, RESTART = 8, 4
IDLE_S = 0.05
"""A wall-clock idle time short enough to wait out in a test."""


def _rounds(sessions: int = 12, seed: int = 41) -> list[list[GeneratedUtterance]]:
    """One batch per round of turns: every session says its next turn; a finished one is
    replaced by a new session, so sessions begin and end on both sides of the restart."""
    generator = UtteranceGenerator(REGION, SITE, sessions=sessions, seed=seed, pii_rate=0.6)
    rounds = []
    for _ in range(ROUNDS):
        generator.next_round()
        rounds.append(generator.last_round)
    return rounds


def _records(rounds: list[list[GeneratedUtterance]]) -> list[list[InboundRecord]]:
    """The rounds as batches, each session on partition `hash of its id` % 2."""
    batches, offset = [], 0
    for utterances in rounds:
        batch: list[InboundRecord] = []
        for u in utterances:
            key, value, headers = encode(u.labelled)
            batch.append(ConsumedRecord(INPUT, key[-1] % 2, offset, key, value, headers))
            offset += 1
        batches.append(batch)
    return batches


def _restore(pipeline: CsInsightsPipeline, outcomes: list[BatchOutcome]) -> int:
    """Restore `pipeline` from the changelog records of `outcomes`; the sessions it now holds."""
    return hold_restored(pipeline, STATE, latest_changelog(outcomes, STATE))


def _insights(outcome: BatchOutcome) -> list[dict[str, Any]]:
    """The batch's insights, whole: none of their fields depends on the wall clock."""
    return [orjson.loads(o.value) for o in outcome.outputs if o.topic == INSIGHTS and o.value is not None]


def _state(outcome: BatchOutcome) -> list[tuple[int | None, bytes | None, bytes | None]]:
    """The batch's changelog records as written."""
    return [(o.partition, o.key, o.value) for o in outcome.outputs if o.topic == STATE]


def _one_turn(session: str, offset: int, text: str = "I want to cancel my plan, this is the third time") -> InboundRecord:
    event = {
        "schema": "cs.utterance.v1", "event_id": f"5b0c3f9e-7d1a-4a63-9b51-0c6f1f7d{offset:04d}", "region": REGION,
        "site_id": SITE, "ts": "2026-11-22T09:00:00Z", "session_id": session, "speaker": "customer",
        "text": text, "language": "en", "channel": "call",
    }
    return ConsumedRecord(INPUT, 0, offset, session.encode(), orjson.dumps(event))


async def test_a_replica_that_restores_the_changelog_gives_the_same_insights_as_an_uninterrupted_one(
    client: AcceleratorClient,
) -> None:
    batches = _records(_rounds())
    uninterrupted = CsInsightsPipeline(REGION, SITE, client)
    expected = [await uninterrupted.process(b, asyncio.Event()) for b in batches]

    crashed = CsInsightsPipeline(REGION, SITE, client)
    before = [await crashed.process(b, asyncio.Event()) for b in batches[:RESTART]]
    successor = CsInsightsPipeline(REGION, SITE, client)
    assert _restore(successor, before) == len(crashed.churn) == 12
    after = [await successor.process(b, asyncio.Event()) for b in batches[RESTART:]]

    assert [_insights(o) for o in after] == [_insights(o) for o in expected[RESTART:]]
    assert [_state(o) for o in after] == [_state(o) for o in expected[RESTART:]], "signals exact, not just as rounded"
    risks = [i["churn_risk"] for o in after for i in _insights(o)]
    assert any(r["customer_turns"] > 2 for r in risks), "sessions go on counting their turns across the restart"


async def test_the_changelog_holds_churn_signals_and_nothing_anyone_said(client: AcceleratorClient) -> None:
    rounds = _rounds(sessions=20, seed=42)
    pipeline = CsInsightsPipeline(REGION, SITE, client)
    outcomes = [await pipeline.process(b, asyncio.Event()) for b in _records(rounds)]
    state = [o for outcome in outcomes for o in outcome.outputs if o.topic == STATE]
    injected = [p.value for utterances in rounds for u in utterances for p in u.pii]
    assert len(injected) > 30 and len(state) >= 20
    assert leaks(state, needles(injected)) == []
    for record in state:
        assert record.value is not None
        envelope = orjson.loads(record.value)
        assert set(envelope["state"]) == {"churn"}
        assert set(envelope["state"]["churn"]) == {"customer_turns", "exit", "negativity", "satisfaction", "complaints"}
        assert all(isinstance(v, int | float) for v in envelope["state"]["churn"].values())


async def test_sessions_beyond_the_bound_leave_a_tombstone_and_are_not_restored(client: AcceleratorClient) -> None:
    pipeline = CsInsightsPipeline(REGION, SITE, client, churn_policy=ChurnPolicy(max_sessions=2))
    sessions = ["call-0", "call-1", "call-2", "call-3"]
    outcomes = [await pipeline.process([_one_turn(s, i)], asyncio.Event()) for i, s in enumerate(sessions)]
    latest = latest_changelog(outcomes, STATE)
    assert sorted(key for (_, key), (_, value) in latest.items() if value is None) == [b"call-0", b"call-1"]
    successor = CsInsightsPipeline(REGION, SITE, client)
    assert _restore(successor, outcomes) == 2
    assert "call-0" not in successor.churn and "call-2" in successor.churn and "call-3" in successor.churn


async def test_sessions_idle_for_the_idle_time_leave_a_tombstone_and_the_index_lets_them_go(
    client: AcceleratorClient,
) -> None:
    pipeline = CsInsightsPipeline(REGION, SITE, client, churn_policy=ChurnPolicy(idle_s=IDLE_S))
    first = await pipeline.process([_one_turn("call-quiet", 0), _one_turn("call-busy", 1)], asyncio.Event())
    await asyncio.sleep(2 * IDLE_S)
    second = await pipeline.process([_one_turn("call-busy", 2)], asyncio.Event())

    tombstones = [o.key for o in second.outputs if o.topic == STATE and o.value is None]
    assert tombstones == [b"call-quiet"] and pipeline.churn.evictions["idle"] == 1
    assert pipeline.entities_held == len(pipeline.churn) == 1, "the index holds only sessions with state"
    successor = CsInsightsPipeline(REGION, SITE, client)
    assert _restore(successor, [first, second]) == 1 and "call-quiet" not in successor.churn


async def test_a_restored_sessions_idle_time_starts_at_the_restore(client: AcceleratorClient) -> None:
    writer = CsInsightsPipeline(REGION, SITE, client)
    written = await writer.process([_one_turn("call-held", 0)], asyncio.Event())
    await asyncio.sleep(2 * IDLE_S)  # longer than the successor's idle time: the replica was down
    successor = CsInsightsPipeline(REGION, SITE, client, churn_policy=ChurnPolicy(idle_s=IDLE_S))
    assert _restore(successor, [written]) == 1
    await successor.process([_one_turn("call-other", 1)], asyncio.Event())
    assert "call-held" in successor.churn, "time no replica held the session is not silence from the caller"
    await asyncio.sleep(2 * IDLE_S)
    later = await successor.process([_one_turn("call-other", 2)], asyncio.Event())
    assert "call-held" not in successor.churn
    assert [o.key for o in later.outputs if o.topic == STATE and o.value is None] == [b"call-held"]


async def test_a_state_record_this_release_cannot_read_is_refused_naming_the_field_not_the_session(
    client: AcceleratorClient,
) -> None:
    writer = CsInsightsPipeline(REGION, SITE, client)
    outcome = await writer.process([_one_turn("call-4242", 0), _one_turn("call-4242", 1)], asyncio.Event())
    [record] = [o for o in outcome.outputs if o.topic == STATE]
    assert record.value is not None and orjson.loads(record.value)["state"]["churn"]["customer_turns"] == 2

    def refusal(field: str, value: object) -> str:
        broken = orjson.loads(record.value or b"")
        broken["state"]["churn"][field] = value
        with pytest.raises(StateRefused, match="not readable") as refused:
            hold_restored(CsInsightsPipeline(REGION, SITE, client), STATE, {(0, b"call-4242"): (7, orjson.dumps(broken))})
        assert "4242" not in str(refused.value), "the session is never quoted"
        return str(refused.value)

    assert "`customer_turns`" in refusal("customer_turns", -1)
    assert "`complaints`" in refusal("complaints", 3)
    assert "`exit`" in refusal("exit", "high")
    assert "`negativity`" in refusal("negativity", -0.5)
    missing = orjson.loads(record.value) | {"state": {}}
    with pytest.raises(StateRefused, match="`churn`"):
        hold_restored(CsInsightsPipeline(REGION, SITE, client), STATE, {(0, b"call-4242"): (7, orjson.dumps(missing))})
