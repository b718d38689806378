"""Egress is denied but to Kafka, the site's accelerators, DNS and the telemetry collector."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import Chart, Manifest, Manifests

DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]


def _policies(manifests: Manifests, component: str) -> list[Manifest]:
    return [
        p
        for p in manifests.of_kind("NetworkPolicy")
        if p["spec"]["podSelector"]["matchLabels"].get("app.kubernetes.io/component") == component
    ]


def _selector_peer(selectors: dict[str, Any]) -> dict[str, Any]:
    peer: dict[str, Any] = {}
    if selectors["namespaceSelector"]:
        peer["namespaceSelector"] = {"matchLabels": selectors["namespaceSelector"]}
    if selectors["podSelector"]:
        peer["podSelector"] = {"matchLabels": selectors["podSelector"]}
    return peer


def _expected_peers(selectors: dict[str, Any]) -> list[dict[str, Any]]:
    peers = [_selector_peer(selectors)] if _selector_peer(selectors) else []
    # Helm ranges over a map in key order.
    return peers + [{"ipBlock": {"cidr": cidr}} for _, cidr in sorted(selectors["cidrs"].items())]


def _tcp(ports: list[int]) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def _expected_rules(chart: Chart, scenario: str, component: str) -> list[dict[str, Any]]:
    """Exactly the egress rules the scenario's values allow for one component's pods."""
    values = chart.values(scenario)
    policy = values["networkPolicy"]
    rules = []
    if component == "pipeline":
        kafka_cidrs = sorted(policy["kafka"]["cidrs"].items())
        kafka_peers = [{"ipBlock": {"cidr": cidr}} for _, cidr in kafka_cidrs]
        rules.append({"to": kafka_peers, "ports": _tcp(policy["kafka"]["ports"])})
        accel_pods = {
            "app.kubernetes.io/name": "sovereign-edge",
            "app.kubernetes.io/instance": chart.release,
            "app.kubernetes.io/component": "accel",
        }
        rules.append(
            {
                "to": [{"podSelector": {"matchLabels": accel_pods}}],
                "ports": _tcp([values["accel"]["port"]]),
            }
        )
    rules.append({"to": _expected_peers(policy["dns"]), "ports": DNS_PORTS})
    if values["telemetry"]["exporter"] == "otlp":
        telemetry = policy["telemetry"]
        rules.append({"to": _expected_peers(telemetry), "ports": _tcp(telemetry["ports"])})
    return rules


def test_pipeline_egress_goes_only_to_kafka_cidrs_accel_pods_dns_and_telemetry(
    chart: Chart, scenario: str
) -> None:
    (policy,) = _policies(chart.render(scenario), "pipeline")
    assert policy["spec"]["policyTypes"] == ["Egress"]
    assert policy["spec"]["egress"] == _expected_rules(chart, scenario, "pipeline")


def test_accel_egress_goes_only_to_dns_and_telemetry(chart: Chart, scenario: str) -> None:
    (policy,) = _policies(chart.render(scenario), "accel")
    assert policy["spec"]["policyTypes"] == ["Egress"]
    assert policy["spec"]["egress"] == _expected_rules(chart, scenario, "accel")


def test_every_egress_rule_names_its_destinations_and_ports(chart: Chart, scenario: str) -> None:
    # A rule without `to` or `ports` would allow every destination or every port.
    for policy in chart.render(scenario).of_kind("NetworkPolicy"):
        for rule in policy["spec"]["egress"]:
            assert rule.get("to") and rule.get("ports"), policy["metadata"]["name"]
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    assert not peer["ipBlock"]["cidr"].endswith("/0"), policy["metadata"]["name"]
                    assert "except" not in peer["ipBlock"]
                if "namespaceSelector" in peer:
                    assert peer["namespaceSelector"]["matchLabels"], (
                        "an empty namespaceSelector matches all"
                    )


def test_every_pod_is_selected_by_an_egress_policy(chart: Chart, scenario: str) -> None:
    manifests = chart.render(scenario)
    selectors = [
        p["spec"]["podSelector"]["matchLabels"] for p in manifests.of_kind("NetworkPolicy")
    ]
    for workload, template in manifests.pod_templates():
        labels = template["metadata"]["labels"]
        assert any(s.items() <= labels.items() for s in selectors), workload


def test_telemetry_egress_is_allowed_only_when_traces_go_to_a_collector(chart: Chart) -> None:
    manifests = chart.render_with(
        "--values",
        str(chart.values_file("npu-all-pipelines")),
        "--set",
        "telemetry.exporter=console",
    )
    for policy in manifests.of_kind("NetworkPolicy"):
        ports = [port["port"] for rule in policy["spec"]["egress"] for port in rule["ports"]]
        assert 4317 not in ports, policy["metadata"]["name"]


def test_rendering_is_refused_when_the_policy_is_on_but_no_kafka_cidr_is_given(
    chart: Chart,
) -> None:
    result = chart.template(
        "--set",
        "region=kr-seoul",
        "--set",
        "siteId=SEL-GN-0042",
        "--set",
        "kafka.bootstrapServers[0]=kafka-0:9092",
    )
    assert result.returncode != 0
    assert "networkPolicy.kafka.cidrs" in result.stderr
