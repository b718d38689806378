"""Lag-based autoscaling: a KEDA ScaledObject per pipeline that asks for it, on its consumer
group's lag (the group and input topic the pipeline uses, the site's bootstrap servers, its Kafka
credentials through a TriggerAuthentication), replicas capped at the partitions unless idle
consumers are allowed; never together with the CPU autoscaler. Checked against the fields the
KEDA documentation requires of a ScaledObject, a kafka trigger and a TriggerAuthentication."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Chart, Manifest

KAFKA_TRIGGER_REQUIRED = {"bootstrapServers", "consumerGroup"}
KAFKA_AUTH_PARAMETERS = {"username", "password", "ca", "cert", "key"}


def _scaled(chart: Chart, scenario: str = "lag-scaling") -> dict[str, Manifest]:
    """The pipelines' ScaledObjects by the Deployment each scales."""
    return {
        o["spec"]["scaleTargetRef"]["name"]: o for o in chart.render(scenario).of_kind("ScaledObject")
        if o["metadata"]["labels"]["app.kubernetes.io/component"] == "pipeline"
    }


def _trigger(scaled: Manifest) -> dict[str, Any]:
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    metadata: dict[str, Any] = trigger["metadata"]
    assert KAFKA_TRIGGER_REQUIRED <= set(metadata)
    assert all(isinstance(v, str) for v in metadata.values()), "KEDA trigger metadata values are strings"
    return trigger


def test_no_scaled_object_is_rendered_by_default(chart: Chart) -> None:
    for scenario in ("cpu-small", "npu-all-pipelines"):
        manifests = chart.render(scenario)
        assert not manifests.of_kind("ScaledObject") and not manifests.of_kind("TriggerAuthentication")


def test_each_pipeline_that_asks_scales_its_deployment_on_its_own_groups_lag(chart: Chart) -> None:
    scaled = _scaled(chart)
    names = {p: chart.pipeline_name(p) for p in ("kpi-anomaly", "energy-saving", "fiber-sensing")}
    assert set(scaled) == set(names.values()), "cs-insights keeps its CPU autoscaler"
    deployments = {d["metadata"]["name"]: d for d in chart.render("lag-scaling").of_kind("Deployment")}
    config = chart.render("lag-scaling").config()
    for pipeline, name in names.items():
        spec = scaled[name]["spec"]
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert name in deployments and "replicas" not in deployments[name]["spec"], "KEDA owns the replica count"
        assert spec["minReplicaCount"] <= spec["maxReplicaCount"]
        metadata = _trigger(scaled[name])["metadata"]
        assert metadata["bootstrapServers"] == config["EDGE_KAFKA_BOOTSTRAP_SERVERS"]
        assert (metadata["sasl"], metadata["tls"]) == ("scram_sha256", "enable")
        assert metadata["offsetResetPolicy"] == "earliest", "as the pipelines' consumers start"
    kpi = _trigger(scaled[names["kpi-anomaly"]])["metadata"]
    assert kpi["consumerGroup"] == "kr-seoul.kpi-anomaly" and kpi["lagThreshold"] == "8000"
    assert "topic" not in kpi, "it reads VES too: the lag of every topic of its group"
    energy = _trigger(scaled[names["energy-saving"]])["metadata"]
    assert (energy["consumerGroup"], energy["topic"]) == ("kr-seoul.energy-saving-v2", "kr-seoul.ran.kpi")
    fiber = _trigger(scaled[names["fiber-sensing"]])["metadata"]
    assert (fiber["topic"], fiber["allowIdleConsumers"]) == ("kr-seoul.fiber.das", "true")
    assert energy["allowIdleConsumers"] == "false", "replicas capped at the input topic's partitions by default"


def test_keda_reads_the_lag_with_the_pipelines_own_kafka_credentials(chart: Chart) -> None:
    (auth,) = chart.render("lag-scaling").of_kind("TriggerAuthentication")
    refs = {r["parameter"]: (r["name"], r["key"]) for r in auth["spec"]["secretTargetRef"]}
    assert set(refs) <= KAFKA_AUTH_PARAMETERS
    assert refs == {"username": ("kafka-credentials", "username"), "password": ("kafka-credentials", "password"),
                    "ca": ("kafka-ca", "ca.crt")}
    for scaled in _scaled(chart).values():
        assert _trigger(scaled)["authenticationRef"] == {"name": auth["metadata"]["name"]}


def test_plaintext_kafka_needs_no_trigger_authentication(chart: Chart) -> None:
    manifests = chart.render_with(
        "--values", str(chart.values_file("cpu-small")), "--set", "pipelines.kpi-anomaly.lagScaling.enabled=true"
    )
    (scaled,) = manifests.of_kind("ScaledObject")
    trigger = _trigger(scaled)
    assert "authenticationRef" not in trigger and not {"sasl", "tls"} & set(trigger["metadata"])
    assert not manifests.of_kind("TriggerAuthentication")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["pipelines.kpi-anomaly.autoscaling.enabled=true"], "/pipelines/kpi-anomaly/lagScaling/enabled"),
        (["pipelines.kpi-anomaly.lagScaling.minReplicas=5", "pipelines.kpi-anomaly.lagScaling.maxReplicas=2"],
         "pipelines.kpi-anomaly.lagScaling.minReplicas must not exceed maxReplicas"),
        (["pipelines.kpi-anomaly.lagScaling.lagThreshold=0"], "/pipelines/kpi-anomaly/lagScaling/lagThreshold"),
    ],
)
def test_the_chart_refuses_both_autoscalers_and_bounds_that_make_no_sense(
    chart: Chart, overrides: list[str], message: str
) -> None:
    args = [arg for override in overrides for arg in ("--set", override)]
    result = chart.template("--values", str(chart.values_file("lag-scaling")), *args)
    assert result.returncode != 0 and message in result.stderr, result.stderr


def test_the_accelerator_scales_on_its_own_queued_requests_through_keda_and_prometheus(chart: Chart) -> None:
    manifests = chart.render("lag-scaling")
    (scaled,) = [o for o in manifests.of_kind("ScaledObject") if o["spec"]["scaleTargetRef"]["name"] == chart.accel_name]
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (1, 3)
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "prometheus"
    metadata = trigger["metadata"]
    assert {"serverAddress", "query", "threshold"} <= set(metadata), "what KEDA's prometheus scaler requires"
    assert metadata["serverAddress"] == "http://prometheus-operated.monitoring.svc:9090"
    assert metadata["query"] == f'sum(edge_accel_pending_requests{{namespace="{chart.namespace}"}})'
    assert metadata["threshold"] == "8"
    (deployment,) = [d for d in manifests.of_kind("Deployment") if d["metadata"]["name"] == chart.accel_name]
    assert "replicas" not in deployment["spec"], "KEDA owns the server count"
    assert not [o for o in chart.render("cpu-small").of_kind("ScaledObject")], "off by default"


def test_queue_scaling_without_a_prometheus_to_ask_is_refused(chart: Chart) -> None:
    result = chart.template("--values", str(chart.values_file("cpu-small")), "--set", "accel.queueScaling.enabled=true")
    assert result.returncode != 0 and "/accel/queueScaling/prometheusUrl" in result.stderr
