"""The requests waiting in one model's batcher: one FIFO per priority level, the highest priority
(the lowest level number) first, as Triton's dynamic batcher orders them."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator
from dataclasses import dataclass, field

from accel.model import Tensor


@dataclass(eq=False)
class QueuedRequest:
    """One request waiting for a batch: its inputs, where its answer goes and when it expires."""

    inputs: dict[str, Tensor]
    rows: int
    future: asyncio.Future[dict[str, Tensor]]
    deadline: float | None
    """Event-loop time after which the request is refused instead of computed (None: never)."""
    enqueued_ns: int
    priority_level: int = 1
    expiry: asyncio.TimerHandle | None = field(default=None, repr=False)

    @property
    def abandoned(self) -> bool:
        """Answered already (expired) or given up by its caller."""
        return self.future.done()


class PriorityRequestQueue:
    """FIFO per priority level 1..`levels`; `head()` and `pop()` serve level 1 first.

    Example: with `levels=3`, a request at level 1 queued after ten at level 3 is taken first.
    """

    def __init__(self, levels: int = 1) -> None:
        if levels < 1:
            raise ValueError(f"priority levels must be >= 1, got {levels}")
        self._levels = [collections.deque[QueuedRequest]() for _ in range(levels)]
        self._count = 0
        self._rows = 0

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[QueuedRequest]:
        for level in self._levels:
            yield from level

    @property
    def rows(self) -> int:
        """Rows of every queued request, abandoned ones included until they are popped."""
        return self._rows

    def append(self, request: QueuedRequest) -> None:
        self._levels[request.priority_level - 1].append(request)
        self._count += 1
        self._rows += request.rows

    def head(self) -> QueuedRequest:
        """The request `pop()` would return. Raises IndexError when empty."""
        for level in self._levels:
            if level:
                return level[0]
        raise IndexError("the request queue is empty")

    def pop(self) -> QueuedRequest:
        for level in self._levels:
            if level:
                request = level.popleft()
                self._count -= 1
                self._rows -= request.rows
                return request
        raise IndexError("the request queue is empty")

    def clear(self) -> None:
        for level in self._levels:
            level.clear()
        self._count = self._rows = 0
