"""Apache Kafka in KRaft mode on loopback, for the tests and `edge bench pipeline --broker kafka`:
one node that is both broker and controller, or three (a controller quorum of three, topics
replicated three times, `min.insync.replicas=2`), each a JVM with a bounded heap logging to a file.

The jars come from Maven Central through `scripts/kafka-tools.sh` (into `.tools/kafka/lib`);
nothing is downloaded here. The main classes are looked up in those jars, not assumed."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from edgectl.broker import BrokerUnavailable, free_port

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LIB_DIR = REPO_ROOT / ".tools" / "kafka" / "lib"
BROKER_MAIN = "kafka.Kafka"
STORAGE_TOOL_MAINS = ("org.apache.kafka.tools.StorageTool", "kafka.tools.StorageTool")
"""Where Kafka releases have kept the storage formatter (`kafka-storage.sh`), newest first."""
_LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log_file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
"""


def kafka_lib_dir() -> Path:
    """Where the broker's jars are: `$EDGE_KAFKA_LIB`, else `.tools/kafka/lib` of this checkout.

    Raises:
        BrokerUnavailable: the jars are not there (with the command that fetches them).
    """
    lib = Path(os.environ.get("EDGE_KAFKA_LIB", DEFAULT_LIB_DIR))
    if not any(lib.glob("kafka_2.13-*.jar")):
        raise BrokerUnavailable(f"Apache Kafka's jars are not in {lib}: run scripts/kafka-tools.sh (Maven fetches them)")
    if shutil.which("java") is None:
        raise BrokerUnavailable("Apache Kafka needs a Java 17+ runtime on PATH")
    return lib


def main_class_in(lib: Path, candidates: tuple[str, ...]) -> str:
    """The first of `candidates` that one of the jars in `lib` holds.

    Raises:
        BrokerUnavailable: none of them is there.
    """
    wanted = {c.replace(".", "/") + ".class": c for c in candidates}
    found: set[str] = set()
    for jar in sorted(lib.glob("*.jar")):
        with zipfile.ZipFile(jar) as archive:
            found.update(name for name in archive.namelist() if name in wanted)
    for candidate in candidates:
        if candidate.replace(".", "/") + ".class" in found:
            return candidate
    raise BrokerUnavailable(f"none of {', '.join(candidates)} is in the jars of {lib}")


@dataclass(frozen=True)
class KafkaNode:
    """One KRaft node: broker and controller in one process."""

    node_id: int
    broker_port: int
    controller_port: int
    directory: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    @property
    def log_file(self) -> Path:
        return self.directory / "server.log"


