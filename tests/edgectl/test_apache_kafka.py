"""The Apache Kafka launcher refuses what cannot work with a message that says what to do: jars
not fetched, a main class not in them, a cluster size the tests do not run. (Starting, killing and
restarting real nodes is what every Kafka test and tests/integration/test_broker_failure.py do.)"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from edgectl.apache_kafka import STORAGE_TOOL_MAINS, KafkaCluster, kafka_lib_dir, main_class_in
from edgectl.broker import BrokerUnavailable


def _jar(path: Path, *classes: str) -> Path:
    with zipfile.ZipFile(path, "w") as jar:
        for name in classes:
            jar.writestr(name.replace(".", "/") + ".class", b"\xca\xfe\xba\xbe")
    return path


def test_jars_not_fetched_name_the_script_that_fetches_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_KAFKA_LIB", str(tmp_path))
    with pytest.raises(BrokerUnavailable, match="run scripts/kafka-tools.sh"):
        kafka_lib_dir()


def test_the_storage_tool_is_found_wherever_a_release_keeps_it(tmp_path: Path) -> None:
    _jar(tmp_path / "kafka_2.13-9.9.9.jar", "kafka.Kafka", STORAGE_TOOL_MAINS[-1])
    assert main_class_in(tmp_path, STORAGE_TOOL_MAINS) == STORAGE_TOOL_MAINS[-1]
    _jar(tmp_path / "kafka-tools-9.9.9.jar", STORAGE_TOOL_MAINS[0])
    assert main_class_in(tmp_path, STORAGE_TOOL_MAINS) == STORAGE_TOOL_MAINS[0], "the newest place first"


def test_a_main_class_in_no_jar_is_refused_by_name(tmp_path: Path) -> None:
    _jar(tmp_path / "other.jar", "org.example.Main")
    with pytest.raises(BrokerUnavailable, match="kafka.Kafka"):
        main_class_in(tmp_path, ("kafka.Kafka",))


@pytest.mark.parametrize(("nodes", "heap_mb"), [(2, 384), (0, 384), (1, 64), (3, 4096)])
def test_only_one_or_three_nodes_with_a_bounded_heap(tmp_path: Path, nodes: int, heap_mb: int) -> None:
    with pytest.raises(ValueError, match="nodes|heap_mb"):
        KafkaCluster(tmp_path, nodes=nodes, heap_mb=heap_mb)


def test_three_nodes_form_one_quorum_with_two_replicas_in_sync(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path, nodes=3)
    properties = dict(
        line.split("=", 1) for line in cluster._properties(cluster.node(2)).splitlines()
    )
    assert properties["node.id"] == "2" and properties["process.roles"] == "broker,controller"
    assert properties["controller.quorum.voters"].count("@127.0.0.1:") == 3
    assert (properties["default.replication.factor"], properties["min.insync.replicas"]) == ("3", "2")
    assert properties["listeners"].startswith("PLAINTEXT://127.0.0.1:")


def test_a_cluster_id_that_starts_with_a_dash_is_formatted_and_served(tmp_path: Path) -> None:
    """One random id in 64 starts with "-", which the storage tool once took for an option."""
    cluster = KafkaCluster(tmp_path)
    cluster.cluster_id = "-" + cluster.cluster_id[1:]
    cluster.start()
    try:
        found = "\n".join(p.read_text() for p in tmp_path.rglob("meta.properties"))
        assert f"cluster.id={cluster.cluster_id}" in found
    finally:
        cluster.stop()


def test_each_jvm_runs_in_a_bounded_heap_with_the_serial_collector_and_the_client_compiler(tmp_path: Path) -> None:
    """A test broker lives for minutes on two cores: C2 compilation took a sixth of a core through
    the whole of the pipeline bench's latency phase."""
    cluster = KafkaCluster(tmp_path, heap_mb=256)
    cluster._lib = tmp_path
    command = cluster._java(cluster.node(1), "kafka.Kafka", "server.properties")
    assert command[0] == "java" and command[-2:] == ["kafka.Kafka", "server.properties"]
    assert {"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"} <= set(command)
