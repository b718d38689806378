"""Delivery mode and durable state in the chart: PIPELINE_DELIVERY, the state topics' replication
factor and the restore timeout reach the pipelines, the schema refuses what they would refuse, a
replica restoring its state is unready, never restarted, with rollouts waiting for it, and the
install notes name the Kafka ACLs state topics and transactions need."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Chart, Manifest


def test_by_default_pipelines_deliver_at_least_once_and_leave_the_replication_factor_to_kafka(
    chart: Chart,
) -> None:
    config = chart.render("cpu-small").config()
    assert config["PIPELINE_DELIVERY"] == "at-least-once"
    assert "PIPELINE_STATE_REPLICATION_FACTOR" not in config
    assert config["PIPELINE_RESTORE_TIMEOUT_S"] == "300"
    assert config["PIPELINE_COMMIT_INTERVAL_MS"] == "1000"


def test_a_replication_factor_restore_timeout_and_commit_interval_in_the_values_reach_the_config_map(
    chart: Chart,
) -> None:
    config = chart.render_with(
        "--values",
        str(chart.values_file("cpu-small")),
        "--set",
        "pipelineDefaults.stateReplicationFactor=2",
        "--set",
        "pipelineDefaults.restoreTimeoutS=1800",
        "--set",
        "pipelineDefaults.commitIntervalMs=0",
    ).config()
    assert config["PIPELINE_COMMIT_INTERVAL_MS"] == "0", "every batch committed"
    assert config["PIPELINE_STATE_REPLICATION_FACTOR"] == "2"
    assert config["PIPELINE_RESTORE_TIMEOUT_S"] == "1800"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("pipelineDefaults.delivery=exactly-twice", "/pipelineDefaults/delivery"),
        ("pipelineDefaults.delivery=null", "delivery"),
        ("pipelineDefaults.restoreTimeoutS=0", "/pipelineDefaults/restoreTimeoutS"),
        ("pipelineDefaults.commitIntervalMs=-1", "/pipelineDefaults/commitIntervalMs"),
        ("pipelineDefaults.commitIntervalMs=60001", "/pipelineDefaults/commitIntervalMs"),
        ("pipelineDefaults.stateReplicationFactor=0", "/pipelineDefaults/stateReplicationFactor"),
        ("pipelineDefaults.stateReplicationFactor=17", "/pipelineDefaults/stateReplicationFactor"),
    ],
)
def test_the_schema_refuses_a_delivery_or_state_setting_the_pipelines_would_refuse_naming_it(
    chart: Chart, override: str, field: str
) -> None:
    result = chart.template("--values", str(chart.values_file("cpu-small")), "--set", override)
    assert result.returncode != 0
    assert field in result.stderr


def _pipeline_env(chart: Chart, scenario: str) -> dict[str, dict[str, str]]:
    """Each pipeline's literal env entries (those from Secrets left out), by pipeline name."""
    return {
        d["spec"]["template"]["metadata"]["labels"]["sovereign-edge.io/pipeline"]: {
            e["name"]: e["value"]
            for e in d["spec"]["template"]["spec"]["containers"][0].get("env", [])
            if "value" in e
        }
        for d in chart.render(scenario).of_kind("Deployment")
        if d["metadata"]["name"] != chart.accel_name
    }


def test_the_exactly_once_site_renders_exactly_once_and_its_replication_factor(
    chart: Chart,
) -> None:
    config = chart.render("exactly-once").config()
    assert config["PIPELINE_DELIVERY"] == "exactly-once"
    assert config["PIPELINE_STATE_REPLICATION_FACTOR"] == "4"
    assert config["PIPELINE_RESTORE_TIMEOUT_S"] == "600"


