"""Where the KPI pipelines read VES (`VES_KPI_TOPICS`) and which cells a site measures
(`VES_INVENTORY_FILE`): both KPI pipelines read the topics named, the others none; a topic name
that is not one and an inventory that cannot be read are refused at start, naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from edge.settings import EdgeSettings
from pipelines.accel_client import AcceleratorClient
from pipelines.errors import StartupRefused
from pipelines.registry import build_pipeline
from pipelines.ves.settings import VesSettings

EDGE = EdgeSettings(region="kr-seoul", site_id="SEL-GN-0042", accel_targets="127.0.0.1:1")
ACCEL = AcceleratorClient(EDGE, timeout_s=1, attempts=1)  # never started
VES = "kr-seoul.ves.measurements"


def test_the_kpi_pipelines_read_the_ves_topics_named_and_the_others_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VES_KPI_TOPICS", f" {VES}, kr-seoul.ves.pm ,{VES},")
    for name in ("kpi-anomaly", "energy-saving"):
        assert build_pipeline(name, EDGE, ACCEL).input_topics == ["kr-seoul.ran.kpi", VES, "kr-seoul.ves.pm"]
    for name in ("cs-insights", "fiber-sensing"):
        assert not any(".ves." in t for t in build_pipeline(name, EDGE, ACCEL).input_topics)
    monkeypatch.delenv("VES_KPI_TOPICS")
    assert build_pipeline("kpi-anomaly", EDGE, ACCEL).input_topics == ["kr-seoul.ran.kpi"]


def test_a_topic_name_that_kafka_would_refuse_is_refused() -> None:
    with pytest.raises(ValidationError, match="not a Kafka topic name"):
        VesSettings(kpi_topics="kr-seoul.ves/pm")


def test_the_inventory_is_one_cell_per_line_with_comments(tmp_path: Path) -> None:
    inventory = tmp_path / "cells.txt"
    inventory.write_text("# gNB 1\n450-05-1-1\n  450-05-1-2  # spare\n\n450-05-1-1\n", encoding="utf-8")
    assert VesSettings(inventory_file=inventory).inventory() == {"450-05-1-1", "450-05-1-2"}
    assert VesSettings().inventory() is None


def test_an_inventory_that_cannot_be_read_refuses_the_start_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VES_KPI_TOPICS", VES)
    monkeypatch.setenv("VES_INVENTORY_FILE", str(tmp_path / "missing.txt"))
    with pytest.raises(StartupRefused, match=r"VES_INVENTORY_FILE .*missing.txt cannot be read"):
        build_pipeline("kpi-anomaly", EDGE, ACCEL)


def test_the_kpi_anomaly_pipeline_writes_its_alarms_as_ves_where_a_topic_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline

    assert build_pipeline("kpi-anomaly", EDGE, ACCEL).ves_alarms is None  # type: ignore[attr-defined]
    monkeypatch.setenv("KPI_ANOMALY_VES_ALARMS_TOPIC", "kr-seoul.ves.faults")
    monkeypatch.setenv("KPI_ANOMALY_VES_ALARM_DOMAIN", "fault")
    pipeline = build_pipeline("kpi-anomaly", EDGE, ACCEL)
    assert isinstance(pipeline, KpiAnomalyPipeline) and pipeline.ves_alarms is not None
    assert (pipeline.ves_alarms.topic, pipeline.ves_alarms.domain) == ("kr-seoul.ves.faults", "fault")
    assert "kr-seoul.ves.faults" in pipeline.output_topics, "so the start checks its region like every output"
    monkeypatch.setenv("KPI_ANOMALY_VES_ALARM_DOMAIN", "syslog")
    with pytest.raises(ValidationError, match="ves_alarm_domain"):
        build_pipeline("kpi-anomaly", EDGE, ACCEL)
