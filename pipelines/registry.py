"""The pipelines this product ships, by the names operators use (`edge pipeline run NAME`)."""

from __future__ import annotations

from collections.abc import Callable

from edge.settings import EdgeSettings
from pipelines.accel_client import AcceleratorClient
from pipelines.base import StreamPipeline
from pipelines.cs_insights.churn import ChurnPolicy
from pipelines.cs_insights.pipeline import CsInsightsPipeline
from pipelines.cs_insights.settings import CsInsightsSettings
from pipelines.energy_saving.pipeline import EnergySavingPipeline
from pipelines.energy_saving.settings import EnergySavingSettings
from pipelines.entity_limits import EntityLimits
from pipelines.errors import StartupRefused
from pipelines.fiber_sensing.pipeline import FiberSensingPipeline
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.settings import PipelineSettings

PipelineFactory = Callable[[EdgeSettings, AcceleratorClient, PipelineSettings], StreamPipeline]

CS_INSIGHTS_LIMITS = EntityLimits(max_entities=ChurnPolicy.max_sessions)
"""cs-insights keeps 0.5 KB a session measured (0.75 KB with 256-character ids): 100,000 take
50-75 MiB, within a quarter of its 512 MiB memory request."""


def _cs_insights(edge: EdgeSettings, accel: AcceleratorClient, settings: PipelineSettings) -> CsInsightsPipeline:
    limits = settings.entity_limits(CS_INSIGHTS_LIMITS)
    churn = ChurnPolicy(max_sessions=limits.max_entities, idle_s=limits.idle_s)
    return CsInsightsPipeline(
        edge.region, edge.site_id, accel, churn_policy=churn, settings=CsInsightsSettings(),
        served_site_ids=edge.served_sites(),
    )


PIPELINES: dict[str, PipelineFactory] = {
    "kpi-anomaly": lambda edge, accel, settings: KpiAnomalyPipeline(
        edge.region, edge.site_id, accel, entity_limits=settings.entity_limits(KpiAnomalyPipeline.entity_limits),
        served_site_ids=edge.served_sites(),
    ),
    "energy-saving": lambda edge, accel, settings: EnergySavingPipeline(
        edge.region, edge.site_id, accel, settings=EnergySavingSettings(),
        entity_limits=settings.entity_limits(EnergySavingPipeline.entity_limits), served_site_ids=edge.served_sites(),
    ),
    "cs-insights": _cs_insights,
    # Each DAS window is classified on its own: no per-fibre state to bound.
    "fiber-sensing": lambda edge, accel, settings: FiberSensingPipeline(
        edge.region, edge.site_id, accel, served_site_ids=edge.served_sites()
    ),
}


def build_pipeline(
    name: str, edge: EdgeSettings, accel: AcceleratorClient, settings: PipelineSettings | None = None
) -> StreamPipeline:
    """The pipeline called `name`, its per-entity state bounded as `settings` say (their defaults
    when None).

    Raises:
        KeyError: naming the pipelines that exist.
        StartupRefused: the limits on per-entity state cannot hold one batch.
    """
    factory = PIPELINES.get(name)
    if factory is None:
        raise KeyError(f"unknown pipeline {name!r}; available: {', '.join(sorted(PIPELINES))}")
    settings = settings if settings is not None else PipelineSettings()
    pipeline = factory(edge, accel, settings)
    _check_batch_fits_limits(pipeline, settings)
    return pipeline


def _check_batch_fits_limits(pipeline: StreamPipeline, settings: PipelineSettings) -> None:
    """A batch's cells are all held while it is processed: a limit below the batch size would
    drop most of every batch's state as soon as it was made.

    Raises:
        StartupRefused: naming both settings and their values.
    """
    limits = getattr(pipeline, "entity_limits", None)
    if not isinstance(limits, EntityLimits):
        return
    batch_records = settings.max_batch_records or pipeline.batch_records
    if limits.max_entities < batch_records:
        raise StartupRefused(
            f"PIPELINE_MAX_ENTITIES is {limits.max_entities}, below the {batch_records} records of a "
            f"{pipeline.name} batch (PIPELINE_MAX_BATCH_RECORDS): raise it, or lower the batch size"
        )
