"""Per model version counters of requests, executions and time spent, as operators and Triton's
tools read them (ModelStatistics); kept by the batcher, free of any protocol type."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Duration:
    """How many times something happened and the nanoseconds it took in all,
    e.g. `Duration(count=3, ns=1_500_000)`: three requests, 0.5 ms each on average."""

    count: int = 0
    ns: int = 0

    def add(self, ns: int) -> None:
        self.count += 1
        self.ns += ns


@dataclass
class BatchDurations:
    """Time spent on executions of one batch size (rows merged into one computation)."""

    compute_input: Duration = field(default_factory=Duration)
    compute_infer: Duration = field(default_factory=Duration)
    compute_output: Duration = field(default_factory=Duration)


@dataclass
class ModelStatistics:
    """Counters of one model version; they survive reloads of the version.

    `inference_count` counts rows (each row of a batched request is one inference), as
    `execution_count` counts computations; their ratio is the average batch size.
    Durations: `success` and `fail` from entering the batcher to the answer, `queue` from
    entering to being taken into a batch, `compute_*` merging inputs, running the model and
    splitting outputs, per request.
    """

    name: str
    version: str
    last_inference_ms: int = 0
    """Wall-clock time of the last answered request, in milliseconds since the Unix epoch."""
    inference_count: int = 0
    execution_count: int = 0
    success: Duration = field(default_factory=Duration)
    fail: Duration = field(default_factory=Duration)
    queue: Duration = field(default_factory=Duration)
    compute_input: Duration = field(default_factory=Duration)
    compute_infer: Duration = field(default_factory=Duration)
    compute_output: Duration = field(default_factory=Duration)
    batches: dict[int, BatchDurations] = field(default_factory=dict)

    def record_execution(self, rows: int, requests: int, input_ns: int, infer_ns: int, output_ns: int) -> None:
        """One computation of `rows` rows merged from `requests` requests."""
        self.execution_count += 1
        self.inference_count += rows
        batch = self.batches.setdefault(rows, BatchDurations())
        batch.compute_input.add(input_ns)
        batch.compute_infer.add(infer_ns)
        batch.compute_output.add(output_ns)
        for _ in range(requests):
            self.compute_input.add(input_ns)
            self.compute_infer.add(infer_ns)
            self.compute_output.add(output_ns)

    def record_queued(self, ns: int) -> None:
        self.queue.add(ns)

    def record_success(self, ns: int) -> None:
        self.success.add(ns)
        self.last_inference_ms = time.time_ns() // 1_000_000  # a timestamp, not an interval

    def record_failure(self, ns: int) -> None:
        self.fail.add(ns)
        self.last_inference_ms = time.time_ns() // 1_000_000