def test_one_pipeline_keeps_at_least_once_through_its_env_and_the_others_follow_the_default(
    chart: Chart,
) -> None:
    env = _pipeline_env(chart, "exactly-once")
    assert sorted(env) == ["cs-insights", "energy-saving", "kpi-anomaly"]
    assert env["cs-insights"]["PIPELINE_DELIVERY"] == "at-least-once"
    assert "PIPELINE_DELIVERY" not in env["kpi-anomaly"]
    assert "PIPELINE_DELIVERY" not in env["energy-saving"]


def test_every_pipeline_setting_a_pod_gets_is_one_the_pipeline_accepts(
    chart: Chart, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the ConfigMap and a pipeline's env give a pod parses as PipelineSettings: a value the
    runtime would refuse at start (a misspelt delivery mode, a factor of "4.0") fails here."""
    from pipelines.settings import PipelineSettings

    for name in [n for n in os.environ if n.startswith("PIPELINE_")]:
        monkeypatch.delenv(name)
    config = chart.render(scenario).config()
    for pipeline, env in _pipeline_env(chart, scenario).items():
        with monkeypatch.context() as m:
            for name, value in {**config, **env}.items():
                if name.startswith("PIPELINE_"):
                    m.setenv(name, value)
            settings = PipelineSettings()
        expected = env.get("PIPELINE_DELIVERY", config["PIPELINE_DELIVERY"])
        assert settings.delivery == expected, pipeline


def _pipeline_deployments(chart: Chart, scenario: str, *overrides: str) -> list[Manifest]:
    manifests = chart.render_with("--values", str(chart.values_file(scenario)), *overrides)
    return [d for d in manifests.of_kind("Deployment") if d["metadata"]["name"] != chart.accel_name]


def test_a_restoring_replica_is_only_unready_never_restarted(chart: Chart, scenario: str) -> None:
    """`/readyz` (503 while restoring) drives readiness alone; no liveness or startup probe reads
    it, since either would restart a pod that is busy restoring."""
    for deployment in _pipeline_deployments(chart, scenario):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        readyz = {
            kind
            for kind in ("readinessProbe", "livenessProbe", "startupProbe")
            if container.get(kind, {}).get("httpGet", {}).get("path") == "/readyz"
        }
        assert readyz == {"readinessProbe"}, deployment["metadata"]["name"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"


@pytest.mark.parametrize("restore_timeout_s", [300, 3600])
def test_a_rollout_waits_for_a_full_restore_before_it_counts_as_stalled(
    chart: Chart, restore_timeout_s: int
) -> None:
    """Each new replica is unready for up to restoreTimeoutS; the Deployment's progress deadline
    keeps Kubernetes' own 600 s for the pod to start on top of that."""
    deployments = _pipeline_deployments(
        chart, "npu-all-pipelines", "--set", f"pipelineDefaults.restoreTimeoutS={restore_timeout_s}"
    )
    assert deployments
    for deployment in deployments:
        deadline_s = deployment["spec"]["progressDeadlineSeconds"]
        assert deadline_s >= 600 + restore_timeout_s, deployment["metadata"]["name"]


def test_the_notes_name_the_state_topic_acls_and_no_transactional_ones_at_least_once(
    chart: Chart,
) -> None:
    notes = chart.notes("cpu-small")
    assert "kpi-anomaly: 1 replicas, at-least-once" in notes
    assert "Create, Describe, Read, Write on topics with prefix kr-busan.state." in notes
    assert "Create, Describe on topic kr-busan.ran.alarms-open" in notes
    assert "TransactionalId" not in notes and "IdempotentWrite" not in notes


def test_the_notes_name_the_transactional_id_prefix_of_each_exactly_once_pipeline(
    chart: Chart,
) -> None:
    notes = chart.notes("exactly-once")
    assert "Write, Describe on TransactionalId prefix kr-daejeon.kpi-anomaly." in notes
    assert "Write, Describe on TransactionalId prefix kr-daejeon.energy-saving." in notes
    assert "kr-daejeon.cs-insights." not in notes, "cs-insights stays at-least-once"
    assert "IdempotentWrite on the cluster" in notes
