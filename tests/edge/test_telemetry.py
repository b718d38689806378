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
