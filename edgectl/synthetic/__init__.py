"""Synthetic telco traffic with labelled ground truth, for the demo, the tests and model training."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class LabelledEvent:
    """One generated event, its Kafka key (the entity: cell, session, fibre segment), and its
    ground truth (`None` for normal behaviour; an anomaly kind, intent or event class otherwise)."""

    event: dict[str, Any]
    key: str
    label: str | None


class TrafficGenerator(Protocol):
    """A synthetic source: each round is one batch of events, in time order."""

    def next_round(self) -> list[LabelledEvent]:
        """The next batch of labelled events."""
        ...
