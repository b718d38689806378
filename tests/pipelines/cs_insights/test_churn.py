"""The per-session churn risk: exit intents, negativity and repeated complaints raise it, satisfaction
lowers it, agent turns never move it, and a session is forgotten with its partition or when the
tracker is full."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from edgectl.synthetic.utterances import ARCS, UtteranceGenerator
from pipelines.cs_insights.churn import ChurnPolicy, ChurnRisk, ChurnTracker
from pipelines.cs_insights.model import EMOTIONS, INTENTS
from pipelines.cs_insights.redaction import redact
from training.cs_insights.quality import predict

MODEL_PATH = Path(__file__).resolve().parents[3] / "accel" / "model_repository" / "cs-insights" / "1" / "model.onnx"


def intent(**probs: float) -> npt.NDArray[np.float32]:
    """Intent probabilities with the given classes, the rest of the mass on `other`."""
    row = np.zeros(len(INTENTS), dtype=np.float32)
    for name, p in probs.items():
        row[INTENTS.index(name)] = p
    row[INTENTS.index("other")] += 1 - row.sum()
    return row


def emotion(**probs: float) -> npt.NDArray[np.float32]:
    """Emotion probabilities with the given classes, the rest of the mass on `calm`."""
    row = np.zeros(len(EMOTIONS), dtype=np.float32)
    for name, p in probs.items():
        row[EMOTIONS.index(name)] = p
    row[EMOTIONS.index("calm")] += 1 - row.sum()
    return row


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def logit(score: float) -> float:
    return math.log(score / (1 - score))


def without_complaints(risk: ChurnRisk) -> float:
    """The default policy's z of a risk, every term but the complaints'."""
    return -3.0 + 3.0 * risk.exit_intent + 3.0 * risk.negativity - 2.0 * risk.satisfaction


def test_a_calm_customer_asking_about_something_else_is_low_risk_at_the_bias_alone() -> None:
    risk = ChurnTracker().observe("s1", True, intent(), emotion())
    assert risk.score == pytest.approx(sigmoid(-3.0))
    assert risk.level == "low" and risk.customer_turns == 1
    assert (risk.exit_intent, risk.negativity, risk.satisfaction, risk.complaints) == (0, 0, 0, 0)


def test_an_angry_cancellation_request_is_high_risk() -> None:
    risk = ChurnTracker().observe("s1", True, intent(cancellation=1.0), emotion(angry=1.0))
    assert risk.score == pytest.approx(sigmoid(-3.0 + 3.0 + 3.0))
    assert risk.level == "high" and risk.exit_intent == pytest.approx(1.0)


def test_exit_intent_is_the_sum_of_cancellation_and_porting_and_lasts_for_the_session() -> None:
    tracker = ChurnTracker()
    first = tracker.observe("s1", True, intent(cancellation=0.3, number_porting=0.4), emotion())
    assert first.exit_intent == pytest.approx(0.7)
    assert first.score == pytest.approx(sigmoid(-3.0 + 3.0 * 0.7))
    later = tracker.observe("s1", True, intent(plan_change=0.9), emotion())
    assert later.exit_intent == pytest.approx(0.7), "the strongest exit intent of the session is kept"


def test_negativity_is_a_moving_average_that_the_first_turn_sets() -> None:
    tracker = ChurnTracker(ChurnPolicy(memory=0.6))
    first = tracker.observe("s1", True, intent(), emotion(angry=0.5, frustrated=0.4))
    assert first.negativity == pytest.approx(0.5 + 0.5 * 0.4)
    second = tracker.observe("s1", True, intent(), emotion())
    assert second.negativity == pytest.approx(0.6 * 0.7)
    third = tracker.observe("s1", True, intent(), emotion(angry=1.0))
    assert third.negativity == pytest.approx(0.6 * 0.42 + 0.4 * 1.0)
    assert third.score == pytest.approx(sigmoid(-3.0 + 3.0 * third.negativity))


def test_satisfaction_lowers_the_risk_of_a_session_that_was_going_badly() -> None:
    tracker = ChurnTracker()
    tracker.observe("s1", True, intent(billing_dispute=0.9), emotion(frustrated=0.9))
    angry = tracker.observe("s1", True, intent(billing_dispute=0.9), emotion(angry=0.9))
    resolved = tracker.observe("s1", True, intent(billing_dispute=0.9), emotion(satisfied=0.95))
    assert resolved.satisfaction > 0 and resolved.score < angry.score
    unsatisfied = ChurnTracker()
    unsatisfied.observe("s1", True, intent(billing_dispute=0.9), emotion(frustrated=0.9))
    unsatisfied.observe("s1", True, intent(billing_dispute=0.9), emotion(angry=0.9))
    calm = unsatisfied.observe("s1", True, intent(billing_dispute=0.9), emotion(calm=1.0))
    assert resolved.score < calm.score, "satisfaction counts beyond the negativity it displaces"


def test_only_a_complaint_said_with_frustration_or_anger_counts_and_the_first_is_free() -> None:
    tracker = ChurnTracker()
    calm_complaint = tracker.observe("s1", True, intent(coverage_outage=0.9), emotion(calm=0.9))
    assert calm_complaint.complaints == 0
    angry_question = tracker.observe("s1", True, intent(roaming=0.9), emotion(angry=0.9))
    assert angry_question.complaints == 0, "roaming is not a complaint intent"
    one = tracker.observe("s1", True, intent(device_issue=0.9), emotion(frustrated=0.9))
    two = tracker.observe("s1", True, intent(billing_dispute=0.9), emotion(angry=0.9))
    assert (one.complaints, two.complaints) == (1, 2)
    # The complaint term is 0.5 * max(0, complaints - 1): nothing for one complaint, 0.5 for two.
    assert logit(one.score) == pytest.approx(without_complaints(one), abs=1e-9)
    assert logit(two.score) == pytest.approx(without_complaints(two) + 0.5, abs=1e-9)


def test_agent_turns_never_change_the_score_and_are_not_counted() -> None:
    tracker = ChurnTracker()
    before = tracker.observe("s1", True, intent(billing_dispute=0.8), emotion(frustrated=0.8))
    after = tracker.observe("s1", False, intent(cancellation=1.0), emotion(angry=1.0))
    assert after == before
    assert after.customer_turns == 1


def test_a_session_opened_by_an_agent_has_no_customer_turns_and_the_bias_risk() -> None:
    risk = ChurnTracker().observe("s1", False, intent(cancellation=1.0), emotion(angry=1.0))
    assert risk.customer_turns == 0 and risk.score == pytest.approx(sigmoid(-3.0)) and risk.level == "low"


def test_sessions_are_tracked_independently() -> None:
    tracker = ChurnTracker()
    tracker.observe("angry", True, intent(cancellation=1.0), emotion(angry=1.0))
    calm = tracker.observe("calm", True, intent(plan_change=0.9), emotion())
    assert calm.level == "low" and calm.exit_intent == 0 and len(tracker) == 2


def test_levels_start_at_their_thresholds_inclusive() -> None:
    even = (intent(), emotion())  # with bias 0 and no signals the score is exactly 0.5
    assert ChurnTracker(ChurnPolicy(bias=0.0, medium_from=0.5, high_from=0.6)).observe("s", True, *even).level == "medium"
    assert ChurnTracker(ChurnPolicy(bias=0.0, medium_from=0.4, high_from=0.5)).observe("s", True, *even).level == "high"
    assert ChurnTracker(ChurnPolicy(bias=0.0, medium_from=0.51, high_from=0.6)).observe("s", True, *even).level == "low"


def test_forgetting_a_session_starts_it_afresh() -> None:
    tracker = ChurnTracker()
    tracker.observe("s1", True, intent(cancellation=1.0), emotion(angry=1.0))
    tracker.observe("s2", True, intent(), emotion())
    tracker.forget(["s1", "never-seen"])
    assert len(tracker) == 1
    fresh = tracker.observe("s1", True, intent(), emotion())
    assert fresh.customer_turns == 1 and fresh.exit_intent == 0 and fresh.level == "low"


def test_beyond_max_sessions_the_least_recently_heard_from_session_is_forgotten() -> None:
    tracker = ChurnTracker(ChurnPolicy(max_sessions=2))
    tracker.observe("a", True, intent(cancellation=1.0), emotion())
    tracker.observe("b", True, intent(cancellation=1.0), emotion())
    tracker.observe("a", False, intent(), emotion())  # an agent turn still counts as hearing from "a"
    tracker.observe("c", True, intent(), emotion())
    assert len(tracker) == 2
    assert tracker.observe("a", True, intent(), emotion()).customer_turns == 2, "a was kept"
    assert tracker.observe("b", True, intent(), emotion()).customer_turns == 1, "b was forgotten"


def test_capacity_evictions_are_counted() -> None:
    tracker = ChurnTracker(ChurnPolicy(max_sessions=2))
    for session in ("a", "b", "c", "d"):
        tracker.observe(session, True, intent(), emotion())
    assert tracker.evictions == {"capacity": 2, "idle": 0}
    assert "a" not in tracker and "b" not in tracker and "d" in tracker


class Clock:
    """Seconds the test sets, in place of the monotonic clock."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def test_a_session_not_heard_from_for_the_idle_time_is_forgotten_and_counted() -> None:
    clock = Clock()
    tracker = ChurnTracker(ChurnPolicy(idle_s=600), clock=clock)
    tracker.observe("quiet", True, intent(cancellation=1.0), emotion())
    tracker.observe("busy", True, intent(), emotion())
    clock.now_s = 600.0
    tracker.observe("busy", True, intent(), emotion())
    assert "quiet" in tracker, "idle for exactly the idle time is kept"
    clock.now_s = 600.5
    tracker.observe("busy", True, intent(), emotion())
    assert "quiet" not in tracker and len(tracker) == 1
    assert tracker.evictions == {"capacity": 0, "idle": 1}
    assert tracker.observe("quiet", True, intent(), emotion()).customer_turns == 1, "quiet starts afresh"


