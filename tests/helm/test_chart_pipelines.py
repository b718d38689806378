"""One Deployment per enabled pipeline: replicas or an autoscaler, probes, Kafka settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Chart, Manifest

PIPELINES = ["cs-insights", "energy-saving", "fiber-sensing", "kpi-anomaly"]


def _pipeline_deployments(chart: Chart, scenario: str) -> dict[str, Manifest]:
    return {
        d["spec"]["template"]["metadata"]["labels"]["sovereign-edge.io/pipeline"]: d
        for d in chart.render(scenario).of_kind("Deployment")
        if d["metadata"]["name"] != chart.accel_name
    }


def test_each_enabled_pipeline_gets_exactly_one_deployment(chart: Chart, scenario: str) -> None:
    enabled = sorted(
        name for name, p in chart.values(scenario)["pipelines"].items() if p["enabled"]
    )
    deployments = _pipeline_deployments(chart, scenario)
    assert sorted(deployments) == enabled
    for name, deployment in deployments.items():
        assert deployment["metadata"]["name"] == chart.pipeline_name(name)


def test_the_cpu_site_runs_only_the_kpi_anomaly_pipeline(chart: Chart) -> None:
    assert sorted(_pipeline_deployments(chart, "cpu-small")) == ["kpi-anomaly"]


def test_the_npu_site_runs_all_four_pipelines_with_their_replica_counts(chart: Chart) -> None:
    deployments = _pipeline_deployments(chart, "npu-all-pipelines")
    assert sorted(deployments) == PIPELINES
    replicas = {name: d["spec"]["replicas"] for name, d in deployments.items()}
    assert replicas == {"kpi-anomaly": 3, "energy-saving": 1, "cs-insights": 2, "fiber-sensing": 2}


def test_each_pipeline_container_runs_its_own_pipeline(chart: Chart, scenario: str) -> None:
    for name, deployment in _pipeline_deployments(chart, scenario).items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["args"] == ["pipeline", "run", name]
        assert container["envFrom"] == [
            {"configMapRef": {"name": f"{chart.release}-sovereign-edge-config"}}
        ]


def test_pipelines_are_probed_over_http_livez_and_readyz_on_the_metrics_port(
    chart: Chart, scenario: str
) -> None:
    config = chart.render(scenario).config()
    for name, deployment in _pipeline_deployments(chart, scenario).items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"metrics": int(config["PIPELINE_METRICS_PORT"])}, name
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}, name
        assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "metrics"}, name
    assert not any(key.startswith("PIPELINE_HEALTH_") for key in config), "one port, one address"


def test_values_that_still_set_a_separate_health_port_are_refused_by_name(chart: Chart) -> None:
    """`/livez` and `/readyz` moved onto `metricsPort`: an old values file fails, not half-applies."""
    result = chart.template("--values", str(chart.values_file("cpu-small")),
                            "--set", "pipelineDefaults.healthPort=8081")
    assert result.returncode != 0
    assert "healthPort" in result.stderr


def test_pipelines_listen_on_every_pod_interface_unless_the_values_name_an_address(
    chart: Chart, scenario: str
) -> None:
    assert chart.render(scenario).config()["PIPELINE_METRICS_HOST"] == "0.0.0.0"
    config = chart.render_with("--values", str(chart.values_file(scenario)),
                               "--set", "pipelineDefaults.metricsHost=::").config()
    assert config["PIPELINE_METRICS_HOST"] == "::"


def test_autoscaled_pipelines_get_an_hpa_and_leave_replicas_to_it(chart: Chart) -> None:
    manifests = chart.render("tls-autoscaling")
    deployments = _pipeline_deployments(chart, "tls-autoscaling")
    autoscalers = {
        h["spec"]["scaleTargetRef"]["name"]: h for h in manifests.of_kind("HorizontalPodAutoscaler")
    }
    assert sorted(autoscalers) == [
        chart.pipeline_name("cs-insights"),
        chart.pipeline_name("kpi-anomaly"),
    ]
    kpi = autoscalers[chart.pipeline_name("kpi-anomaly")]["spec"]
    assert (kpi["minReplicas"], kpi["maxReplicas"]) == (2, 8)
    assert kpi["metrics"][0]["resource"]["target"] == {
        "type": "Utilization",
        "averageUtilization": 70,
    }
    assert "replicas" not in deployments["kpi-anomaly"]["spec"]
    assert "replicas" not in deployments["cs-insights"]["spec"]
    assert deployments["fiber-sensing"]["spec"]["replicas"] == 1


def test_no_hpa_is_rendered_when_autoscaling_is_off(chart: Chart) -> None:
    assert not chart.render("npu-all-pipelines").of_kind("HorizontalPodAutoscaler")


def test_each_pipeline_has_a_disruption_budget_over_its_own_pods(
    chart: Chart, scenario: str
) -> None:
    manifests = chart.render(scenario)
    for name, deployment in _pipeline_deployments(chart, scenario).items():
        budget = manifests.named("PodDisruptionBudget", chart.pipeline_name(name))
        assert (
            budget["spec"]["selector"]["matchLabels"]
            == deployment["spec"]["selector"]["matchLabels"]
        )


def test_sasl_credentials_come_from_the_existing_secret_and_never_from_the_config_map(
    chart: Chart,
) -> None:
    manifests = chart.render("tls-autoscaling")
    config = manifests.config()
    assert config["EDGE_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["EDGE_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert not {k for k in config if "PASSWORD" in k or "USERNAME" in k or "TOKEN" in k}
    for name, deployment in _pipeline_deployments(chart, "tls-autoscaling").items():
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        password = env["EDGE_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert password == {"name": "kafka-credentials", "key": "password"}, name
        username = env["EDGE_KAFKA_SASL_USERNAME"]["valueFrom"]["secretKeyRef"]
        assert username == {"name": "kafka-credentials", "key": "username"}, name
        assert env["EDGE_KAFKA_SSL_CAFILE"]["value"] == "/etc/sovereign-edge/kafka-tls/ca.crt", name


def test_kafka_settings_reach_the_config_map(chart: Chart, scenario: str) -> None:
    values = chart.values(scenario)
    config = chart.render(scenario).config()
    assert config["EDGE_REGION"] == values["region"]
    assert config["EDGE_SITE_ID"] == values["siteId"]
    assert config.get("EDGE_SERVED_SITE_IDS", "") == ",".join(values["servedSiteIds"])
    assert config["EDGE_KAFKA_BOOTSTRAP_SERVERS"] == ",".join(values["kafka"]["bootstrapServers"])
    assert config["EDGE_KAFKA_SECURITY_PROTOCOL"] == values["kafka"]["securityProtocol"]


def test_a_pipeline_env_entry_overrides_the_shared_setting_for_that_pipeline_only(
    chart: Chart,
) -> None:
    deployments = _pipeline_deployments(chart, "npu-all-pipelines")
    cs_env = deployments["cs-insights"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "PIPELINE_MAX_BATCH_RECORDS", "value": "64"} in cs_env
    kpi_container = deployments["kpi-anomaly"]["spec"]["template"]["spec"]["containers"][0]
    assert "PIPELINE_MAX_BATCH_RECORDS" not in {e["name"] for e in kpi_container.get("env", [])}


def test_the_batch_size_is_left_to_each_pipeline_unless_the_values_set_one(chart: Chart, scenario: str) -> None:
    assert "PIPELINE_MAX_BATCH_RECORDS" not in chart.render(scenario).config()
    config = chart.render_with("--values", str(chart.values_file(scenario)),
                               "--set", "pipelineDefaults.maxBatchRecords=250").config()
    assert config["PIPELINE_MAX_BATCH_RECORDS"] == "250"


def test_a_pipelines_own_policy_is_set_through_its_env_and_reaches_that_pipeline_only(chart: Chart) -> None:
    manifests = chart.render_with(
        "--values", str(chart.values_file("npu-all-pipelines")),
        "--set-string", "pipelines.kpi-anomaly.env.KPI_ANOMALY_MAJOR_SCORE=3.5",
    )
    env = {
        d["spec"]["template"]["metadata"]["labels"]["sovereign-edge.io/pipeline"]:
            d["spec"]["template"]["spec"]["containers"][0].get("env", [])
        for d in manifests.of_kind("Deployment")
        if d["metadata"]["name"] != chart.accel_name
    }
    assert {"name": "KPI_ANOMALY_MAJOR_SCORE", "value": "3.5"} in env["kpi-anomaly"]
    assert all(e["name"] != "KPI_ANOMALY_MAJOR_SCORE" for e in env["energy-saving"])
