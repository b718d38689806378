"""Transport security of the accelerator: TLS or mutual TLS from certificate files, and an
optional bearer token on the inference service (health checks stay open for the kubelet)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc

from accel.errors import TlsConfigError
from accel.settings import AccelSettings

__all__ = ["BearerTokenCheck", "TlsConfigError", "server_credentials"]

_PROTECTED_PREFIX = "/inference.GRPCInferenceService/"


def _read(path: Path | None, setting: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TlsConfigError(f"{setting}={path}: {exc.strerror}") from exc


def server_credentials(settings: AccelSettings) -> grpc.ServerCredentials | None:
    """TLS credentials when a certificate is configured; client certificates are required
    (mutual TLS) when a client CA is configured too. None means plaintext."""
    cert = _read(settings.tls_cert_file, "ACCEL_TLS_CERT_FILE")
    key = _read(settings.tls_key_file, "ACCEL_TLS_KEY_FILE")
    client_ca = _read(settings.tls_client_ca_file, "ACCEL_TLS_CLIENT_CA_FILE")
    if cert is None and key is None:
        if client_ca is not None:
            raise TlsConfigError("ACCEL_TLS_CLIENT_CA_FILE needs ACCEL_TLS_CERT_FILE and ACCEL_TLS_KEY_FILE")
        return None
    if cert is None or key is None:
        raise TlsConfigError("TLS needs both ACCEL_TLS_CERT_FILE and ACCEL_TLS_KEY_FILE")
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def _refuse(message: str) -> grpc.RpcMethodHandler:
    async def unary(request: object, context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    return grpc.unary_unary_rpc_method_handler(unary)


def _refuse_stream(message: str) -> grpc.RpcMethodHandler:
    async def stream(request_iterator: object, context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    return grpc.stream_stream_rpc_method_handler(stream)


class BearerTokenCheck(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses inference calls whose `authorization` metadata is not `Bearer <token>`."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        if not details.method.startswith(_PROTECTED_PREFIX):
            return await continuation(details)
        sent = dict(details.invocation_metadata or ()).get("authorization", "")
        sent_bytes = sent.encode() if isinstance(sent, str) else sent
        if hmac.compare_digest(sent_bytes, self._expected):
            return await continuation(details)
        message = "missing or wrong bearer token (metadata 'authorization: Bearer <token>')"
        return _refuse_stream(message) if details.method.endswith("StreamInfer") else _refuse(message)
