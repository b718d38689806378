"""Liveness and readiness over plain HTTP for Kubernetes probes: `/livez` answers while the
process runs, `/readyz` once the replica holds partitions and is not stopping."""

from __future__ import annotations

import asyncio
from typing import Protocol


class _Runtime(Protocol):
    @property
    def stopping(self) -> bool: ...

    assigned: asyncio.Event


class HealthServer:
    """A tiny HTTP/1.0 responder on `host`:`port` (port 0: disabled), e.g. `0.0.0.0` in a pod so
    that the kubelet reaches it, `127.0.0.1` on a workstation (`PIPELINE_HEALTH_HOST`)."""

    def __init__(self, runtime: _Runtime, port: int, host: str) -> None:
        self._runtime = runtime
        self._port = port
        self._host = host
        self._server: asyncio.Server | None = None

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The (address, port) of each socket listening now (none when off or stopped)."""
        if self._server is None:
            return []
        return [sock.getsockname()[:2] for sock in self._server.sockets]

    async def start(self) -> None:
        if self._port:
            self._server = await asyncio.start_server(self._answer, self._host, self._port)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def __aenter__(self) -> HealthServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5)
            parts = line.decode("latin-1").split()
            path = parts[1] if len(parts) > 1 else ""
            if path == "/livez":
                status, body = "200 OK", "live\n"
            elif path == "/readyz":
                ready = self._runtime.assigned.is_set() and not self._runtime.stopping
                status, body = ("200 OK", "ready\n") if ready else ("503 Service Unavailable", "not ready\n")
            else:
                status, body = "404 Not Found", "try /livez or /readyz\n"
            writer.write(
                f"HTTP/1.0 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
