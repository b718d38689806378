"""Records as the pipeline runtime sees them: what came in from Kafka, what goes out."""

from __future__ import annotations

from dataclasses import dataclass, field

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class InboundRecord:
    """One consumed Kafka record."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers = field(default_factory=list)
    timestamp_ms: int = -1


@dataclass(frozen=True)
class OutboundRecord:
    """One record to produce. Records with the same key land in the same partition, in order."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Headers = field(default_factory=list)
