"""The pipelines this product ships, by the names operators use (`edge pipeline run NAME`), each
built from the runtime's settings and its own (read from variables prefixed with its name)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic_settings import BaseSettings

from edge.settings import EdgeSettings
from pipelines.accel_client import AcceleratorClient
from pipelines.base import Pipeline
from pipelines.cs_insights.churn import ChurnPolicy
from pipelines.cs_insights.pipeline import CsInsightsPipeline
from pipelines.cs_insights.settings import CsInsightsSettings
from pipelines.energy_saving.pipeline import EnergySavingPipeline
from pipelines.energy_saving.settings import EnergySavingSettings
from pipelines.entity_limits import EntityLimits
from pipelines.errors import StartupRefused
from pipelines.fiber_sensing.pipeline import FiberSensingPipeline
from pipelines.fiber_sensing.settings import FiberSensingSettings
from pipelines.kpi_anomaly.features import COUNTERS
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.kpi_anomaly.settings import KpiAnomalySettings
from pipelines.settings import PipelineSettings
from pipelines.ves.alarms import VesAlarms
from pipelines.ves.cell_samples import VesCellSamples
from pipelines.ves.settings import VesSettings

CS_INSIGHTS_LIMITS = EntityLimits(max_entities=ChurnPolicy.max_sessions)
"""cs-insights keeps 0.5 KB a session measured (0.75 KB with 256-character ids): 100,000 take
50-75 MiB, within a quarter of its 512 MiB memory request."""

AnyPipeline = Pipeline[Any]


def _site(edge: EdgeSettings, settings: PipelineSettings) -> dict[str, Any]:
    """What every pipeline is built with, from the site's and the runtime's settings."""
    return {"retry_backoff_s": settings.infer_retry_backoff_s, "served_site_ids": edge.served_sites()}


def _reading_ves(pipeline: KpiAnomalyPipeline | EnergySavingPipeline) -> AnyPipeline:
    """A KPI pipeline that also reads the VES topics of `VES_KPI_TOPICS`, if any."""
    return read_ves(pipeline, VesSettings())


def read_ves(pipeline: AnyPipeline, ves: VesSettings) -> AnyPipeline:
    """Have a KPI pipeline (kpi-anomaly, energy-saving) also read the VES topics `ves` names.

    Raises:
        StartupRefused: the cell inventory file cannot be read.
    """
    assert isinstance(pipeline, KpiAnomalyPipeline | EnergySavingPipeline), "only the KPI pipelines read VES"
    topics = ves.topics()
    if topics:
        try:
            inventory = ves.inventory()
        except OSError as exc:
            raise StartupRefused(f"VES_INVENTORY_FILE {ves.inventory_file} cannot be read: {exc.strerror or exc}") from exc
        pipeline.translate(topics, VesCellSamples(
            pipeline.name, pipeline.topics, pipeline.site_id, pipeline.intake, topics, COUNTERS, inventory
        ))
    return pipeline


def _kpi_anomaly(edge: EdgeSettings, accel: AcceleratorClient, settings: PipelineSettings, own: Any) -> AnyPipeline:
    assert isinstance(own, KpiAnomalySettings)
    ves_alarms = None if own.ves_alarms_topic is None else VesAlarms(own.ves_alarms_topic, own.ves_alarm_domain, "kpi-anomaly")
    return _reading_ves(KpiAnomalyPipeline(
        edge.region, edge.site_id, accel, alarm_policy=own.alarm_policy(), ves_alarms=ves_alarms,
        entity_limits=settings.entity_limits(KpiAnomalyPipeline.entity_limits), **_site(edge, settings),
    ))


def _energy_saving(edge: EdgeSettings, accel: AcceleratorClient, settings: PipelineSettings, own: Any) -> AnyPipeline:
    assert isinstance(own, EnergySavingSettings)
    return _reading_ves(EnergySavingPipeline(
        edge.region, edge.site_id, accel, settings=own,
        entity_limits=settings.entity_limits(EnergySavingPipeline.entity_limits), **_site(edge, settings),
    ))


def _cs_insights(edge: EdgeSettings, accel: AcceleratorClient, settings: PipelineSettings, own: Any) -> AnyPipeline:
    assert isinstance(own, CsInsightsSettings)
    return CsInsightsPipeline(
        edge.region, edge.site_id, accel, churn_policy=own.churn_policy(settings.entity_limits(CS_INSIGHTS_LIMITS)),
        settings=own, **_site(edge, settings),
    )


def _fiber_sensing(edge: EdgeSettings, accel: AcceleratorClient, settings: PipelineSettings, own: Any) -> AnyPipeline:
    # Each DAS window is classified on its own: no per-fibre state to bound.
    assert isinstance(own, FiberSensingSettings)
    return FiberSensingPipeline(edge.region, edge.site_id, accel, alert_policy=own.alert_policy(), **_site(edge, settings))


@dataclass(frozen=True)
class ShippedPipeline:
    """How a pipeline is built, and the settings class of its own policies (for `--help`)."""

    build: Callable[[EdgeSettings, AcceleratorClient, PipelineSettings, BaseSettings], AnyPipeline]
    settings: type[BaseSettings]


PIPELINES: dict[str, ShippedPipeline] = {
    "kpi-anomaly": ShippedPipeline(_kpi_anomaly, KpiAnomalySettings),
    "energy-saving": ShippedPipeline(_energy_saving, EnergySavingSettings),
    "cs-insights": ShippedPipeline(_cs_insights, CsInsightsSettings),
    "fiber-sensing": ShippedPipeline(_fiber_sensing, FiberSensingSettings),
}


def shipped_pipeline(name: str) -> ShippedPipeline:
    """The pipeline called `name`.

    Raises:
        KeyError: naming the pipelines that exist.
    """
    shipped = PIPELINES.get(name)
    if shipped is None:
        raise KeyError(f"unknown pipeline {name!r}; available: {', '.join(sorted(PIPELINES))}")
    return shipped


def build_pipeline(
    name: str,
    edge: EdgeSettings,
    accel: AcceleratorClient,
    settings: PipelineSettings | None = None,
    own: BaseSettings | None = None,
) -> AnyPipeline:
    """The pipeline called `name`, built as the runtime's `settings` and its `own` settings say
    (read from the environment when None; a process reads `own` before it connects anywhere).

    Raises:
        KeyError: naming the pipelines that exist.
        StartupRefused: the limits on per-entity state cannot hold one batch.
        pydantic.ValidationError: a setting of the pipeline's own is out of range.
    """
    shipped = shipped_pipeline(name)
    settings = settings if settings is not None else PipelineSettings()
    pipeline = shipped.build(edge, accel, settings, own if own is not None else shipped.settings())
    if settings.state_topic is not None:
        pipeline.use_state_topic(settings.state_topic)
    _check_batch_fits_limits(pipeline, settings)
    return pipeline


def _check_batch_fits_limits(pipeline: AnyPipeline, settings: PipelineSettings) -> None:
    """A batch's cells are all held while it is processed: a limit below the batch size would
    drop most of every batch's state as soon as it was made.

    Raises:
        StartupRefused: naming both settings and their values.
    """
    limits = pipeline.entity_limits
    if limits is None:
        return
    batch_records = settings.max_batch_records or pipeline.batch_records
    if limits.max_entities < batch_records:
        raise StartupRefused(
            f"PIPELINE_MAX_ENTITIES is {limits.max_entities}, below the {batch_records} records of a "
            f"{pipeline.name} batch (PIPELINE_MAX_BATCH_RECORDS): raise it, or lower the batch size"
        )
