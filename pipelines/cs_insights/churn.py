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
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from pipelines.cs_insights.model import EMOTIONS, INTENTS

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

    def __post_init__(self) -> None:
        if not 0 <= self.memory < 1:
            raise ValueError(f"memory must be within [0, 1), got {self.memory}")
        if not 0 < self.medium_from <= self.high_from < 1:
            raise ValueError(f"need 0 < medium_from <= high_from < 1, got {self.medium_from}, {self.high_from}")
        if self.max_sessions < 1:
            raise ValueError(f"max_sessions must be >= 1, got {self.max_sessions}")


@dataclass
class _SessionSignals:
    customer_turns: int = 0
    exit: float = 0.0
    negativity: float = 0.0
    satisfaction: float = 0.0
    complaints: int = 0


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
    """Churn signals per session id, bounded in number; dropped with their partitions."""

    def __init__(self, policy: ChurnPolicy | None = None) -> None:
        self.policy = policy or ChurnPolicy()
        self._sessions: OrderedDict[str, _SessionSignals] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def observe(
        self,
        session_id: str,
        customer: bool,
        intent_probs: npt.NDArray[np.float32],
        emotion_probs: npt.NDArray[np.float32],
    ) -> ChurnRisk:
        """Fold one utterance into its session (customer turns only) and return the session's risk."""
        signals = self._sessions.get(session_id)
        if signals is None:
            signals = self._sessions[session_id] = _SessionSignals()
            while len(self._sessions) > self.policy.max_sessions:
                self._sessions.popitem(last=False)
        self._sessions.move_to_end(session_id)
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

    def forget(self, session_ids: Iterable[str]) -> None:
        """Drop sessions (their partition moved to another replica)."""
        for session_id in session_ids:
            self._sessions.pop(session_id, None)
