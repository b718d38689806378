"""Every pipeline is built by its operator-facing name with the operator's limits on its
per-entity state, or its own where none are set, and its own policies from variables named after
it; limits that cannot hold one batch, and policies out of range, are refused at start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edge.settings import EdgeSettings
from pipelines.accel_client import AcceleratorClient
from pipelines.cs_insights.pipeline import CsInsightsPipeline
from pipelines.energy_saving.pipeline import EnergySavingPipeline
from pipelines.entity_limits import EntityLimits
from pipelines.errors import StartupRefused
from pipelines.fiber_sensing.pipeline import FiberSensingPipeline
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.registry import build_pipeline
from pipelines.settings import PipelineSettings

EDGE = EdgeSettings(region="kr-seoul", site_id="SEL-GN-0042", accel_targets="127.0.0.1:1")
# Never started: building a pipeline opens no connection.
ACCEL = AcceleratorClient(EDGE, timeout_s=1, attempts=1)


def test_the_operators_limits_reach_each_pipelines_state() -> None:
    settings = PipelineSettings(max_entities=123, entity_idle_s=60, max_key_chars=40, max_batch_records=100)
    kpi = build_pipeline("kpi-anomaly", EDGE, ACCEL, settings)
    energy = build_pipeline("energy-saving", EDGE, ACCEL, settings)
    cs = build_pipeline("cs-insights", EDGE, ACCEL, settings)
    assert isinstance(kpi, KpiAnomalyPipeline) and isinstance(energy, EnergySavingPipeline)
    assert isinstance(cs, CsInsightsPipeline)
    expected = EntityLimits(max_entities=123, idle_s=60.0, max_key_chars=40)
    assert kpi.entity_limits == energy.entity_limits == expected
    assert kpi.intake.max_cell_id_chars == 40
    assert (cs.churn.policy.max_sessions, cs.churn.policy.idle_s) == (123, 60.0)


def test_unset_the_pipelines_keep_their_own_entity_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PIPELINE_MAX_ENTITIES", "PIPELINE_ENTITY_IDLE_S", "PIPELINE_MAX_KEY_CHARS"):
        monkeypatch.delenv(name, raising=False)
    kpi = build_pipeline("kpi-anomaly", EDGE, ACCEL)
    cs = build_pipeline("cs-insights", EDGE, ACCEL)
    assert isinstance(kpi, KpiAnomalyPipeline) and isinstance(cs, CsInsightsPipeline)
    assert kpi.entity_limits == KpiAnomalyPipeline.entity_limits
    assert cs.churn.policy.max_sessions == 100_000


def test_an_unknown_pipeline_is_refused_naming_those_that_exist() -> None:
    with pytest.raises(KeyError, match="cs-insights, energy-saving, fiber-sensing, kpi-anomaly"):
        build_pipeline("kpi", EDGE, ACCEL)


def test_a_limit_below_one_batch_is_refused_at_start_naming_both_settings() -> None:
    with pytest.raises(StartupRefused, match=r"PIPELINE_MAX_ENTITIES is 1000, below the 4000 records .*kpi-anomaly"):
        build_pipeline("kpi-anomaly", EDGE, ACCEL, PipelineSettings(max_entities=1000))
    assert build_pipeline("kpi-anomaly", EDGE, ACCEL, PipelineSettings(max_entities=1000, max_batch_records=1000))
    with pytest.raises(StartupRefused, match="energy-saving"):
        build_pipeline("energy-saving", EDGE, ACCEL, PipelineSettings(max_entities=10, max_batch_records=11))


def test_each_pipelines_own_policies_are_read_from_variables_named_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPI_ANOMALY_MAJOR_SCORE", "3.5")
    monkeypatch.setenv("KPI_ANOMALY_CLEAR_AFTER_NORMAL", "5")
    monkeypatch.setenv("ENERGY_SAVING_MIN_SLEEP_S", "600")
    monkeypatch.setenv("CS_INSIGHTS_CHURN_HIGH_FROM", "0.8")
    monkeypatch.setenv("CS_INSIGHTS_CHURN_MEMORY", "0.2")
    monkeypatch.setenv("FIBER_SENSING_MIN_CONFIDENCE", "0.95")
    monkeypatch.setenv("PIPELINE_INFER_RETRY_BACKOFF_S", "2")
    kpi = build_pipeline("kpi-anomaly", EDGE, ACCEL)
    energy = build_pipeline("energy-saving", EDGE, ACCEL)
    cs = build_pipeline("cs-insights", EDGE, ACCEL)
    fiber = build_pipeline("fiber-sensing", EDGE, ACCEL)
    assert isinstance(kpi, KpiAnomalyPipeline) and isinstance(energy, EnergySavingPipeline)
    assert isinstance(cs, CsInsightsPipeline) and isinstance(fiber, FiberSensingPipeline)
    assert (kpi.incidents.policy.major_score, kpi.incidents.policy.clear_after_normal) == (3.5, 5)
    assert energy.settings.min_sleep_s == 600
    assert (cs.churn.policy.high_from, cs.churn.policy.memory) == (0.8, 0.2)
    assert fiber.alert_policy.min_confidence == 0.95
    assert {p.retry_backoff_s for p in (kpi, energy, cs, fiber)} == {2.0}


@pytest.mark.parametrize(
    ("name", "variable", "value", "message"),
    [
        ("kpi-anomaly", "KPI_ANOMALY_CRITICAL_SCORE", "1.0", "critical_score .* must be at or above major_score"),
        ("cs-insights", "CS_INSIGHTS_CHURN_MEDIUM_FROM", "0.9", "churn_high_from .* must be at or above churn_medium_from"),
        ("fiber-sensing", "FIBER_SENSING_MAX_GAP_CHANNELS", "-1", "max_gap_channels"),
    ],
)
def test_an_out_of_range_policy_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=message):
        build_pipeline(name, EDGE, ACCEL)
