"""The monitoring server answers Prometheus and the kubelet on one port, on the address it is
given and nowhere else, and stops cleanly however often it is told to."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from prometheus_client import REGISTRY, Counter

from edge.monitoring_server import MonitoringServer

HttpGet = Callable[[str, int, str], tuple[int, str]]


@pytest.fixture
def server() -> Iterator[MonitoringServer]:
    with MonitoringServer("127.0.0.1", 0, ready=lambda: True) as server:
        yield server


def _port(server: MonitoringServer) -> int:
    assert server.address is not None, "started"
    return server.address[1]


def test_livez_answers_live_while_the_server_runs(
    server: MonitoringServer, http_get: HttpGet
) -> None:
    assert http_get("127.0.0.1", _port(server), "/livez") == (200, "live\n")


def test_readyz_answers_what_the_ready_check_says_at_each_request(http_get: HttpGet) -> None:
    ready = threading.Event()
    with MonitoringServer("127.0.0.1", 0, ready=ready.is_set) as server:
        assert http_get("127.0.0.1", _port(server), "/readyz") == (503, "not ready\n")
        ready.set()
        assert http_get("127.0.0.1", _port(server), "/readyz") == (200, "ready\n")


def test_metrics_serves_the_default_prometheus_registry(
    server: MonitoringServer, http_get: HttpGet
) -> None:
    counter = Counter("edge_test_monitoring_scrapes", "Counted by the monitoring server test.")
    try:
        counter.inc()
        status, body = http_get("127.0.0.1", _port(server), "/metrics")
    finally:
        REGISTRY.unregister(counter)
    assert status == 200
    assert "edge_test_monitoring_scrapes_total 1.0" in body
    assert "python_info" in body, "the default collectors too"


@pytest.mark.parametrize("path", ["/", "/health", "/metrics/extra", "/favicon.ico"])
def test_any_other_path_is_404_with_a_hint(
    server: MonitoringServer, http_get: HttpGet, path: str
) -> None:
    assert http_get("127.0.0.1", _port(server), path) == (404, "try /metrics, /livez or /readyz\n")


@pytest.mark.parametrize(
    ("host", "elsewhere"), [("127.0.0.1", "127.0.0.2"), ("127.0.0.2", "127.0.0.1")]
)
def test_the_server_listens_only_on_its_host(host: str, elsewhere: str, http_get: HttpGet) -> None:
    with MonitoringServer(host, 0, ready=lambda: True) as server:
        port = _port(server)
        assert server.address == (host, port)
        assert http_get(host, port, "/livez") == (200, "live\n")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((elsewhere, port), timeout=5).close()


def test_an_ipv6_host_is_listened_on_over_ipv6(http_get: HttpGet) -> None:
    try:
        socket.socket(socket.AF_INET6).close()
        server = MonitoringServer("::1", 0, ready=lambda: True)
        server.start()
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    with server:
        assert http_get("::1", _port(server), "/livez") == (200, "live\n")


def test_stop_closes_the_port_joins_the_thread_and_is_safe_twice() -> None:
    server = MonitoringServer("127.0.0.1", 0, ready=lambda: True)
    server.start()
    port = _port(server)
    server.stop()
    server.stop()
    assert server.address is None
    assert not [t for t in threading.enumerate() if t.name == "monitoring-server"]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
