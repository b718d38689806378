"""One long-lived `ModelStreamInfer` stream to one accelerator, shared by every batch sent to it.

The accelerator declares its region in a stream's initial metadata before it reads a request.
`InferenceStream.open` reads it and gives the stream only if it names the site's region, so
every request written on the stream goes over a connection verified in region: a broken
connection ends the stream, and the next request opens a new one, verified again. Sharing the
stream saves every batch the round trip of that declaration (and the setting-up of a call on
both sides), which on a busy site is most of the time a small batch waits for its answer.

Each request carries an id of its own and the stream's reader hands every answer to the request
with its id (the accelerator answers in completion order). A request not answered within its
timeout, or a stream that ends, fails every request still waiting on it, as an outage that the
caller retries, and the stream takes no more: a stream that missed a deadline may sit on a dead
connection."""

from __future__ import annotations

import asyncio
import itertools

import grpc

from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc
from inference_protocol.service import REGION_METADATA


class RegionRefused(Exception):
    """The accelerator's stream declared another region, or none: nothing was written on it."""

    def __init__(self, declared: str | None) -> None:
        super().__init__(declared)
        self.declared = declared


class InferenceStream:
    """`stream = await InferenceStream.open(stub, metadata, "kr-seoul", 5.0)`, then
    `reply = await stream.answer(request, 5.0)` from any number of batches at once;
    `await stream.close()` when done."""

    def __init__(self, call: grpc.aio.StreamStreamCall) -> None:
        self._call = call
        self._waiting: dict[str, asyncio.Future[pb.ModelStreamInferResponse]] = {}
        self._ids = itertools.count()
        self._writing = asyncio.Lock()  # gRPC takes one message at a time on a call
        self._reader: asyncio.Task[None] | None = None
        self.ended: grpc.aio.AioRpcError | None = None
        """Why the stream takes no more requests (None while it does)."""

    @classmethod
    async def open(
        cls, stub: pb_grpc.GRPCInferenceServiceStub, metadata: list[tuple[str, str]], region: str, timeout_s: float
    ) -> InferenceStream:
        """A new stream whose accelerator has declared `region`.

        Raises:
            RegionRefused: it declared another region, or none (the stream is closed).
            grpc.aio.AioRpcError: it did not open within `timeout_s` (DEADLINE_EXCEEDED) or ended
                before it began (the accelerator is unreachable, or refused the call).
            grpc.aio.UsageError: the channel is closed.
        """
        call = stub.ModelStreamInfer(metadata=metadata)
        try:
            try:
                declared = await asyncio.wait_for(declared_region(call), timeout_s)
            except TimeoutError:
                raise _error(grpc.StatusCode.DEADLINE_EXCEEDED, f"the stream did not open within {timeout_s:g} s") from None
            if declared != region:
                raise RegionRefused(declared)
        except BaseException:
            call.cancel()
            raise
        stream = cls(call)
        stream._reader = asyncio.get_running_loop().create_task(stream._read(), name="inference-stream-reader")
        return stream

    async def answer(self, request: pb.ModelInferRequest, timeout_s: float) -> pb.ModelStreamInferResponse:
        """Write `request` (its `id` is set here) and wait for its answer, an error in band included.

        Raises:
            grpc.aio.AioRpcError: the stream ended, or no answer came within `timeout_s`
                (DEADLINE_EXCEEDED; the stream is then closed).
        """
        if self.ended is not None:
            raise self.ended
        request_id = str(next(self._ids))
        request.id = request_id
        waiter: asyncio.Future[pb.ModelStreamInferResponse] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = waiter
        try:
            async with asyncio.timeout(timeout_s):
                async with self._writing:
                    await self._write(request)
                return await waiter
        except TimeoutError:
            late = _error(grpc.StatusCode.DEADLINE_EXCEEDED, f"no answer within {timeout_s:g} s")
            self._end(late)
            self._call.cancel()
            raise late from None
        except grpc.aio.AioRpcError as exc:  # the write found the stream ended
            self._end(exc)
            raise
        finally:
            self._waiting.pop(request_id, None)
            if waiter.done() and not waiter.cancelled():
                waiter.exception()  # raised here already, or moot: not to be reported as never retrieved

    async def _write(self, request: pb.ModelInferRequest) -> None:
        """Write on the stream, which may have ended while this request waited for its turn:
        then its end is raised, never gRPC's word for a call that is over (InvalidStateError, or
        the CancelledError of a call cancelled under the write), which a batch would take for
        its own cancellation."""
        if self.ended is not None:
            raise self.ended
        try:
            await self._call.write(request)
        except asyncio.InvalidStateError:
            raise self._end(_error(grpc.StatusCode.UNAVAILABLE, "the stream ended")) from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self.ended is None or (task is not None and task.cancelling()):
                raise  # this request itself is cancelled (its deadline, or its batch abandoned)
            raise self.ended from None

    async def close(self) -> None:
        """End the stream; requests still waiting fail as UNAVAILABLE. Safe to call twice."""
        self._end(_error(grpc.StatusCode.UNAVAILABLE, "the stream was closed"))
        self._call.cancel()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def _read(self) -> None:
        """Hand each answer to the request with its id; when the stream ends, fail the rest. An
        answer to a request no longer waiting (it timed out, or its batch was abandoned) is dropped."""
        try:
            while True:
                reply = await self._call.read()
                if reply is grpc.aio.EOF:
                    self._end(_error(grpc.StatusCode.UNAVAILABLE, "the accelerator closed the stream"))
                    return
                waiter = self._waiting.pop(reply.infer_response.id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(reply)
        except grpc.aio.AioRpcError as exc:
            self._end(exc)
        except grpc.aio.UsageError:
            self._end(_error(grpc.StatusCode.UNAVAILABLE, "the channel was closed"))

    def _end(self, why: grpc.aio.AioRpcError) -> grpc.aio.AioRpcError:
        """Take no more requests and fail those waiting; the reason the stream ended, the first given."""
        if self.ended is None:
            self.ended = why
        waiting, self._waiting = self._waiting, {}
        for waiter in waiting.values():
            if not waiter.done():
                waiter.set_exception(self.ended)
        return self.ended


async def declared_region(call: grpc.aio.StreamStreamCall) -> str | None:
    """The region a stream's initial metadata declares, or None when it declares none.

    Raises:
        grpc.aio.AioRpcError: the stream ended before it began (the accelerator is unreachable).
    """
    metadata = await call.initial_metadata()
    for key, value in metadata or ():
        if key == REGION_METADATA:
            return value if isinstance(value, str) else bytes(value).decode(errors="replace")
    if call.done() and (code := await call.code()) != grpc.StatusCode.OK:
        raise grpc.aio.AioRpcError(code, metadata, metadata, await call.details())
    return None


def _error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)
