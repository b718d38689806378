"""Every pod the chart runs is locked down: non-root, read-only, unprivileged, no API token."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Chart


def test_no_container_is_privileged_or_can_escalate(chart: Chart, scenario: str) -> None:
    for workload, container in chart.render(scenario).containers():
        context = container["securityContext"]
        assert context.get("privileged", False) is False, workload
        assert context["allowPrivilegeEscalation"] is False, workload


def test_every_container_runs_as_non_root_on_a_read_only_root_file_system(
    chart: Chart, scenario: str
) -> None:
    for workload, container in chart.render(scenario).containers():
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True, workload
        assert context["runAsUser"] != 0, workload
        assert context["readOnlyRootFilesystem"] is True, workload


def test_every_container_drops_all_capabilities_and_adds_none(chart: Chart, scenario: str) -> None:
    for workload, container in chart.render(scenario).containers():
        capabilities = container["securityContext"]["capabilities"]
        assert capabilities["drop"] == ["ALL"], workload
        assert not capabilities.get("add"), workload


def test_every_pod_uses_the_runtime_default_seccomp_profile(chart: Chart, scenario: str) -> None:
    for workload, template in chart.render(scenario).pod_templates():
        pod_context = template["spec"]["securityContext"]
        assert pod_context["runAsNonRoot"] is True, workload
        assert pod_context["seccompProfile"] == {"type": "RuntimeDefault"}, workload


def test_every_container_gets_a_writable_tmp_from_an_empty_dir(chart: Chart, scenario: str) -> None:
    for workload, template in chart.render(scenario).pod_templates():
        volumes = {v["name"]: v for v in template["spec"]["volumes"]}
        for container in template["spec"]["containers"]:
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert len(tmp) == 1, workload
            assert "emptyDir" in volumes[tmp[0]["name"]], workload


def test_every_other_volume_is_mounted_read_only(chart: Chart, scenario: str) -> None:
    for workload, container in chart.render(scenario).containers():
        for mount in container["volumeMounts"]:
            if mount["mountPath"] != "/tmp":
                assert mount.get("readOnly") is True, f"{workload}: {mount['mountPath']}"


def test_no_pod_shares_host_namespaces_or_mounts_an_api_token(chart: Chart, scenario: str) -> None:
    for workload, template in chart.render(scenario).pod_templates():
        spec = template["spec"]
        for host_field in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(host_field), f"{workload}: {host_field}"
        assert spec["automountServiceAccountToken"] is False, workload


def test_pods_run_as_the_chart_service_account(chart: Chart, scenario: str) -> None:
    manifests = chart.render(scenario)
    (account,) = manifests.of_kind("ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    for workload, template in manifests.pod_templates():
        assert template["spec"]["serviceAccountName"] == account["metadata"]["name"], workload


def test_pods_have_more_time_to_stop_than_the_app_grace_periods(
    chart: Chart, scenario: str
) -> None:
    manifests = chart.render(scenario)
    config = manifests.config()
    accel = manifests.named("Deployment", chart.accel_name)["spec"]["template"]["spec"]
    assert accel["terminationGracePeriodSeconds"] > float(config["ACCEL_GRACE_PERIOD_S"])
    for workload, template in manifests.pod_templates():
        if workload != chart.accel_name:
            grace_s = template["spec"]["terminationGracePeriodSeconds"]
            assert grace_s > float(config["PIPELINE_GRACE_PERIOD_S"]), workload
