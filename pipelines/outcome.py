"""What a pipeline reports back to the runtime per batch: its outputs and what they amount to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines.changelog import EntityChange
from pipelines.records import OutboundRecord


@dataclass
class BatchOutcome:
    """The outputs of one batch (results, DLQ and audit records) and what they amount to."""

    outputs: list[OutboundRecord] = field(default_factory=list)
    events_in: int = 0
    results: int = 0
    """Result records (scores, forecasts, insights, alerts), DLQ and audit records not counted."""
    anomalies: int = 0
    """Results that call for someone to act: KPI anomalies, cell sleep/wake recommendations (not lease renewals),
    high churn risk, fibre alerts."""
    dlq: int = 0
    dlq_by_reason: dict[str, int] = field(default_factory=dict)
    changes: dict[str, EntityChange] = field(default_factory=dict)
    """The state each entity the batch changed has after it (None: dropped), for the changelog."""


@dataclass
class StartedBatch:
    """A batch a pipeline has begun: its outcome so far (refusals), the inference it waits for
    (None when nothing is left to infer), and what turns the inference's answer into the rest of
    its outputs."""

    outcome: BatchOutcome
    answer: Awaitable[Any] | None
    finish: Callable[[Any], None]
