"""The optional PrometheusRule: alerts an on-call engineer can act on, each with a summary, a
description that says what to check first and a runbook section in the README; the rules pass
the real `promtool check rules`, and `promtool test rules` fires and does not fire each alert on
synthetic series (tests/helm/alerts/alert-rules-test.yaml)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests.helm.conftest import REPO_ROOT

if TYPE_CHECKING:
    from conftest import Chart

ALERT_TESTS = Path(__file__).parent / "alerts" / "alert-rules-test.yaml"


def rule_groups(chart: Chart, *args: str) -> list[dict[str, Any]]:
    """The alert groups of the monitoring scenario's PrometheusRule."""
    (rule,) = chart.render_with("--values", str(chart.values_file("monitoring")), *args).of_kind("PrometheusRule")
    groups: list[dict[str, Any]] = rule["spec"]["groups"]
    return groups


def alerts(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rule for group in groups for rule in group["rules"]]


def test_no_prometheus_rule_is_rendered_by_default(chart: Chart) -> None:
    assert not chart.render("cpu-small").of_kind("PrometheusRule")


def test_the_rule_has_the_fields_the_prometheus_operator_requires_and_each_alert_explains_itself(chart: Chart) -> None:
    (rule,) = chart.render("monitoring").of_kind("PrometheusRule")
    assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert rule["metadata"]["name"] and rule["metadata"]["namespace"] == chart.namespace
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack", "the label its Prometheus selects by"
    names = [group["name"] for group in rule["spec"]["groups"]]
    assert len(names) == len(set(names)) and all(group["rules"] for group in rule["spec"]["groups"])
    found = alerts(rule["spec"]["groups"])
    assert {a["alert"] for a in found} == {
        "EdgePipelineLagGrowing", "EdgePipelineDlqRateHigh", "EdgeResidencyRefusal", "EdgePipelineNoResults",
        "EdgeAcceleratorsUnavailable", "EdgePipelinePaused", "EdgeInferenceLatencyHigh", "EdgeStateRestoreSlow",
        "EdgeModelLoadFailed",
    }
    for alert in found:
        assert alert["expr"].strip() and alert["labels"]["severity"] in ("warning", "critical"), alert["alert"]
        annotations = alert["annotations"]
        assert annotations["summary"], alert["alert"]
        assert re.search(r"\b(Check|Read)\b", annotations["description"]), "it says what to check first"
        assert "runbook_url" not in annotations, "no link unless runbookBaseUrl says where the README is"


def test_the_rules_pass_promtool_check(chart: Chart, promtool: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": rule_groups(chart)}), encoding="utf-8")
    result = subprocess.run([str(promtool), "check", "rules", str(rules)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts(rule_groups(chart)))} rules found" in result.stdout


def test_promtool_fires_and_does_not_fire_each_alert_on_synthetic_series(
    chart: Chart, promtool: Path, tmp_path: Path
) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule_groups(chart)}), encoding="utf-8")
    shutil.copy(ALERT_TESTS, tmp_path / "alert-rules-test.yaml")
    result = subprocess.run(
        [str(promtool), "test", "rules", "alert-rules-test.yaml"], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    cases = [t for test in yaml.safe_load(ALERT_TESTS.read_text(encoding="utf-8"))["tests"] for t in test["alert_rule_test"]]
    for alert in alerts(rule_groups(chart)):
        own = [c for c in cases if c["alertname"] == alert["alert"]]
        assert any(c["exp_alerts"] for c in own) and any(not c["exp_alerts"] for c in own), alert["alert"]


def test_with_a_runbook_base_url_each_alert_links_to_its_readme_section(chart: Chart) -> None:
    base = "https://docs.example.net/sovereign-edge/README.md"
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in (REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines() if line.startswith("#")
    }
    for alert in alerts(rule_groups(chart, "--set", f"prometheusRule.runbookBaseUrl={base}")):
        link = alert["annotations"]["runbook_url"]
        assert link == f"{base}#{alert['alert'].lower()}"
        assert alert["alert"].lower() in headings, f"README has no section for {alert['alert']}"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("prometheusRule.dlqRatio=2", "/prometheusRule/dlqRatio"),
        ("prometheusRule.lagGrowingFor=ten minutes", "/prometheusRule/lagGrowingFor"),
        ("prometheusRule.inferenceP99S=0", "/prometheusRule/inferenceP99S"),
        ("prometheusRule.runbookBaseUrl=file:///etc/passwd", "/prometheusRule/runbookBaseUrl"),
    ],
)
def test_the_schema_refuses_thresholds_that_make_no_sense(chart: Chart, override: str, field: str) -> None:
    result = chart.template("--values", str(chart.values_file("monitoring")), "--set", override)
    assert result.returncode != 0 and field in result.stderr
