"""Every install scenario under helm/sovereign-edge/ci/ lints, renders and is valid Kubernetes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import kubernetes_validate

if TYPE_CHECKING:
    from conftest import Chart

# Kinds from CRDs that kubernetes-validate has no schema for, with the API version the chart uses.
CUSTOM_KINDS = {
    "ServiceMonitor": "monitoring.coreos.com/v1", "PrometheusRule": "monitoring.coreos.com/v1",
    "ScaledObject": "keda.sh/v1alpha1", "TriggerAuthentication": "keda.sh/v1alpha1",
}


def test_every_scenario_passes_helm_lint_strict(chart: Chart, scenario: str) -> None:
    result = chart.helm.run(
        "lint",
        "--strict",
        str(chart.directory),
        "--values",
        str(chart.values_file(scenario)),
        "--kube-version",
        chart.kube_version,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rendered_object_validates_against_the_kubernetes_schema(
    chart: Chart, scenario: str
) -> None:
    manifests = chart.render(scenario)
    assert manifests, "the scenario rendered nothing"
    for manifest in manifests:
        if manifest["kind"] in CUSTOM_KINDS:
            assert manifest["apiVersion"] == CUSTOM_KINDS[manifest["kind"]]
            continue
        version = kubernetes_validate.validate(manifest, chart.kube_version, strict=True)
        assert version == chart.kube_version


def test_every_object_carries_the_region_and_site_labels(chart: Chart, scenario: str) -> None:
    values = chart.values(scenario)
    expected = {
        "sovereign-edge.io/region": values["region"],
        "sovereign-edge.io/site": values["siteId"],
    }
    for manifest in chart.render(scenario):
        labels = manifest["metadata"]["labels"]
        where = f"{manifest['kind']}/{manifest['metadata']['name']}"
        assert {k: labels.get(k) for k in expected} == expected, where


def test_every_pod_template_carries_the_region_and_site_labels(chart: Chart, scenario: str) -> None:
    values = chart.values(scenario)
    expected = {
        "sovereign-edge.io/region": values["region"],
        "sovereign-edge.io/site": values["siteId"],
    }
    templates = list(chart.render(scenario).pod_templates())
    assert templates
    for workload, template in templates:
        labels = template["metadata"]["labels"]
        assert {k: labels.get(k) for k in expected} == expected, workload


def test_every_object_lives_in_the_release_namespace(chart: Chart, scenario: str) -> None:
    for manifest in chart.render(scenario):
        assert manifest["metadata"]["namespace"] == chart.namespace, manifest["metadata"]["name"]


def test_every_workload_selector_matches_its_own_pod_template(chart: Chart, scenario: str) -> None:
    for manifest in chart.render(scenario).of_kind("Deployment"):
        selector = manifest["spec"]["selector"]["matchLabels"]
        labels = manifest["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), manifest["metadata"]["name"]
