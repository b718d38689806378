"""Per-session churn risk: what a session's customer turns have said so far (exit intents,
negative emotion, repeated complaints, satisfaction) folded into one score in [0, 1] and a level.

    exit          max over the customer's turns of P(cancellation) + P(number_porting)
    negativity    moving average of P(angry) + 0.5 * P(frustrated) (the first turn sets it;
                  each later turn x: negativity = memory * negativity + (1 - memory) * x)
    satisfaction  moving average of P(satisfied), the same way
    complaints    customer turns whose intent is a complaint (billing dispute, coverage or
                  outage, device issue) said with frustration or anger
    score = sigmoid(bias + exit_weight * exit + negativity_weight * negativity
                    + complaint_weight * max(0, complaints - 1) - satisfaction_weight * satisfaction)
    level = high from `high_from`, medium from `medium_from`, otherwise low

Agent turns never change the score: an agent's emotions are not assessed at all.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from pipelines.cs_insights.model import EMOTIONS, INTENTS
from pipelines.entity_limits import DEFAULT_IDLE_S
from pipelines.metrics import EvictionReason, count_state_evictions, watch_entities
from pipelines.state_data import exact, read_count, read_float

Level = Literal["low", "medium", "high"]
_EXIT = [INTENTS.index("cancellation"), INTENTS.index("number_porting")]
_COMPLAINTS = frozenset(INTENTS.index(i) for i in ("billing_dispute", "coverage_outage", "device_issue"))
_ANGRY, _FRUSTRATED, _SATISFIED = (EMOTIONS.index(e) for e in ("angry", "frustrated", "satisfied"))


@dataclass(frozen=True)
class ChurnPolicy:
    """Weights and thresholds of the churn-risk score, and how many sessions are remembered.

    Example: `ChurnPolicy(high_from=0.7, max_sessions=20_000)`.
    """

    bias: float = -3.0
    exit_weight: float = 3.0
    negativity_weight: float = 3.0
    complaint_weight: float = 0.5
    satisfaction_weight: float = 2.0
    memory: float = 0.6
    """Weight of the past in the moving averages (0: only the latest turn counts)."""
    medium_from: float = 0.35
    high_from: float = 0.65
    max_sessions: int = 100_000
    """Sessions kept; beyond it the least recently heard-from session is forgotten."""
    idle_s: float = DEFAULT_IDLE_S
    """A session not heard from for this long (wall-clock time) is forgotten; 0: never."""

    def __post_init__(self) -> None:
        if not 0 <= self.memory < 1:
            raise ValueError(f"memory must be within [0, 1), got {self.memory}")
        if not 0 < self.medium_from <= self.high_from < 1:
            raise ValueError(f"need 0 < medium_from <= high_from < 1, got {self.medium_from}, {self.high_from}")
        if self.max_sessions < 1:
            raise ValueError(f"max_sessions must be >= 1, got {self.max_sessions}")
        if not self.idle_s >= 0:
            raise ValueError(f"idle_s must be >= 0, got {self.idle_s}")


@dataclass
class _SessionSignals:
    customer_turns: int = 0
    exit: float = 0.0
    negativity: float = 0.0
    satisfaction: float = 0.0
    complaints: int = 0
    heard_s: float = 0.0
    """When the session was last heard from (the tracker's clock)."""


@dataclass(frozen=True)
class ChurnRisk:
    """A session's churn risk after one utterance."""

    score: float
    level: Level
    customer_turns: int
    exit_intent: float
    negativity: float
    satisfaction: float
    complaints: int

    def as_result(self) -> dict[str, Any]:
        """The `churn_risk` object of an insight record."""
        return {
            "score": round(self.score, 4),
            "level": self.level,
            "customer_turns": self.customer_turns,
            "signals": {
                "exit_intent": round(self.exit_intent, 4),
                "negativity": round(self.negativity, 4),
                "satisfaction": round(self.satisfaction, 4),
                "complaints": self.complaints,
            },
        }


class ChurnTracker:
    """Churn signals per session id, bounded in number and idle time; dropped with their partitions.

    Idle time is wall-clock (`clock`, monotonic seconds): utterances reach the tracker without
    their event time. Evictions are counted in `edge_pipeline_state_evictions` and the sessions
    held reported in `edge_pipeline_state_entities`, under `pipeline`, and kept in `evicted`
    until taken (their changelog tombstones).

    A session restored from a changelog (`load`) counts as heard from when it is restored: its
    idle time restarts with the replica that holds it. The clock is this process's own, and time
    no replica held the session is not silence from the caller: its next turns may be waiting in
    the input topic all along. So a restart never expires the sessions it brings back; a session
    that has ended is forgotten `idle_s` after the restore instead of after its last turn.
    """

    def __init__(
        self,
        policy: ChurnPolicy | None = None,
        *,
        pipeline: str = "cs-insights",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or ChurnPolicy()
        self.pipeline = pipeline
        self._clock = clock
        self._sessions: OrderedDict[str, _SessionSignals] = OrderedDict()
        self.evictions: dict[EvictionReason, int] = {"capacity": 0, "idle": 0}
        self.evicted: list[str] = []
        """Sessions the tracker's own limits dropped, until taken with `take_evicted()`."""
        watch_entities(pipeline, self)

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions

    def observe(
        self,
        session_id: str,
        customer: bool,
        intent_probs: npt.NDArray[np.float32],
        emotion_probs: npt.NDArray[np.float32],
    ) -> ChurnRisk:
        """Fold one utterance into its session (customer turns only) and return the session's risk."""
        now_s = self._clock()
        signals = self._sessions.get(session_id)
        if signals is None:
            signals = self._sessions[session_id] = _SessionSignals()
        self._sessions.move_to_end(session_id)
        signals.heard_s = now_s
        self._evict(now_s)
        if customer:
            self._fold(signals, intent_probs, emotion_probs)
        return self._risk(signals)

    def _fold(self, s: _SessionSignals, intent: npt.NDArray[np.float32], emotion: npt.NDArray[np.float32]) -> None:
        negativity = float(emotion[_ANGRY] + 0.5 * emotion[_FRUSTRATED])
        satisfaction = float(emotion[_SATISFIED])
        if s.customer_turns == 0:
            s.negativity, s.satisfaction = negativity, satisfaction
        else:
            m = self.policy.memory
            s.negativity = m * s.negativity + (1 - m) * negativity
            s.satisfaction = m * s.satisfaction + (1 - m) * satisfaction
        s.exit = max(s.exit, float(intent[_EXIT].sum()))
        negative = int(emotion.argmax()) in (_ANGRY, _FRUSTRATED)
        s.complaints += int(int(intent.argmax()) in _COMPLAINTS and negative)
        s.customer_turns += 1

    def _risk(self, s: _SessionSignals) -> ChurnRisk:
        p = self.policy
        z = (
            p.bias
            + p.exit_weight * s.exit
            + p.negativity_weight * s.negativity
            + p.complaint_weight * max(0, s.complaints - 1)
            - p.satisfaction_weight * s.satisfaction
        )
        score = 1.0 / (1.0 + math.exp(-z))
        level: Level = "high" if score >= p.high_from else "medium" if score >= p.medium_from else "low"
        return ChurnRisk(score, level, s.customer_turns, s.exit, s.negativity, s.satisfaction, s.complaints)

    def _evict(self, now_s: float) -> None:
        """Forget sessions idle too long, then the least recently heard-from beyond the limit;
        never the session just heard from (the last one)."""
        sessions, policy = self._sessions, self.policy
        evicted = self.evicted
        before = len(evicted)
        if policy.idle_s > 0:
            while len(sessions) > 1 and now_s - next(iter(sessions.values())).heard_s > policy.idle_s:
                evicted.append(sessions.popitem(last=False)[0])
        idle = len(evicted) - before
        while len(sessions) > policy.max_sessions:
            evicted.append(sessions.popitem(last=False)[0])
        self._count("idle", idle)
        self._count("capacity", len(evicted) - before - idle)

    def _count(self, reason: EvictionReason, count: int) -> None:
        if count:
            self.evictions[reason] += count
            count_state_evictions(self.pipeline, reason, count)

    def take_evicted(self) -> list[str]:
        """The sessions the limits dropped since the last call, in the order they went."""
        evicted, self.evicted = self.evicted, []
        return evicted

    def snapshot(self, session_id: str) -> dict[str, Any] | None:
        """A session's churn signals as changelog data; None for a session not held. Numbers
        only: nothing the caller said, and not when the session was last heard from (a time of
        this process's clock, meaningless to another)."""
        s = self._sessions.get(session_id)
        if s is None:
            return None
        return {
            "customer_turns": s.customer_turns,
            "exit": exact(s.exit),
            "negativity": exact(s.negativity),
            "satisfaction": exact(s.satisfaction),
            "complaints": s.complaints,
        }

    def load(self, session_id: str, snapshot: Mapping[str, Any]) -> None:
        """Hold a session's signals as `snapshot` gave them, heard from now (see the class
        docstring); the limits apply at the next `observe`.

        Raises:
            ValueError: the snapshot is not churn signals (the message names the field, never
                the session).
        """
        turns, complaints = read_count(snapshot, "customer_turns"), read_count(snapshot, "complaints")
        if complaints > turns:
            raise ValueError("`complaints` cannot outnumber `customer_turns`")
        signals = _SessionSignals(
            turns, _read_signal(snapshot, "exit"), _read_signal(snapshot, "negativity"),
            _read_signal(snapshot, "satisfaction"), complaints, self._clock(),
        )
        self._sessions[session_id] = signals
        self._sessions.move_to_end(session_id)

    def forget(self, session_ids: Iterable[str]) -> None:
        """Drop sessions (their partition moved to another replica)."""
        for session_id in session_ids:
            self._sessions.pop(session_id, None)


def _read_signal(snapshot: Mapping[str, Any], field: str) -> float:
    """A churn signal: a sum or average of probabilities, never negative."""
    value = read_float(snapshot, field)
    if value < 0:
        raise ValueError(f"`{field}` cannot be negative")
    return value
