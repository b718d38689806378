"""What every pipeline provides to the runtime, and what it reports back per batch."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

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
    batch_records: int
    """Records per batch unless `PIPELINE_MAX_BATCH_RECORDS` says otherwise: as many as one
    inference request to its model may carry."""

    async def process(self, records: Sequence[InboundRecord], stopping: asyncio.Event) -> BatchOutcome:
        """Decode, validate, infer and build outputs for a whole batch.

        Raises:
            BatchAbandoned: `stopping` was set while the batch waited for an accelerator.
        """
        ...

    def forget_keys(self, partitions: Sequence[tuple[str, int]]) -> None:
        """Drop per-entity state of partitions this replica no longer owns."""
        ...


@dataclass
class StartedBatch:
    """A batch an `OverlappingPipeline` has begun: its outcome so far (refusals), the inference
    it waits for (None when nothing is left to infer), and what turns the inference's answer into
    the rest of its outputs."""

    outcome: BatchOutcome
    answer: Awaitable[Any] | None
    finish: Callable[[Any], None]


@runtime_checkable
class OverlappingPipeline(StreamPipeline, Protocol):
    """A pipeline whose next batch may be decoded while this one's inference is out.

    The runtime calls `begin` for batches in the order they were fetched, and, each once its
    answer is in, `finish` in that same order: state read or written before the inference
    (windows) and after it (incidents) sees the batches in order, as `process` alone would.
    """

    def begin(self, records: Sequence[InboundRecord], stopping: asyncio.Event) -> StartedBatch:
        """Screen the batch, update the state its inference needs, and return the inference
        still to await (not yet awaited: the runtime starts it at once).

        The awaitable raises `BatchAbandoned` as `process` does."""
        ...
