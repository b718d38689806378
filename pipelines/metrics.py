"""Pipeline metrics through the OpenTelemetry API (exported to Prometheus and, when configured,
OTLP): per pipeline and partition, events in, results out, DLQ by reason, consumer lag, batch
size, end-to-end latency (inference latency is recorded by the accelerator client), and the
per-entity state held and evicted. Recorded per batch, never per event, to stay cheap."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence, Sized
from typing import Literal

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from pipelines.outcome import BatchOutcome
from pipelines.records import InboundRecord

_meter = metrics.get_meter("sovereign_edge.pipelines")
LATENCY_SAMPLE_EVERY = 64
"""End-to-end latency is sampled once every this many records, counted on across batches: every
record weighs the same in the percentiles whatever the batch sizes, and a histogram measurement
(about 10 µs in the SDK) costs a fraction of a microsecond per record."""

_events_in = _meter.create_counter("edge_pipeline_events_in", unit="1", description="Records consumed and committed")
_results_out = _meter.create_counter("edge_pipeline_results_out", unit="1", description="Results produced and acknowledged")
_anomalies = _meter.create_counter("edge_pipeline_anomalies", unit="1", description="Anomaly alerts produced")
_dlq = _meter.create_counter("edge_pipeline_dlq", unit="1", description="Records sent to the DLQ, by reason")
_batch_size = _meter.create_histogram("edge_pipeline_batch_size", unit="1", description="Records per batch")
_e2e = _meter.create_histogram(
    "edge_pipeline_end_to_end_latency", unit="s", description="Record timestamp to results acknowledged (sampled)"
)

_restored = _meter.create_counter(
    "edge_pipeline_state_restored_entities", unit="1",
    description="Entities whose state was read back from the changelog when partitions were assigned",
)
_restore_records = _meter.create_counter(
    "edge_pipeline_state_restore_records", unit="1", description="Changelog records read while restoring state",
)
_restore_duration = _meter.create_histogram(
    "edge_pipeline_state_restore_duration", unit="s",
    description="Time from an assignment to its partitions' state restored (the replica is not ready meanwhile)",
)
_state_evictions = _meter.create_counter(
    "edge_pipeline_state_evictions", unit="1",
    description="Entities whose state was dropped to stay within the replica's limits, by reason (capacity, idle)",
)
EvictionReason = Literal["capacity", "idle"]
_held_lock = threading.Lock()  # the Prometheus exporter observes gauges from its own thread
_held: list[tuple[str, weakref.ref[Sized]]] = []


def count_state_evictions(pipeline: str, reason: EvictionReason, count: int) -> None:
    """Count entities whose state a pipeline dropped (`capacity`: over its limit, least recently
    updated first; `idle`: not updated for its idle time)."""
    if count:
        _state_evictions.add(count, {"pipeline": pipeline, "reason": reason})


def watch_entities(pipeline: str, held: Sized) -> None:
    """Report `len(held)` as the entities `pipeline` holds, for as long as `held` lives."""
    with _held_lock:
        _held.append((pipeline, weakref.ref(held)))


def _observe_entities(options: CallbackOptions) -> Iterable[Observation]:
    totals: dict[str, int] = {}
    with _held_lock:
        alive = [(pipeline, ref) for pipeline, ref in _held if ref() is not None]
        _held[:] = alive
        for pipeline, ref in alive:
            held = ref()
            if held is not None:
                totals[pipeline] = totals.get(pipeline, 0) + len(held)
    return [Observation(count, {"pipeline": pipeline}) for pipeline, count in sorted(totals.items())]


_meter.create_observable_gauge(
    "edge_pipeline_state_entities", callbacks=[_observe_entities], unit="1",
    description="Entities (cells, sessions) whose state the replica holds",
)


class PipelineMetrics:
    """The instruments of one pipeline replica, labelled with its name."""

    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline
        self._attrs = {"pipeline": pipeline}
        self._lag: dict[tuple[str, int], int] = {}
        _meter.create_observable_gauge(
            "edge_pipeline_consumer_lag", callbacks=[self._observe_lag], unit="1",
            description="Records behind the partition's high watermark",
        )
        self.paused_partitions = 0
        _meter.create_observable_gauge(
            "edge_pipeline_paused_partitions", callbacks=[self._observe_paused], unit="1",
            description="Partitions whose fetching is paused while a batch waits (backpressure)",
        )

        self.restoring_partitions = 0
        self._next_latency_sample = 0
        """Where in the next batch the next latency sample is."""
        _meter.create_observable_gauge(
            "edge_pipeline_state_restoring_partitions", callbacks=[self._observe_restoring], unit="1",
            description="Partitions whose state is being restored; none of their records is processed meanwhile",
        )

    def _observe_restoring(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(self.restoring_partitions, self._attrs)]

    def state_restored(self, entities: int, records: int, seconds: float) -> None:
        """Count one restore: the entities it brought back, the records it read and its duration."""
        _restored.add(entities, self._attrs)
        _restore_records.add(records, self._attrs)
        _restore_duration.record(seconds, self._attrs)

    def set_lag(self, topic: str, partition: int, lag: int) -> None:
        self._lag[(topic, partition)] = max(lag, 0)

    def forget_partitions(self, partitions: Iterable[tuple[str, int]]) -> None:
        for tp in partitions:
            self._lag.pop(tp, None)

    def _observe_paused(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(self.paused_partitions, self._attrs)]

    def _observe_lag(self, options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(lag, {**self._attrs, "topic": topic, "partition": str(partition)})
            for (topic, partition), lag in list(self._lag.items())
        ]

    def batch_delivered(
        self, consumed: Mapping[tuple[str, int], int], records: Sequence[InboundRecord], outcome: BatchOutcome,
        now_ms: int,
    ) -> None:
        """Count a batch whose outputs the broker has acknowledged (`consumed`: its records by
        topic and partition) and sample its end-to-end latency."""
        for (topic, partition), count in consumed.items():
            _events_in.add(count, {**self._attrs, "topic": topic, "partition": str(partition)})
        _results_out.add(outcome.results, self._attrs)
        _anomalies.add(outcome.anomalies, self._attrs)
        for reason, count in outcome.dlq_by_reason.items():
            _dlq.add(count, {**self._attrs, "reason": reason})
        _batch_size.record(len(records), self._attrs)
        first = self._next_latency_sample
        for r in records[first::LATENCY_SAMPLE_EVERY]:
            if r.timestamp > 0:
                _e2e.record(max(now_ms - r.timestamp, 0) / 1000.0, self._attrs)
        self._next_latency_sample = (first - len(records)) % LATENCY_SAMPLE_EVERY