class KafkaCluster:
    """`nodes` Apache Kafka nodes on loopback. Use `with KafkaCluster(workdir) as kafka:`.

    Example: `KafkaCluster(tmp, nodes=3)` gives a quorum of three, replication factor 3 and
    `min.insync.replicas=2`, so that one node can be killed (`kill(node_id)`) and started again
    (`restart(node_id)`) without losing an acknowledged record.
    """

    def __init__(
        self, workdir: Path, *, nodes: int = 1, heap_mb: int = 384, start_timeout_s: float = 90.0
    ) -> None:
        if nodes not in (1, 3):
            raise ValueError(f"a test cluster has 1 or 3 nodes, not {nodes}")
        if not 128 <= heap_mb <= 512:
            raise ValueError(f"heap_mb must be from 128 to 512, got {heap_mb}")
        self.workdir = workdir
        self.heap_mb = heap_mb
        self.start_timeout_s = start_timeout_s
        self.nodes = [
            KafkaNode(i + 1, free_port(), free_port(), workdir / f"node-{i + 1}") for i in range(nodes)
        ]
        # One in 64 starts with "-": the format tool is given it as `--cluster-id=ID`, never as a word of its own.
        self.cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self._processes: dict[int, subprocess.Popen[bytes]] = {}
        self._lib: Path | None = None

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.address for node in self.nodes)

    def node(self, node_id: int) -> KafkaNode:
        return self.nodes[node_id - 1]

    def _properties(self, node: KafkaNode) -> str:
        replicas = len(self.nodes)
        min_isr = 2 if replicas == 3 else 1
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        settings = {
            "process.roles": "broker,controller",
            "node.id": node.node_id,
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{node.broker_port},CONTROLLER://127.0.0.1:{node.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.broker_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": node.directory / "data",
            "default.replication.factor": replicas,
            "min.insync.replicas": min_isr,
            "offsets.topic.replication.factor": replicas,
            "offsets.topic.num.partitions": 4,
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": min_isr,
            "transaction.state.log.num.partitions": 4,
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": min_isr,
            "group.initial.rebalance.delay.ms": 0,
            # The reliability tests kill replicas and want their partitions back within seconds.
            "group.min.session.timeout.ms": 1000,
            "num.partitions": 1,
            "auto.create.topics.enable": "true",
            "delete.topic.enable": "true",
        }
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _java(self, node: KafkaNode, main: str, *args: str) -> list[str]:
        assert self._lib is not None
        return [
            # The serial collector: a heap this small on two cores gave the pipeline bench 10-20 %
            # more events/s and a steadier p99 than G1 (README "Benchmarks"). The client compiler
            # only: a broker that lives for minutes spent a sixth of a core in C2 compilation for
            # the whole of the bench's latency phase, 40 s after it started; without it the
            # broker took 27 % of a core there instead of 38 %, and three nodes start in 8 s
            # instead of 11.
            "java", f"-Xmx{self.heap_mb}m", f"-Xms{min(self.heap_mb, 128)}m", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={node.directory / 'log4j2.properties'}",
            "-cp", f"{self._lib}/*", main, *args,
        ]

    def start(self) -> None:
        """Format every node's storage, start them all and wait until each serves metadata.
        Blocking (the JVMs take seconds): from async code, `await asyncio.to_thread(cluster.start)`.

        Raises:
            BrokerUnavailable: the jars or Java are missing, or a node did not come up in time
                (the message names its log file).
        """
        self._lib = kafka_lib_dir()
        storage_tool = main_class_in(self._lib, STORAGE_TOOL_MAINS)
        main_class_in(self._lib, (BROKER_MAIN,))
        for node in self.nodes:
            node.directory.mkdir(parents=True, exist_ok=True)
            (node.directory / "server.properties").write_text(self._properties(node))
            (node.directory / "log4j2.properties").write_text(_LOG4J2.format(log_file=node.log_file))
            formatted = subprocess.run(
                self._java(node, storage_tool, "format", f"--cluster-id={self.cluster_id}", "-c",
                           str(node.directory / "server.properties"), "--ignore-formatted"),
                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False,
            )
            if formatted.returncode != 0:
                raise BrokerUnavailable(f"formatting Kafka node {node.node_id} failed: {formatted.stdout[-1000:]}{formatted.stderr[-1000:]}")
        try:
            for node in self.nodes:
                self._launch(node)
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def _launch(self, node: KafkaNode) -> None:
        with open(node.directory / "stdout.log", "ab") as out:
            self._processes[node.node_id] = subprocess.Popen(
                self._java(node, BROKER_MAIN, str(node.directory / "server.properties")),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout_s: float | None = None) -> None:
        """Wait until every running node listens and the cluster's metadata lists them all.

        Raises:
            BrokerUnavailable: a node exited, or not within `timeout_s` (default: the start timeout).
        """
        timeout_s = timeout_s or self.start_timeout_s
        until = time.monotonic() + timeout_s
        running = sorted(node_id for node_id, p in self._processes.items() if p.poll() is None)
        last_error = "no answer yet"
        while time.monotonic() < until:
            for node_id, process in self._processes.items():
                if node_id in running and process.poll() is not None:
                    raise BrokerUnavailable(
                        f"Kafka node {node_id} exited with code {process.returncode}; see {self.node(node_id).log_file}"
                    )
            listening = [i for i in running if _listens(self.node(i).broker_port)]
            if listening == running:
                try:
                    brokers = _broker_ids(",".join(self.node(i).address for i in running))
                except Exception as exc:  # noqa: BLE001 (any failure here means: not ready yet)
                    last_error = f"{type(exc).__name__}: {exc}"
                else:
                    if brokers >= set(running):
                        return
                    last_error = f"brokers {sorted(brokers)} of {running} in the metadata"
            else:
                last_error = f"nodes {sorted(set(running) - set(listening))} not listening yet"
            time.sleep(0.3)
        raise BrokerUnavailable(f"Kafka did not become ready within {timeout_s} s ({last_error}); see {self.nodes[0].log_file}")

    def kill(self, node_id: int) -> None:
        """SIGKILL one node, as a crash would (its data stays on disk)."""
        process = self._processes.get(node_id)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
        log.warning("kafka node %d killed", node_id)

    def restart(self, node_id: int) -> None:
        """Start a killed node again on its ports and data, and wait until it is back in the cluster."""
        self._launch(self.node(node_id))
        self.wait_ready()

    def stop(self) -> None:
        """Stop every node: SIGTERM (a controlled shutdown), SIGKILL after 20 s. Safe to call twice."""
        processes, self._processes = self._processes, {}
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _broker_ids(bootstrap_servers: str) -> set[int]:
    """The ids of the brokers the cluster's metadata lists (asked from a thread of its own, so
    that this works whether or not the caller's thread runs an event loop)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, _described_broker_ids(bootstrap_servers)).result()


async def _described_broker_ids(bootstrap_servers: str) -> set[int]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        return {int(broker["node_id"]) for broker in cluster["brokers"]}
    finally:
        await admin.close()
