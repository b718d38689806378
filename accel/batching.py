"""Per-model dynamic batching: requests queue up, are merged into one computation of at most
`max_batch_size` rows, and the outputs are split back, all with whole-array NumPy operations."""

from __future__ import annotations

import asyncio
import collections
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from accel.backends import Backend
from accel.errors import DeadlineExpired, InvalidInput, ModelNotReady, QueueFull
from accel.model import Tensor, TensorSpec
from accel.tensors import datatype_of


@dataclass(frozen=True)
class BatchPolicy:
    """How a model's requests are merged.

    Example: `BatchPolicy(max_batch_size=4096, max_queue_delay_us=200, max_queue_size=512)`
    merges waiting requests up to 4,096 rows, waits at most 200 µs for more to arrive after the
    first, and answers RESOURCE_EXHAUSTED once 512 requests are waiting.
    """

    max_batch_size: int = 4096
    max_queue_delay_us: int = 0
    max_queue_size: int = 1024

    def __post_init__(self) -> None:
        if self.max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {self.max_batch_size}")
        if self.max_queue_delay_us < 0:
            raise ValueError(f"max_queue_delay_us must be >= 0, got {self.max_queue_delay_us}")
        if self.max_queue_size < 1:
            raise ValueError(f"max_queue_size must be >= 1, got {self.max_queue_size}")


@dataclass
class _Pending:
    inputs: dict[str, Tensor]
    rows: int
    future: asyncio.Future[dict[str, Tensor]]
    deadline: float | None


class DynamicBatcher:
    """Serves one model version: validates, queues, merges, computes off the event loop, splits.

    Use as `async with DynamicBatcher(backend, policy) as batcher: await batcher.infer(inputs)`.
    """

    def __init__(self, backend: Backend, policy: BatchPolicy, label: str = "model") -> None:
        self.backend = backend
        self.policy = policy
        self.label = label
        self._queue: collections.deque[_Pending] = collections.deque()
        self._arrived = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"infer-{label}")
        self._task: asyncio.Task[None] | None = None
        self._specs = {spec.name: spec for spec in backend.inputs}

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._serve(), name=f"batcher-{self.label}")

    async def stop(self) -> None:
        """Stop serving; requests still queued fail with UNAVAILABLE. Safe to call twice."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        while self._queue:
            pending = self._queue.popleft()
            if not pending.future.done():
                pending.future.set_exception(ModelNotReady(f"{self.label} is unloading"))
        self._executor.shutdown(wait=True)

    async def __aenter__(self) -> DynamicBatcher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def pending_requests(self) -> int:
        return len(self._queue)

    async def infer(self, inputs: dict[str, Tensor], deadline: float | None = None) -> dict[str, Tensor]:
        """Compute one request's outputs. `deadline` is in event-loop time."""
        if self._task is None:
            raise ModelNotReady(f"{self.label} is not serving")
        rows = self._validate(inputs)
        if len(self._queue) >= self.policy.max_queue_size:
            raise QueueFull(
                f"{self.label}: {len(self._queue)} requests already queued (max_queue_size "
                f"{self.policy.max_queue_size}); retry later"
            )
        future: asyncio.Future[dict[str, Tensor]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(inputs, rows, future, deadline))
        self._arrived.set()
        return await future

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
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                self._arrived.clear()
                await self._arrived.wait()
            batch = await self._collect(loop)
            if batch:
                await self._compute(loop, batch)

    async def _collect(self, loop: asyncio.AbstractEventLoop) -> list[_Pending]:
        delay_s = self.policy.max_queue_delay_us / 1e6
        if delay_s > 0 and self._queued_rows() < self.policy.max_batch_size:
            until = loop.time() + delay_s
            while self._queued_rows() < self.policy.max_batch_size and loop.time() < until:
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), until - loop.time())
                except TimeoutError:
                    break
        batch: list[_Pending] = []
        rows = 0
        now = loop.time()
        while self._queue:
            head = self._queue[0]
            if head.future.done():  # the caller went away
                self._queue.popleft()
                continue
            if head.deadline is not None and head.deadline <= now:
                self._queue.popleft()
                head.future.set_exception(
                    DeadlineExpired(f"{self.label}: request deadline passed after queueing; not computed")
                )
                continue
            if batch and rows + head.rows > self.policy.max_batch_size:
                break
            batch.append(self._queue.popleft())
            rows += head.rows
        return batch

    def _queued_rows(self) -> int:
        return sum(p.rows for p in self._queue)

    async def _compute(self, loop: asyncio.AbstractEventLoop, batch: list[_Pending]) -> None:
        if len(batch) == 1:
            merged = batch[0].inputs
        else:
            merged = {name: np.concatenate([p.inputs[name] for p in batch]) for name in self._specs}
        try:
            outputs = await loop.run_in_executor(self._executor, self.backend.run, merged)
        except Exception as exc:  # a failure of one computation fails its requests, not the server
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        if len(batch) == 1:
            parts = [outputs]
        else:
            offsets = np.cumsum([p.rows for p in batch])[:-1]
            split = {name: np.split(value, offsets) for name, value in outputs.items()}
            parts = [{name: chunks[i] for name, chunks in split.items()} for i in range(len(batch))]
        for pending, part in zip(batch, parts, strict=True):
            if not pending.future.done():
                pending.future.set_result(part)


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
