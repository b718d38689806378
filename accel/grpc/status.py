"""The one place where accelerator errors become gRPC status codes."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc

from accel.errors import AccelError

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Self = TypeVar("Self")


def status_code(error: AccelError) -> grpc.StatusCode:
    """The gRPC status for an accelerator error (its class attribute `status`)."""
    return grpc.StatusCode[error.status]


def translate_errors(
    method: Callable[[Self, Req, grpc.aio.ServicerContext], Awaitable[Resp]],
) -> Callable[[Self, Req, grpc.aio.ServicerContext], Awaitable[Resp]]:
    """Answer an AccelError raised by a unary servicer method with its status and message."""

    @functools.wraps(method)
    async def wrapper(self: Self, request: Req, context: grpc.aio.ServicerContext) -> Resp:
        try:
            return await method(self, request, context)
        except AccelError as exc:
            await context.abort(status_code(exc), str(exc))
            raise  # abort() raises; this line only satisfies the type checker

    return wrapper
