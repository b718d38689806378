"""Accelerator servers: gRPC probes, NPU placement, the headless Service pipelines balance over."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Chart, Manifest

NPU_RESOURCE = "rebellions.ai/ATOM"


def _accel_pod(chart: Chart, scenario: str) -> Manifest:
    deployment = chart.render(scenario).named("Deployment", chart.accel_name)
    pod: Manifest = deployment["spec"]["template"]["spec"]
    return pod


def test_the_accel_container_has_grpc_readiness_and_liveness_probes(
    chart: Chart, scenario: str
) -> None:
    (container,) = _accel_pod(chart, scenario)["containers"]
    values = chart.values(scenario)
    health_port = (
        values["accel"]["healthPort"] if values["accelTls"]["enabled"] else values["accel"]["port"]
    )
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"] == {"port": health_port}, probe
        assert container[probe]["periodSeconds"] > 0


def test_with_mutual_tls_the_probes_use_the_plaintext_health_port(chart: Chart) -> None:
    manifests = chart.render("tls-autoscaling")
    (container,) = manifests.named("Deployment", chart.accel_name)["spec"]["template"]["spec"][
        "containers"
    ]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert container["readinessProbe"]["grpc"]["port"] == ports["health"] != ports["grpc"]
    assert manifests.config()["ACCEL_HEALTH_PORT"] == str(ports["health"])
    assert manifests.config()["ACCEL_HEALTH_HOST"] == "0.0.0.0", "the kubelet probes the pod's IP"


def test_the_accel_container_runs_the_accel_server_on_all_interfaces(
    chart: Chart, scenario: str
) -> None:
    (container,) = _accel_pod(chart, scenario)["containers"]
    config = chart.render(scenario).config()
    assert container["args"] == ["accel", "serve"]
    assert config["ACCEL_HOST"] == config["ACCEL_METRICS_HOST"] == "0.0.0.0"
    assert {p["name"]: p["containerPort"] for p in container["ports"]}["grpc"] == int(
        config["ACCEL_PORT"]
    )


def test_the_cpu_site_requests_no_npu_anywhere(chart: Chart) -> None:
    for workload, container in chart.render("cpu-small").containers():
        resources = container.get("resources", {})
        names = {*resources.get("requests", {}), *resources.get("limits", {})}
        assert not any(name.startswith("rebellions.ai/") for name in names), workload


def test_the_npu_site_requests_the_npu_for_the_accel_server_only(chart: Chart) -> None:
    manifests = chart.render("npu-all-pipelines")
    for workload, container in manifests.containers():
        resources = container["resources"]
        if workload == chart.accel_name:
            assert resources["requests"][NPU_RESOURCE] == 1
            assert resources["limits"][NPU_RESOURCE] == 1
        else:
            assert NPU_RESOURCE not in {
                *resources.get("requests", {}),
                *resources.get("limits", {}),
            }


def test_the_npu_site_places_servers_on_labelled_npu_nodes_one_per_node(chart: Chart) -> None:
    pod = _accel_pod(chart, "npu-all-pipelines")
    assert pod["nodeSelector"] == {"rebellions.ai/npu.present": "true"}
    assert pod["tolerations"] == [
        {"key": "rebellions.ai/npu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    (term,) = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"


def test_the_model_repository_is_mounted_read_only_where_the_server_looks(chart: Chart) -> None:
    manifests = chart.render("npu-all-pipelines")
    pod = manifests.named("Deployment", chart.accel_name)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "models"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "models"]
    assert mount["readOnly"] is True
    assert manifests.config()["ACCEL_MODEL_REPOSITORY"] == mount["mountPath"] == "/models"
    assert volume["persistentVolumeClaim"] == {
        "claimName": "sovereign-edge-models",
        "readOnly": True,
    }


def test_builtin_models_need_no_volume_and_no_repository_setting(chart: Chart) -> None:
    manifests = chart.render("cpu-small")
    pod = manifests.named("Deployment", chart.accel_name)["spec"]["template"]["spec"]
    assert [v["name"] for v in pod["volumes"]] == ["tmp"]
    assert "ACCEL_MODEL_REPOSITORY" not in manifests.config()


def test_a_headless_service_selects_exactly_the_accel_pods(chart: Chart, scenario: str) -> None:
    manifests = chart.render(scenario)
    service = manifests.named("Service", chart.accel_name)
    pod_labels = manifests.named("Deployment", chart.accel_name)["spec"]["template"]["metadata"][
        "labels"
    ]
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["publishNotReadyAddresses"] is False
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "accel"
    grpc = [p for p in service["spec"]["ports"] if p["name"] == "grpc"]
    assert grpc == [
        {
            "name": "grpc",
            "port": 8001,
            "targetPort": "grpc",
            "protocol": "TCP",
            "appProtocol": "grpc",
        }
    ]


def test_pipelines_are_pointed_at_the_headless_service_by_dns(chart: Chart, scenario: str) -> None:
    config = chart.render(scenario).config()
    expected = f"dns:///{chart.accel_name}.{chart.namespace}.svc.cluster.local:8001"
    assert config["EDGE_ACCEL_TARGETS"] == expected


def test_mutual_tls_mounts_the_server_and_client_key_pairs_from_their_secrets(chart: Chart) -> None:
    manifests = chart.render("tls-autoscaling")
    for workload, template in manifests.pod_templates():
        spec = template["spec"]
        (volume,) = [v for v in spec["volumes"] if v["name"] == "accel-tls"]
        env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
        if workload == chart.accel_name:
            assert volume["secret"]["secretName"] == "accel-server-tls"
            assert env["ACCEL_TLS_CERT_FILE"] == "/etc/sovereign-edge/accel-tls/tls.crt"
            assert env["ACCEL_TLS_KEY_FILE"] == "/etc/sovereign-edge/accel-tls/tls.key"
            assert env["ACCEL_TLS_CLIENT_CA_FILE"] == "/etc/sovereign-edge/accel-tls/ca.crt"
        else:
            assert volume["secret"]["secretName"] == "pipeline-client-tls"
            assert env["EDGE_ACCEL_TLS_CA_FILE"] == "/etc/sovereign-edge/accel-tls/ca.crt"
            assert env["EDGE_ACCEL_TLS_CERT_FILE"] == "/etc/sovereign-edge/accel-tls/tls.crt"
            assert env["EDGE_ACCEL_TLS_KEY_FILE"] == "/etc/sovereign-edge/accel-tls/tls.key"


def test_without_mutual_tls_no_tls_setting_or_secret_is_mounted(chart: Chart) -> None:
    for workload, container in chart.render("cpu-small").containers():
        names = {e["name"] for e in container.get("env", [])}
        assert not {n for n in names if "TLS" in n or "SSL" in n}, workload
        assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"], workload


def test_the_accel_pod_disruption_budget_covers_the_accel_pods(chart: Chart, scenario: str) -> None:
    manifests = chart.render(scenario)
    budget = manifests.named("PodDisruptionBudget", chart.accel_name)
    pod_labels = manifests.named("Deployment", chart.accel_name)["spec"]["template"]["metadata"][
        "labels"
    ]
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert budget["spec"]["maxUnavailable"] == 1


def test_every_setting_the_chart_writes_is_one_the_application_reads(chart: Chart, scenario: str) -> None:
    """A misspelt variable in the ConfigMap would be ignored silently by pydantic-settings."""
    from accel.settings import AccelSettings
    from edge.settings import EdgeSettings
    from pipelines.energy_saving.settings import EnergySavingSettings
    from pipelines.settings import PipelineSettings

    known = {
        f"{cls.model_config.get('env_prefix', '')}{name}".upper()
        for cls in (AccelSettings, EdgeSettings, PipelineSettings, EnergySavingSettings)
        for name in cls.model_fields
    }
    unknown = sorted(set(chart.render(scenario).config()) - known)
    assert unknown == []


def test_repository_watching_is_off_unless_asked_for(chart: Chart) -> None:
    assert chart.render("cpu-small").config()["ACCEL_MODEL_POLL_S"] == "0"
    watched = chart.render_with("--values", str(chart.values_file("cpu-small")), "--set", "accel.modelPollS=30")
    assert watched.config()["ACCEL_MODEL_POLL_S"] == "30"
