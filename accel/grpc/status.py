"""The one place where errors become gRPC statuses: accelerator and protocol codec errors by their `status`, anything
unexpected as INTERNAL (logged, never quoted to the client), in unary calls and in the in-band
errors of a stream."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc

from accel.errors import AccelError
from inference_protocol.errors import ProtocolError

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Self = TypeVar("Self")

log = logging.getLogger(__name__)

DETAILS_MAX_BYTES = 1024
"""Longest error message sent, in UTF-8 bytes. Status details travel in a trailer that clients
cap (8 KiB by default in gRPC) and percent-encode (up to 3 characters a byte): a longer message
would cost the client the status itself."""
INTERNAL_DETAILS = "internal error; the server logged it"


def status_code(error: AccelError | ProtocolError) -> grpc.StatusCode:
    """The gRPC status for an accelerator or protocol codec error (its class attribute `status`)."""
    return grpc.StatusCode[error.status]


def error_details(error: BaseException) -> str:
    """The message of an error, cut to DETAILS_MAX_BYTES (on a character boundary)."""
    text = str(error)
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= DETAILS_MAX_BYTES:
        return text
    return encoded[: DETAILS_MAX_BYTES - 3].decode("utf-8", "ignore") + "..."


def classify(error: Exception, where: str) -> tuple[grpc.StatusCode, str]:
    """The status and message a failed call is answered with; an unexpected error is logged with
    its traceback and answered INTERNAL without its text."""
    if isinstance(error, AccelError | ProtocolError):
        return status_code(error), error_details(error)
    log.error("%s failed unexpectedly", where, exc_info=error)
    return grpc.StatusCode.INTERNAL, INTERNAL_DETAILS


def translate_errors(
    method: Callable[[Self, Req, grpc.aio.ServicerContext], Awaitable[Resp]],
) -> Callable[[Self, Req, grpc.aio.ServicerContext], Awaitable[Resp]]:
    """Answer an error raised by a unary servicer method with its status and message."""

    @functools.wraps(method)
    async def wrapper(self: Self, request: Req, context: grpc.aio.ServicerContext) -> Resp:
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise  # the method answered the call itself
        except Exception as exc:  # noqa: BLE001 (classify logs what it does not know)
            code, details = classify(exc, method.__name__)
        # The exception abort() raises keeps this frame alive after the call (gRPC holds on to
        # it): without this, the last refused request (up to ACCEL_MAX_MESSAGE_BYTES) would stay
        # in memory with it.
        del request
        await context.abort(code, details)
        raise AssertionError("context.abort() returned")  # it raises; this satisfies the type checker

    return wrapper
