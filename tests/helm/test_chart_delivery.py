"""Delivery mode and durable state in the chart: PIPELINE_DELIVERY, the state topics' replication
factor and the restore timeout reach the pipelines, and the schema refuses what they would refuse."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Chart


def test_by_default_pipelines_deliver_at_least_once_and_leave_the_replication_factor_to_kafka(
    chart: Chart,
) -> None:
    config = chart.render("cpu-small").config()
    assert config["PIPELINE_DELIVERY"] == "at-least-once"
    assert "PIPELINE_STATE_REPLICATION_FACTOR" not in config
    assert config["PIPELINE_RESTORE_TIMEOUT_S"] == "300"


def test_a_replication_factor_and_restore_timeout_in_the_values_reach_the_config_map(
    chart: Chart,
) -> None:
    config = chart.render_with(
        "--values",
        str(chart.values_file("cpu-small")),
        "--set",
        "pipelineDefaults.stateReplicationFactor=2",
        "--set",
        "pipelineDefaults.restoreTimeoutS=1800",
    ).config()
    assert config["PIPELINE_STATE_REPLICATION_FACTOR"] == "2"
    assert config["PIPELINE_RESTORE_TIMEOUT_S"] == "1800"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("pipelineDefaults.delivery=exactly-twice", "/pipelineDefaults/delivery"),
        ("pipelineDefaults.delivery=null", "delivery"),
        ("pipelineDefaults.restoreTimeoutS=0", "/pipelineDefaults/restoreTimeoutS"),
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