def test_with_idle_expiry_off_a_silent_session_stays_until_the_limit_pushes_it_out() -> None:
    clock = Clock()
    tracker = ChurnTracker(ChurnPolicy(idle_s=0), clock=clock)
    tracker.observe("quiet", True, intent(), emotion())
    clock.now_s = 1e9
    tracker.observe("busy", True, intent(), emotion())
    assert "quiet" in tracker and tracker.evictions["idle"] == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"idle_s": -1.0}, "idle_s must be >= 0"),
        ({"memory": 1.0}, "memory must be within"),
        ({"memory": -0.1}, "memory must be within"),
        ({"medium_from": 0.7, "high_from": 0.6}, "medium_from <= high_from"),
        ({"medium_from": 0.0}, "medium_from <= high_from"),
        ({"high_from": 1.0}, "medium_from <= high_from"),
        ({"max_sessions": 0}, "max_sessions must be >= 1"),
    ],
)
def test_a_policy_with_impossible_settings_is_refused_naming_the_setting(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChurnPolicy(**changes)  # type: ignore[arg-type]


def test_the_result_object_rounds_the_signals_and_says_the_level() -> None:
    risk = ChurnRisk(0.123456789, "low", 3, 0.98765432, 0.5, 0.25, 2)
    assert risk.as_result() == {
        "score": 0.1235,
        "level": "low",
        "customer_turns": 3,
        "signals": {"exit_intent": 0.9877, "negativity": 0.5, "satisfaction": 0.25, "complaints": 2},
    }


def test_with_the_shipped_model_escalating_sessions_end_at_risk_and_resolved_ones_end_low() -> None:
    """Completed sessions of generated traffic (held-out phrasings), classified by the shipped model."""
    generator = UtteranceGenerator("kr-seoul", "SEL-GN-0042", sessions=120, seed=77, phrasings="held_out")
    utterances = []
    for _ in range(12):
        generator.next_round()
        utterances += generator.last_round
    intents, emotions = predict(MODEL_PATH, [redact(u.labelled.event["text"]).text for u in utterances])
    tracker = ChurnTracker()
    final: dict[str, tuple[str, ChurnRisk]] = {}
    for u, intent_row, emotion_row in zip(utterances, intents, emotions, strict=True):
        event = u.labelled.event
        final[event["session_id"]] = (u.arc, tracker.observe(event["session_id"], event["speaker"] == "customer", intent_row, emotion_row))
    complete = [(arc, risk) for arc, risk in final.values() if risk.customer_turns == len(ARCS[arc])]
    calm_ends = Counter(risk.level for arc, risk in complete if arc in ("quick", "resolved"))
    exit_ends = Counter(risk.level for arc, risk in complete if arc in ("escalating", "porting_threat"))
    assert sum(calm_ends.values()) >= 50 and sum(exit_ends.values()) >= 20
    assert set(calm_ends) == {"low"}, calm_ends
    assert exit_ends["medium"] + exit_ends["high"] >= 0.75 * sum(exit_ends.values()), exit_ends
    assert exit_ends["high"] > 0, exit_ends


def test_sessions_the_limits_drop_are_kept_for_the_changelog_until_taken() -> None:
    clock = Clock()
    tracker = ChurnTracker(ChurnPolicy(max_sessions=2, idle_s=600), clock=clock)
    for session in ("a", "b", "c"):
        tracker.observe(session, True, intent(), emotion())
    clock.now_s = 601.0
    tracker.observe("c", True, intent(), emotion())
    assert tracker.take_evicted() == ["a", "b"] and tracker.take_evicted() == []
    tracker.forget(["c"])
    assert tracker.take_evicted() == [], "a session forgotten with its partition is not an eviction"


def test_a_session_loaded_from_its_snapshot_goes_on_exactly_and_is_heard_from_when_loaded() -> None:
    clock = Clock()
    original = ChurnTracker(clock=clock)
    original.observe("s", True, intent(cancellation=0.3), emotion(angry=0.7))
    original.observe("s", True, intent(billing_dispute=0.9), emotion(frustrated=0.8))
    snapshot = original.snapshot("s")
    assert snapshot is not None and original.snapshot("unknown") is None
    clock.now_s = 1e6
    restored = ChurnTracker(ChurnPolicy(idle_s=600), clock=clock)
    restored.load("s", snapshot)
    clock.now_s += 600
    restored.observe("other", True, intent(), emotion())
    assert "s" in restored, "idle for the idle time since it was loaded, not since it was written"
    turn = (True, intent(plan_change=0.5), emotion(satisfied=0.6))
    assert restored.observe("s", *turn) == original.observe("s", *turn)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("customer_turns", 1.5, "`customer_turns` must be an integer >= 0"),
        ("complaints", 9, "`complaints` cannot outnumber `customer_turns`"),
        ("exit", None, "`exit` must be a number"),
        ("satisfaction", -1.0, "`satisfaction` cannot be negative"),
    ],
)
def test_a_session_snapshot_that_is_not_churn_signals_is_refused_naming_the_field(field: str, value: object, message: str) -> None:
    tracker = ChurnTracker()
    tracker.observe("s", True, intent(), emotion())
    snapshot = tracker.snapshot("s")
    assert snapshot is not None
    with pytest.raises(ValueError, match=message):
        ChurnTracker().load("s", snapshot | {field: value})
