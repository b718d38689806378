"""The pipelines this product ships, by the names operators use (`edge pipeline run NAME`)."""

from __future__ import annotations

from collections.abc import Callable

from edge.settings import EdgeSettings
from pipelines.accel_client import AcceleratorClient
from pipelines.base import StreamPipeline
from pipelines.cs_insights.pipeline import CsInsightsPipeline
from pipelines.cs_insights.settings import CsInsightsSettings
from pipelines.energy_saving.pipeline import EnergySavingPipeline
from pipelines.energy_saving.settings import EnergySavingSettings
from pipelines.fiber_sensing.pipeline import FiberSensingPipeline
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline

PipelineFactory = Callable[[EdgeSettings, AcceleratorClient], StreamPipeline]

PIPELINES: dict[str, PipelineFactory] = {
    "kpi-anomaly": lambda edge, accel: KpiAnomalyPipeline(
        edge.region, edge.site_id, accel, served_site_ids=edge.served_sites()
    ),
    "energy-saving": lambda edge, accel: EnergySavingPipeline(
        edge.region, edge.site_id, accel, settings=EnergySavingSettings(), served_site_ids=edge.served_sites()
    ),
    "cs-insights": lambda edge, accel: CsInsightsPipeline(
        edge.region, edge.site_id, accel, settings=CsInsightsSettings(), served_site_ids=edge.served_sites()
    ),
    "fiber-sensing": lambda edge, accel: FiberSensingPipeline(
        edge.region, edge.site_id, accel, served_site_ids=edge.served_sites()
    ),
}


def build_pipeline(name: str, edge: EdgeSettings, accel: AcceleratorClient) -> StreamPipeline:
    """The pipeline called `name`.

    Raises:
        KeyError: naming the pipelines that exist.
    """
    factory = PIPELINES.get(name)
    if factory is None:
        raise KeyError(f"unknown pipeline {name!r}; available: {', '.join(sorted(PIPELINES))}")
    return factory(edge, accel)
