"""A pipeline's default batch is one inference request its model accepts: a full batch must never
be refused for its size (that would send every event of it to the DLQ)."""

from __future__ import annotations

import json

import pytest

from accel.settings import DEFAULT_MODEL_REPOSITORY
from pipelines.base import BatchPipeline
from pipelines.cs_insights.model import MODEL as CS_MODEL
from pipelines.cs_insights.pipeline import CsInsightsPipeline
from pipelines.energy_saving import pipeline as energy_saving
from pipelines.kpi_anomaly import pipeline as kpi_anomaly


def _max_batch_size(model: str) -> int:
    return int(json.loads((DEFAULT_MODEL_REPOSITORY / model / "config.json").read_text())["max_batch_size"])


@pytest.mark.parametrize(
    ("pipeline", "model"),
    [
        (kpi_anomaly.KpiAnomalyPipeline, kpi_anomaly.MODEL),
        (energy_saving.EnergySavingPipeline, energy_saving.MODEL),
        (CsInsightsPipeline, CS_MODEL),
    ],
)
def test_a_full_default_batch_of_one_row_per_event_fits_one_request(pipeline: type[BatchPipeline], model: str) -> None:
    assert pipeline.batch_records <= _max_batch_size(model)



@pytest.mark.parametrize(
    ("pipeline", "model"),
    [(kpi_anomaly.KpiAnomalyPipeline, kpi_anomaly.MODEL), (energy_saving.EnergySavingPipeline, energy_saving.MODEL)],
)
def test_the_requests_a_batch_read_from_ves_is_split_into_each_fit_the_model(pipeline: type, model: str) -> None:
    assert pipeline.max_request_rows is not None and pipeline.batch_records <= pipeline.max_request_rows
    assert pipeline.max_request_rows <= _max_batch_size(model)
