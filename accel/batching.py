"""Per-model dynamic batching: requests queue up by priority, are merged into one computation of
at most `max_batch_size` rows, and the outputs are split back, all with whole-array NumPy
operations; requests past their deadline are refused rather than computed."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from accel.backends import Backend
from accel.errors import DeadlineExpired, InvalidInput, ModelNotReady, QueueFull
from accel.model import Tensor, TensorSpec
from accel.request_queue import PriorityRequestQueue, QueuedRequest
from accel.statistics import ModelStatistics
from inference_protocol.tensors import datatype_of


@dataclass(frozen=True)
class BatchPolicy:
    """How a model's requests are merged and ordered.

    Example: `BatchPolicy(max_batch_size=4096, max_queue_delay_us=200, max_queue_size=512,
    priority_levels=2, default_priority_level=2, default_timeout_us=50_000)` merges waiting
    requests up to 4,096 rows, waits at most 200 µs for more to arrive after the first, answers
    RESOURCE_EXHAUSTED once 512 requests are waiting, takes priority-1 requests before priority-2
    ones (requests without a priority are level 2), and refuses a request still queued 50 ms after
    it arrived unless the request set its own timeout.
    """

    max_batch_size: int = 4096
    max_queue_delay_us: int = 0
    max_queue_size: int = 1024
    priority_levels: int = 1
    default_priority_level: int = 1
    default_timeout_us: int = 0
    """0: requests without a timeout wait as long as their gRPC deadline allows."""
    inline_compute_max_us: int = 0
    """Computations that take at most this long (a running average) run on the event loop
    itself: for a small model the hop to the worker thread and back costs more than the model.
    0: always in the worker thread."""

    def __post_init__(self) -> None:
        if self.max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {self.max_batch_size}")
        if self.max_queue_delay_us < 0:
            raise ValueError(f"max_queue_delay_us must be >= 0, got {self.max_queue_delay_us}")
        if self.max_queue_size < 1:
            raise ValueError(f"max_queue_size must be >= 1, got {self.max_queue_size}")
        if self.priority_levels < 1:
            raise ValueError(f"priority_levels must be >= 1, got {self.priority_levels}")
        if not 1 <= self.default_priority_level <= self.priority_levels:
            raise ValueError(
                f"default_priority_level must be within 1..{self.priority_levels} (priority_levels), "
                f"got {self.default_priority_level}"
            )
        if self.default_timeout_us < 0:
            raise ValueError(f"default_timeout_us must be >= 0, got {self.default_timeout_us}")
        if self.inline_compute_max_us < 0:
            raise ValueError(f"inline_compute_max_us must be >= 0, got {self.inline_compute_max_us}")


_COMPUTE_AVG_WEIGHT = 0.1
"""Weight of the latest computation in the running average that decides where the next one runs."""


class DynamicBatcher:
    """Serves one model version: validates, queues by priority, merges, computes (off the event
    loop, unless the model is cheaper than the trip to its thread), splits.

    Use as `async with DynamicBatcher(backend, policy) as batcher: await batcher.infer(inputs)`.
    Counters of what it served accumulate in `statistics` (pass one in to keep counting across
    batchers of the same model version).
    """

    def __init__(
        self, backend: Backend, policy: BatchPolicy, label: str = "model", statistics: ModelStatistics | None = None
    ) -> None:
        self.backend = backend
        self.policy = policy
        self.label = label
        self.statistics = statistics if statistics is not None else ModelStatistics(label, "")
        self._queue = PriorityRequestQueue(policy.priority_levels)
        self._computing: list[QueuedRequest] = []
        self._arrived = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"infer-{label}")
        self._task: asyncio.Task[None] | None = None
        # Running average of one computation's time; None until the first one, which always runs
        # in the worker thread (nothing is known of the model yet).
        self._compute_avg_ns: float | None = None
        self._closing = False
        self._specs = {spec.name: spec for spec in backend.inputs}
        # Inputs with a free size after the batch dimension: requests of different sizes cannot
        # share one computation.
        self._sizes_vary = any(-1 in spec.shape[1:] for spec in backend.inputs)

    async def start(self) -> None:
        if self._task is None and not self._closing:
            self._task = asyncio.get_running_loop().create_task(self._serve(), name=f"batcher-{self.label}")

    async def stop(self, drain_s: float = 0.0) -> None:
        """Stop serving. New requests are refused at once; requests already queued or computing are
        still answered if that takes at most `drain_s` seconds, and fail with UNAVAILABLE after.
        Safe to call twice."""
        self._closing = True
        self._arrived.set()
        task, self._task = self._task, None
        if task is not None:
            if drain_s > 0:
                await asyncio.wait({task}, timeout=drain_s)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for request in [*self._computing, *self._queue]:
            self._fail(request, ModelNotReady(f"{self.label} was unloaded before computing the request"))
        self._computing.clear()
        self._queue.clear()
        self._executor.shutdown(wait=True)

    async def __aenter__(self) -> DynamicBatcher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def pending_requests(self) -> int:
        return len(self._queue)

    async def infer(
        self,
        inputs: dict[str, Tensor],
        deadline: float | None = None,
        priority: int = 0,
        timeout_us: int | None = None,
    ) -> dict[str, Tensor]:
        """Compute one request's outputs.

        Args:
            deadline: event-loop time by which the caller needs the answer (its gRPC deadline).
            priority: 1 (highest) to the policy's `priority_levels`; 0 takes the default level.
            timeout_us: how long the request may wait in the queue; None takes the policy's
                `default_timeout_us`. The earlier of this and `deadline` applies.

        Everything up to queueing runs without yielding to the event loop, so a caller that
        resolved this batcher is queued before any reload can start draining it.
        """
        start_ns = time.monotonic_ns()
        try:
            outputs = await self._enqueue(inputs, deadline, priority, timeout_us, start_ns)
        except Exception:
            self.statistics.record_failure(time.monotonic_ns() - start_ns)
            raise
        self.statistics.record_success(time.monotonic_ns() - start_ns)
        return outputs

    def _enqueue(
        self, inputs: dict[str, Tensor], deadline: float | None, priority: int, timeout_us: int | None, start_ns: int
    ) -> asyncio.Future[dict[str, Tensor]]:
        if self._task is None:
            raise ModelNotReady(f"{self.label} is not serving")
        rows = self._validate(inputs)
        level = self._priority_level(priority)
        if len(self._queue) >= self.policy.max_queue_size:
            raise QueueFull(
                f"{self.label}: {len(self._queue)} requests already queued (max_queue_size "
                f"{self.policy.max_queue_size}); retry later"
            )
        loop = asyncio.get_running_loop()
        now = loop.time()
        timeout_us = self.policy.default_timeout_us if timeout_us is None else timeout_us
        if timeout_us:
            deadline = min(deadline, now + timeout_us / 1e6) if deadline is not None else now + timeout_us / 1e6
        if deadline is not None and deadline <= now:
            raise DeadlineExpired(f"{self.label}: the request's deadline passed before it was queued; not computed")
        future: asyncio.Future[dict[str, Tensor]] = loop.create_future()
        request = QueuedRequest(inputs, rows, future, deadline, start_ns, level)
        if deadline is not None:
            request.expiry = loop.call_at(deadline, self._expire, request, now)
        self._queue.append(request)
        self._arrived.set()
        return future

    def _priority_level(self, priority: int) -> int:
        if priority == 0:
            return self.policy.default_priority_level
        if not 1 <= priority <= self.policy.priority_levels:
            raise InvalidInput(
                f"{self.label}: priority {priority} is outside 1..{self.policy.priority_levels} "
                f"(the model's priority_levels; 0 or none takes level {self.policy.default_priority_level})"
            )
        return priority

    def _expire(self, request: QueuedRequest, queued_at: float) -> None:
        """Refuse a request still queued at its deadline; it stays in the queue, abandoned."""
        waited_ms = (asyncio.get_running_loop().time() - queued_at) * 1e3
        self._fail(
            request,
            DeadlineExpired(
                f"{self.label}: request deadline (its timeout parameter or gRPC deadline) passed after "
                f"{waited_ms:.1f} ms in the queue; not computed"
            ),
        )

    @staticmethod
    def _fail(request: QueuedRequest, error: Exception) -> None:
        if request.expiry is not None:
            request.expiry.cancel()
        if not request.future.done():
            request.future.set_exception(error)

    def _validate(self, inputs: dict[str, Tensor]) -> int:
        missing = sorted(set(self._specs) - set(inputs))
        unknown = sorted(set(inputs) - set(self._specs))
        if missing or unknown:
            raise InvalidInput(
                f"{self.label} expects inputs {sorted(self._specs)}; missing {missing}, unknown {unknown}"
            )
        rows: int | None = None
        for name, array in inputs.items():
            spec = self._specs[name]
            _check_tensor(self.label, spec, array)
            if rows is None:
                rows = array.shape[0]
            elif array.shape[0] != rows:
                raise InvalidInput(
                    f"{self.label}: input {name!r} has {array.shape[0]} rows, other inputs have {rows}"
                )
        assert rows is not None
        if rows > self.policy.max_batch_size:
            raise InvalidInput(
                f"{self.label}: request has {rows} rows, max_batch_size is {self.policy.max_batch_size}"
            )
        return rows

    async def _serve(self) -> None:
        """Take batches until stopped; once closing, until the queue is empty (the drain)."""
        loop = asyncio.get_running_loop()
        while self._queue or not self._closing:
            if not self._queue:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            batch = await self._collect(loop)
            if batch:
                self._computing = batch
                await self._compute(loop, batch)
                self._computing = []

    async def _collect(self, loop: asyncio.AbstractEventLoop) -> list[QueuedRequest]:
        delay_s = self.policy.max_queue_delay_us / 1e6
        if delay_s > 0 and not self._closing and self._queue.rows < self.policy.max_batch_size:
            until = loop.time() + delay_s
            while self._queue.rows < self.policy.max_batch_size and loop.time() < until:
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), until - loop.time())
                except TimeoutError:
                    break
        batch: list[QueuedRequest] = []
        rows = 0
        now_ns = time.monotonic_ns()
        while self._queue:
            head = self._queue.head()
            if head.abandoned:  # expired, or the caller went away
                self._queue.pop()
                continue
            if batch and rows + head.rows > self.policy.max_batch_size:
                break
            if batch and self._sizes_vary and not self._same_sizes(batch[0], head):
                break  # one batch, one shape; the next batch starts with this request
            batch.append(self._queue.pop())
            if head.expiry is not None:
                head.expiry.cancel()
            rows += head.rows
            self.statistics.record_queued(now_ns - head.enqueued_ns)
        return batch

    def _runs_inline(self) -> bool:
        average = self._compute_avg_ns
        return average is not None and average <= self.policy.inline_compute_max_us * 1000

    def _same_sizes(self, first: QueuedRequest, other: QueuedRequest) -> bool:
        return all(first.inputs[name].shape[1:] == other.inputs[name].shape[1:] for name in self._specs)

    async def _compute(self, loop: asyncio.AbstractEventLoop, batch: list[QueuedRequest]) -> None:
        started_ns = time.monotonic_ns()
        merged_ns = started_ns
        try:
            if len(batch) == 1:
                merged = batch[0].inputs
            else:
                merged = {name: np.concatenate([p.inputs[name] for p in batch]) for name in self._specs}
            merged_ns = time.monotonic_ns()
            if self._runs_inline():
                outputs = self.backend.run(merged)
            else:
                outputs = await loop.run_in_executor(self._executor, self.backend.run, merged)
        except Exception as exc:  # a failure of one computation fails its requests, not the server
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(exc)
            return
        computed_ns = time.monotonic_ns()
        took_ns = computed_ns - merged_ns
        average = self._compute_avg_ns
        self._compute_avg_ns = took_ns if average is None else average + _COMPUTE_AVG_WEIGHT * (took_ns - average)
        if len(batch) == 1:
            parts = [outputs]
        else:
            offsets = np.cumsum([p.rows for p in batch])[:-1]
            split = {name: np.split(value, offsets) for name, value in outputs.items()}
            parts = [{name: chunks[i] for name, chunks in split.items()} for i in range(len(batch))]
        rows = sum(p.rows for p in batch)
        self.statistics.record_execution(
            rows, len(batch), merged_ns - started_ns, computed_ns - merged_ns, time.monotonic_ns() - computed_ns
        )
        for request, part in zip(batch, parts, strict=True):
            if not request.future.done():
                request.future.set_result(part)


def _check_tensor(label: str, spec: TensorSpec, array: Tensor) -> None:
    datatype = datatype_of(array)
    if datatype != spec.datatype:
        raise InvalidInput(f"{label}: input {spec.name!r} must be {spec.datatype}, got {datatype}")
    if array.ndim != len(spec.shape):
        raise InvalidInput(
            f"{label}: input {spec.name!r} must have shape {list(spec.shape)} (-1: any), "
            f"got {list(array.shape)}"
        )
    for got, want in zip(array.shape, spec.shape, strict=True):
        if want != -1 and got != want:
            raise InvalidInput(
                f"{label}: input {spec.name!r} must have shape {list(spec.shape)} (-1: any), "
                f"got {list(array.shape)}"
            )
