"""Shared fixtures: the real embedded broker and a real accelerator server process on loopback."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge.settings import EdgeSettings
from edgectl.broker import free_port, tansu_binary

REGION = "kr-seoul"
SITE_ID = "SEL-GN-0042"


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout_s: float = 30.0) -> None:
    until = time.monotonic() + timeout_s
    while time.monotonic() < until:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout_s} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh Tansu broker (in-memory, starts in milliseconds) on a free loopback port; yields `host:port`."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = open(tmp_path_factory.mktemp("broker") / "tansu.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process, "tansu")
        yield f"127.0.0.1:{port}"
    finally:
        _stop(process)
        log.close()


def start_accel_process(tmp: Path, region: str = REGION, site_id: str = SITE_ID, **env: str) -> tuple[subprocess.Popen[bytes], int]:
    """`edge accel serve` in its own process, as on a site; returns the process and its port."""
    ready = tmp / f"accel-{time.monotonic_ns()}.port"
    port = int(env.pop("ACCEL_PORT", 0)) or free_port()
    environment = os.environ | {"EDGE_REGION": region, "EDGE_SITE_ID": site_id, "ACCEL_PORT": str(port)} | env
    log = open(tmp / f"accel-{port}.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "edgectl", "accel", "serve", "--ready-file", str(ready)],
        env=environment, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    log.close()
    until = time.monotonic() + 60
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > until:
            _stop(process)
            raise RuntimeError((tmp / f"accel-{port}.log").read_text())
        time.sleep(0.05)
    return process, port


@pytest.fixture(scope="session")
def accel_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real accelerator server process serving the shipped models, in region kr-seoul."""
    process, port = start_accel_process(tmp_path_factory.mktemp("accel"))
    try:
        yield port
    finally:
        _stop(process)


@pytest.fixture
def start_accel(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], int]]]:
    """Starts accelerator processes on demand (`start_accel(ACCEL_PORT="8001")`); stops them after."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> tuple[subprocess.Popen[bytes], int]:
        process, port = start_accel_process(tmp_path, **env)
        started.append(process)
        return process, port

    yield start
    for process in started:
        _stop(process)


@pytest.fixture
def edge_settings(broker: str, accel_port: int) -> EdgeSettings:
    """Site settings pointing at the session's broker and accelerator."""
    return EdgeSettings(
        region=REGION,
        site_id=SITE_ID,
        kafka_bootstrap_servers=broker,
        kafka_enable_idempotence=False,
        accel_targets=f"127.0.0.1:{accel_port}",
    )


def _http_get(host: str, port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", path)
        reply = connection.getresponse()
        return reply.status, reply.read().decode()
    finally:
        connection.close()


@pytest.fixture
def http_get() -> Callable[[str, int, str], tuple[int, str]]:
    """GET `path` from `host`:`port` over plain HTTP, without any proxy: (status, body)."""
    return _http_get
