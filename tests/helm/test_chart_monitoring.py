"""The optional ServiceMonitor scrapes the accelerator and pipeline metrics ports."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Chart


def test_no_service_monitor_or_metrics_service_is_rendered_by_default(chart: Chart) -> None:
    manifests = chart.render("cpu-small")
    assert not manifests.of_kind("ServiceMonitor")
    assert [s["metadata"]["name"] for s in manifests.of_kind("Service")] == [chart.accel_name]


def test_the_service_monitor_finds_a_metrics_port_on_the_accel_and_pipeline_services(
    chart: Chart,
) -> None:
    manifests = chart.render("npu-all-pipelines")
    (monitor,) = manifests.of_kind("ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    selector = monitor["spec"]["selector"]
    (components,) = selector["matchExpressions"]
    selected = [
        service
        for service in manifests.of_kind("Service")
        if selector["matchLabels"].items() <= service["metadata"]["labels"].items()
        and service["metadata"]["labels"]["app.kubernetes.io/component"] in components["values"]
    ]
    assert sorted(s["spec"]["selector"]["app.kubernetes.io/component"] for s in selected) == [
        "accel",
        "pipeline",
    ]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    config = manifests.config()
    metrics_ports = {
        s["spec"]["selector"]["app.kubernetes.io/component"]: p["port"]
        for s in selected
        for p in s["spec"]["ports"]
        if p["name"] == endpoint["port"]
    }
    assert metrics_ports == {
        "accel": int(config["ACCEL_METRICS_PORT"]),
        "pipeline": int(config["PIPELINE_METRICS_PORT"]),
    }
