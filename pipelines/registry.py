"""The pipelines this product ships, by the names operators use (`edge pipeline run NAME`)."""

from __future__ import annotations

from collections.abc import Callable

from edge.settings import EdgeSettings
from pipelines.accel_client import AcceleratorClient
from pipelines.base import StreamPipeline
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline

PIPELINES: dict[str, Callable[[EdgeSettings, AcceleratorClient], StreamPipeline]] = {
    "kpi-anomaly": lambda edge, accel: KpiAnomalyPipeline(edge.region, edge.site_id, accel),
}
PLANNED = ("energy-saving", "cs-insights", "fiber-sensing")


def build_pipeline(name: str, edge: EdgeSettings, accel: AcceleratorClient) -> StreamPipeline:
    """The pipeline called `name`.

    Raises:
        KeyError: naming the pipelines that exist.
    """
    factory = PIPELINES.get(name)
    if factory is None:
        raise KeyError(f"unknown pipeline {name!r}; available: {', '.join(sorted(PIPELINES))}")
    return factory(edge, accel)
