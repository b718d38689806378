"""What every pipeline provides to the runtime, and what it reports back per batch."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pipelines.records import InboundRecord, OutboundRecord


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


class StreamPipeline(Protocol):
    """A pipeline: turns a batch of consumed records into records to produce."""

    name: str
    input_topics: list[str]
    output_topics: list[str]

    async def process(self, records: Sequence[InboundRecord], stopping: asyncio.Event) -> BatchOutcome:
        """Decode, validate, infer and build outputs for a whole batch.

        Raises:
            BatchAbandoned: `stopping` was set while the batch waited for an accelerator.
        """
        ...

    def forget_keys(self, partitions: Sequence[tuple[str, int]]) -> None:
        """Drop per-entity state of partitions this replica no longer owns."""
        ...
