"""How much per-entity state (cell windows, histories, leases, sessions) one pipeline replica may
keep, so that a stream of new or hostile keys costs a bounded amount of memory."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

DEFAULT_MAX_KEY_CHARS = 256
"""Longest entity key accepted unless a setting says otherwise: a 3GPP cell DN fits with room."""
DEFAULT_IDLE_S = 172_800.0
"""Two days: longer than the longest reporting period a KPI pipeline accepts (a day)."""
CLOCK_SAMPLES = 33
"""Event times read per batch to advance a replica's event clock (their median)."""


@dataclass(frozen=True)
class EntityLimits:
    """Bounds on one replica's per-entity state.

    Example: `EntityLimits(max_entities=40_000, idle_s=3600, max_key_chars=128)`: at most 40,000
    entities (beyond them the least recently updated is dropped), an entity not updated for an
    hour of event time is dropped, and an event whose key is longer than 128 characters is
    refused to the DLQ. A dropped entity that comes back starts afresh, as after a rebalance.
    """

    max_entities: int = 100_000
    idle_s: float = DEFAULT_IDLE_S
    """0: entities never expire for idleness (the count still bounds them)."""
    max_key_chars: int = DEFAULT_MAX_KEY_CHARS

    def __post_init__(self) -> None:
        if self.max_entities < 1:
            raise ValueError(f"max_entities must be >= 1, got {self.max_entities}")
        if not self.idle_s >= 0:
            raise ValueError(f"idle_s must be >= 0, got {self.idle_s}")
        if self.max_key_chars < 1:
            raise ValueError(f"max_key_chars must be >= 1, got {self.max_key_chars}")

    def overridden(
        self, *, max_entities: int | None = None, idle_s: float | None = None, max_key_chars: int | None = None
    ) -> EntityLimits:
        """These limits with the given ones (not None) in their place: a pipeline's own defaults
        under the operator's settings."""
        changes: dict[str, Any] = {}
        if max_entities is not None:
            changes["max_entities"] = max_entities
        if idle_s is not None:
            changes["idle_s"] = idle_s
        if max_key_chars is not None:
            changes["max_key_chars"] = max_key_chars
        return replace(self, **changes)


def grown_rows(rows: int, limit: int | None) -> int:
    """Rows a full per-entity buffer of `rows` rows grows to: double (64 at least), but not past
    `limit` (the entities it may hold) until it holds that many, so that a buffer at its limit
    has no unused half. Past the limit (one batch bringing more new keys than the limit) it
    doubles again."""
    doubled = max(64, 2 * rows)
    return min(doubled, limit) if limit is not None and rows < limit else doubled


def median_time_s(times_s: Sequence[float]) -> float:
    """The median of some event times (-inf for none): what a batch says the time is.

    A median, not a maximum, so that a few events with hostile timestamps (year 9999) cannot move
    a replica's event clock and expire every entity it holds.
    """
    if not times_s:
        return -math.inf
    ordered = sorted(times_s)
    return ordered[len(ordered) // 2]


def sampled_times_s(timestamps: Sequence[str], samples: int = CLOCK_SAMPLES) -> list[float]:
    """POSIX times of up to `samples` RFC 3339 timestamps spread evenly over a batch (already
    checked by the intake): enough for `median_time_s`, at a fixed cost per batch."""
    step = max(1, len(timestamps) // samples)
    times_s: list[float] = []
    for text in timestamps[::step]:
        try:
            times_s.append(datetime.fromisoformat(text).timestamp())
        except (ValueError, OverflowError):  # not for the clock to refuse: the intake has judged it
            continue
    return times_s
