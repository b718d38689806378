"""Shared fixtures: the real embedded broker and a real accelerator server process on loopback."""

from __future__ import annotations

import asyncio
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
from edgectl.apache_kafka import KafkaCluster
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


BROKERS = ("tansu", "kafka")
"""Every test that takes `broker` runs against both: Tansu (the demo's embedded broker) and
Apache Kafka (the production target). `@pytest.mark.kafka_only` keeps a test to Kafka,
`@pytest.mark.tansu_only` to Tansu (what only a broker without a feature can show)."""


class Broker(str):
    """A broker's bootstrap address (the `str`), and which broker it is."""

    kind: str

    @classmethod
    def of(cls, address: str, kind: str) -> Broker:
        broker = cls(address)
        broker.kind = kind
        return broker

    @property
    def idempotent(self) -> bool:
        """Whether producers run idempotent, as in production: on Apache Kafka. Tansu cannot
        give a producer id (InitProducerId), so against it the demo and the tests turn it off."""
        return self.kind == "kafka"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "broker" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker
        kinds = ["kafka"] if marker("kafka_only") else ["tansu"] if marker("tansu_only") else list(BROKERS)
        metafunc.parametrize("broker", kinds, indirect=True)


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """One Apache Kafka node (KRaft) for the whole session; each test's topics are deleted after it."""
    with KafkaCluster(tmp_path_factory.mktemp("kafka")) as cluster:
        yield cluster


@pytest.fixture
def broker(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A broker on loopback, `host:port` as a `Broker`: a fresh Tansu (in-memory, starts in
    milliseconds), or the session's Apache Kafka, emptied of the test's topics afterwards."""
    if request.param == "kafka":
        cluster: KafkaCluster = request.getfixturevalue("kafka_cluster")
        try:
            yield Broker.of(cluster.bootstrap_servers, "kafka")
        finally:
            delete_topics(cluster.bootstrap_servers)
        return
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = open(tmp_path_factory.mktemp("broker") / "tansu.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    log.close()
    try:
        _wait_for_port(port, process, "tansu")
        yield Broker.of(f"127.0.0.1:{port}", "tansu")
    finally:
        _stop(process)


def delete_topics(bootstrap_servers: str, timeout_s: float = 60) -> None:
    """Delete every topic but Kafka's own and wait until they are gone (their committed offsets
    go with them), so that the next test starts from an empty broker."""
    from aiokafka.admin import AIOKafkaAdminClient

    async def delete() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        await admin.start()
        try:
            topics = [t for t in await admin.list_topics() if not t.startswith("__")]
            if topics:
                await admin.delete_topics(topics, timeout_ms=int(timeout_s * 1000))
            until = time.monotonic() + timeout_s
            while topics and time.monotonic() < until:
                topics = [t for t in await admin.list_topics() if not t.startswith("__")]
                await asyncio.sleep(0.1)
            assert not topics, f"topics {topics} still there {timeout_s} s after their deletion"
        finally:
            await admin.close()

    asyncio.run(delete())


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
def edge_settings(broker: Broker, accel_port: int) -> EdgeSettings:
    """Site settings pointing at the test's broker and the session's accelerator."""
    return EdgeSettings(
        region=REGION,
        site_id=SITE_ID,
        kafka_bootstrap_servers=broker,
        kafka_enable_idempotence=broker.idempotent,
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
