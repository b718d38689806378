"""Tells the memory trimmer how large each inference request was on the wire, from the bytes gRPC
hands to the request's deserializer: no copy, and requests refused before their contents are read
(an unknown model, a missing token) count too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc

_INFERENCE_PREFIX = "/inference.GRPCInferenceService/"


class RequestSizeObserver(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Calls `observe(len(message))` for every request message of the inference service."""

    def __init__(self, observe: Callable[[int], None]) -> None:
        self._observe = observe

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or not details.method.startswith(_INFERENCE_PREFIX):
            return handler
        deserialize: Callable[[bytes], object] | None = handler.request_deserializer
        observe = self._observe

        def observed(message: bytes) -> object:
            observe(len(message))
            return message if deserialize is None else deserialize(message)

        # Method handlers are named tuples: the same handler, its deserializer wrapped.
        return handler._replace(request_deserializer=observed)
