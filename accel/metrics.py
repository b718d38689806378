"""Accelerator metrics for Prometheus (and OTLP), read from the batchers' own counters when
scraped, so serving a request costs nothing extra: requests by outcome and failure reason,
rows and executions, queue and compute time, executions by batch size, pending requests,
per model and version."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from accel.repository import ModelRepository, ServedVersion

BATCH_SIZE_BOUNDS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
"""Upper bounds (rows) of the cumulative executions-by-batch-size series; `+Inf` follows."""


class AccelMetrics:
    """Registers observable instruments over a repository; `failed()` counts refusals by reason."""

    def __init__(self, repository: ModelRepository) -> None:
        self._repository = repository
        self._failures: Counter[tuple[str, str]] = Counter()
        meter = metrics.get_meter("sovereign_edge.accel")
        self._counter(meter, "edge_accel_request_success", "Requests answered", lambda s: s.batcher.statistics.success.count)
        self._counter(meter, "edge_accel_inference_rows", "Rows inferred", lambda s: s.batcher.statistics.inference_count)
        self._counter(meter, "edge_accel_executions", "Model computations", lambda s: s.batcher.statistics.execution_count)
        self._counter(meter, "edge_accel_queue_seconds", "Time requests waited in the queue",
                      lambda s: s.batcher.statistics.queue.ns / 1e9, unit="s")
        self._counter(meter, "edge_accel_compute_seconds", "Time spent computing",
                      lambda s: s.batcher.statistics.compute_infer.ns / 1e9, unit="s")
        meter.create_observable_gauge(
            "edge_accel_pending_requests", [self._observe(lambda s: s.batcher.pending_requests)],
            unit="1", description="Requests waiting in a model's queue",
        )
        meter.create_observable_counter(
            "edge_accel_request_failure", [self._observe_failures], unit="1",
            description="Requests refused or failed, by model and reason (status code)",
        )
        meter.create_observable_counter(
            "edge_accel_model_load_failures", [self._observe_load_failures], unit="1",
            description="Model loads and reloads that failed, by model (0 for every model of the repository)",
        )
        meter.create_observable_counter(
            "edge_accel_executions_by_batch_size", [self._observe_batch_sizes], unit="1",
            description="Computations with at most `le` rows (cumulative, like a histogram's buckets)",
        )

    def failed(self, model: str, reason: str) -> None:
        """Count one failed request (reason: the status name it was answered with). A name the
        repository does not serve is counted as `unknown`: a client's string never becomes a label
        of its own, or hostile names would grow the metrics without bound."""
        served = set(self._repository.names())
        self._failures[(model if model in served else "unknown", reason)] += 1

    def _served(self) -> Iterable[ServedVersion]:
        for name in self._repository.names():
            for version in self._repository.versions(name):
                yield self._repository.resolve(name, version)

    def _observe(self, read: Callable[[ServedVersion], float]) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def callback(options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(read(s), {"model": s.name, "version": s.version}) for s in self._served()]

        return callback

    def _counter(self, meter: metrics.Meter, name: str, description: str,
                 read: Callable[[ServedVersion], float], unit: str = "1") -> None:
        meter.create_observable_counter(name, [self._observe(read)], unit=unit, description=description)

    def _observe_failures(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(n, {"model": m, "reason": r}) for (m, r), n in list(self._failures.items())]

    def _observe_load_failures(self, options: CallbackOptions) -> Iterable[Observation]:
        # Every model directory reports, failed or not, so an alert on the increase sees a series.
        failures = self._repository.load_failures
        names = sorted({*self._repository.names(), *self._repository.model_directories(), *failures})
        return [Observation(failures[name], {"model": name}) for name in names]

    def _observe_batch_sizes(self, options: CallbackOptions) -> Iterable[Observation]:
        out = []
        for served in self._served():
            executions = {rows: d.compute_infer.count for rows, d in served.batcher.statistics.batches.items()}
            labels = {"model": served.name, "version": served.version}
            for bound in BATCH_SIZE_BOUNDS:
                out.append(Observation(sum(n for rows, n in executions.items() if rows <= bound), {**labels, "le": str(bound)}))
            out.append(Observation(sum(executions.values()), {**labels, "le": "+Inf"}))
        return out
