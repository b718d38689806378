"""One HTTP port per process for what watches it: Prometheus scrapes `/metrics`, the kubelet
probes `/livez` and `/readyz`. Built on prometheus_client's WSGI app and the standard library's
WSGI server, so no HTTP is parsed here."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Self
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from prometheus_client import REGISTRY, make_wsgi_app

_NOT_FOUND_HINT = "try /metrics, /livez or /readyz\n"
_TEXT = "text/plain; charset=utf-8"


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """One thread per request, so a slow scrape never holds up a probe."""

    daemon_threads = True


class _IPv6WSGIServer(_ThreadingWSGIServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    """Logs no line per request: the kubelet probes every few seconds."""

    def log_message(self, format: str, *args: object) -> None:
        pass


class MonitoringServer:
    """`/metrics` (the default Prometheus registry), `/livez` (200 while the process runs) and
    `/readyz` (200 while `ready()` is true, else 503) on `host`:`port`, served from a daemon
    thread. `ready` runs on a request thread: it may read only what is safe across threads
    (an event's flag, a bool). Port 0 lets the system pick a free port; `address` tells which.
    Start and stop are plain calls, not coroutines: the server runs on its own thread, and
    `stop()` waits at most half a second (the server's poll interval) for it to finish.

    Example:
        with MonitoringServer("127.0.0.1", 9464, ready=lambda: True) as server:
            ...  # GET http://127.0.0.1:9464/readyz answers 200 "ready"
    """

    def __init__(self, host: str, port: int, ready: Callable[[], bool]) -> None:
        self._host = host
        self._port = port
        self._ready = ready
        self._metrics: WSGIApplication = make_wsgi_app(REGISTRY)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int] | None:
        """The (address, port) listened on now; None before start and after stop."""
        if self._server is None:
            return None
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Listen on `host`:`port` and serve from a daemon thread.

        Raises:
            OSError: the address cannot be bound (in use, or not an address of this machine).
        """
        if self._server is not None:
            return
        # The family of the host's address (`::` is IPv6), as prometheus_client's own server does.
        family = socket.getaddrinfo(
            self._host, self._port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0][0]
        server_class = _IPv6WSGIServer if family == socket.AF_INET6 else _ThreadingWSGIServer
        server = make_server(self._host, self._port, self._answer, server_class, _QuietHandler)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="monitoring-server", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, close the socket and join the thread; safe to call twice."""
        server, self._server = self._server, None
        thread, self._thread = self._thread, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return self._metrics(environ, start_response)
        if path == "/livez":
            status, body = "200 OK", "live\n"
        elif path == "/readyz" and self._ready():
            status, body = "200 OK", "ready\n"
        elif path == "/readyz":
            status, body = "503 Service Unavailable", "not ready\n"
        else:
            status, body = "404 Not Found", _NOT_FOUND_HINT
        start_response(status, [("Content-Type", _TEXT), ("Content-Length", str(len(body)))])
        return [body.encode()]
