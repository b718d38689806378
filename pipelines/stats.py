"""Running counters of a pipeline replica, read by the demo's progress line and the health endpoint."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PipelineStats:
    """What one replica has done since it started."""

    fetched: int = 0
    """Records taken from Kafka, committed or not."""
    events_in: int = 0
    """Records whose batch is fully acknowledged and committed."""
    results_out: int = 0
    anomalies: int = 0
    dlq: int = 0
    batches: int = 0
    abandoned_batches: int = 0
    paused_partitions: int = 0
    """Partitions whose fetching is paused now (see `PIPELINE_PAUSE_AFTER_S`)."""
    pauses: int = 0
    """Times fetching was paused since the replica started."""

    def summary(self) -> str:
        return (
            f"events_in={self.events_in} scores_out={self.results_out} anomalies={self.anomalies} "
            f"dlq={self.dlq} batches={self.batches}"
        )
