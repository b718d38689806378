"""The Prometheus endpoint listens on the address it is given and nowhere else. Run in a process
of its own: a meter provider is installed once per process."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.request

import pytest

from edgectl.broker import free_port

SERVE = """
import sys
from edge.settings import EdgeSettings
from edge.telemetry import configure_metrics
configure_metrics(EdgeSettings(region="kr-seoul", site_id="S1"), "test", int(sys.argv[1]), host=sys.argv[2])
print("listening", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize(("host", "elsewhere"), [("127.0.0.1", "127.0.0.2"), ("127.0.0.2", "127.0.0.1")])
def test_the_metrics_endpoint_listens_only_on_its_address(host: str, elsewhere: str) -> None:
    port = free_port(host)
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port), host], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "listening\n"
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as reply:
            assert reply.status == 200
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((elsewhere, port), timeout=5).close()
    finally:
        process.communicate(timeout=30)


UNSERVED = """
import sys
from opentelemetry import metrics
from prometheus_client import generate_latest
from edge.settings import EdgeSettings
from edge.telemetry import configure_metrics
configure_metrics(
    EdgeSettings(region="kr-seoul", site_id="S1"), "test", int(sys.argv[1]), host="127.0.0.1",
    serve_prometheus=False,
)
metrics.get_meter("test").create_counter("edge_test_unserved_events").add(1)
print("edge_test_unserved_events" in generate_latest().decode(), flush=True)
sys.stdin.read()
"""


def test_a_caller_that_serves_the_registry_itself_gets_the_metrics_and_no_server() -> None:
    """`serve_prometheus=False` (a pipeline's monitoring server serves the registry): OpenTelemetry
    metrics reach prometheus_client's default registry, and nothing listens on the port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", UNSERVED, str(port)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "True\n"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        process.communicate(timeout=30)
