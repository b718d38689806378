"""Answering one bidirectional stream's requests concurrently, a bounded number at a time, in
completion order (as Triton's stream does: each response carries its request's id)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

Request = TypeVar("Request")
Response = TypeVar("Response")


async def answer_concurrently(
    requests: AsyncIterator[Request],
    answer: Callable[[Request], Awaitable[Response]],
    max_in_flight: int,
) -> AsyncIterator[Response]:
    """Yield `answer(request)` for every request, as each completes.

    At most `max_in_flight` requests are between being read and having their response taken
    by the consumer: once that many are outstanding, no further request is read, so a client
    that sends faster than it reads is slowed by gRPC flow control instead of growing a queue
    here. A pump task owned by this generator reads the requests and runs the answers in its
    TaskGroup; closing the generator (the call ends or is cancelled) cancels and awaits it.
    """
    if max_in_flight < 1:
        raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
    slots = asyncio.Semaphore(max_in_flight)
    done: asyncio.Queue[Response | None] = asyncio.Queue()  # at most max_in_flight + 1 items

    async def answer_one(request: Request) -> None:
        done.put_nowait(await answer(request))

    async def pump() -> None:
        try:
            async with asyncio.TaskGroup() as group:
                async for request in requests:
                    await slots.acquire()
                    group.create_task(answer_one(request))
        finally:
            done.put_nowait(None)  # after every answer: the TaskGroup waited for them

    # The TaskGroup lives in its own task: a generator must not yield inside one.
    pumping = asyncio.get_running_loop().create_task(pump(), name="stream-pump")
    try:
        while (response := await done.get()) is not None:
            yield response
            slots.release()
        await pumping  # raises what failed the pump, if anything did
    finally:
        pumping.cancel()
        await asyncio.gather(pumping, return_exceptions=True)


_END = object()


async def requests_until(requests: AsyncIterator[Request], draining: asyncio.Event) -> AsyncIterator[Request]:
    """`requests` until `draining` is set, then no further one: a server that is stopping ends
    its streams once their requests in flight are answered, instead of holding its shutdown for
    the whole grace period on streams that clients keep open between batches. A request a
    client writes after that is never read; its stream's end tells the client to send it again."""
    iterator = aiter(requests)

    async def next_request() -> object:
        try:
            return await anext(iterator)
        except StopAsyncIteration:
            return _END

    stopped = asyncio.ensure_future(draining.wait())
    waits: list[asyncio.Future[Any]] = [stopped]
    try:
        while True:
            reading = asyncio.ensure_future(next_request())
            waits = [stopped, reading]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                return
            request = reading.result()
            if request is _END:
                return
            yield request  # type: ignore[misc]
    finally:
        # Also when the stream is cancelled while it waits: neither wait outlives it.
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
