"""What the shared pipeline base does the same way for all four pipelines, against a real
accelerator process that serves no models: a batch the accelerator refuses goes to the DLQ
record by record with reason `inference` and the accelerator's message, and nothing else is
published for it; and the per-entity state of a revoked partition is dropped."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable, Iterator

import orjson
import pytest

from edge.settings import EdgeSettings
from edgectl.synthetic import TrafficGenerator
from edgectl.synthetic.cell_kpi import CellKpiGenerator
from edgectl.synthetic.das import DasWindowGenerator
from edgectl.synthetic.utterances import UtteranceGenerator
from edgectl.traffic import encode
from pipelines.accel_client import AcceleratorClient
from pipelines.base import Pipeline
from pipelines.cs_insights.pipeline import CsInsightsPipeline
from pipelines.energy_saving.history import WINDOW
from pipelines.energy_saving.pipeline import EnergySavingPipeline
from pipelines.fiber_sensing.pipeline import FiberSensingPipeline
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.records import ConsumedRecord, InboundRecord

REGION, SITE = "kr-seoul", "SEL-GN-0042"
PipelineClass = Callable[..., Pipeline[object]]

CASES: list[tuple[PipelineClass, str, Callable[[], TrafficGenerator], int]] = [
    # (pipeline, input topic, traffic, rounds in one batch: energy saving asks its model only once
    # a cell's history holds a full window)
    (KpiAnomalyPipeline, f"{REGION}.ran.kpi", lambda: CellKpiGenerator(REGION, SITE, cells=5, seed=1), 1),
    (EnergySavingPipeline, f"{REGION}.ran.kpi", lambda: CellKpiGenerator(REGION, SITE, cells=3, seed=2), WINDOW + 1),
    (CsInsightsPipeline, f"{REGION}.cs.utterances", lambda: UtteranceGenerator(REGION, SITE, sessions=4, seed=3), 1),
    (FiberSensingPipeline, f"{REGION}.fiber.das", lambda: DasWindowGenerator(REGION, SITE, fibers=2, seed=4), 1),
]


@pytest.fixture(scope="module")
def modelless_accel_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real accelerator in region whose model repository is empty: it refuses every request NOT_FOUND."""
    from tests.conftest import _stop, start_accel_process

    tmp = tmp_path_factory.mktemp("modelless")
    (tmp / "models").mkdir()
    process: subprocess.Popen[bytes]
    process, port = start_accel_process(tmp, ACCEL_MODEL_REPOSITORY=str(tmp / "models"))
    try:
        yield port
    finally:
        _stop(process)


def _batch(topic: str, traffic: TrafficGenerator, rounds: int) -> list[InboundRecord]:
    events = [event for _ in range(rounds) for event in traffic.next_round()]
    return [ConsumedRecord(topic, i % 2, i, *encode(event)) for i, event in enumerate(events)]


@pytest.mark.parametrize(("make", "topic", "traffic", "rounds"), CASES, ids=lambda c: getattr(c, "name", ""))
async def test_a_batch_the_accelerator_refuses_goes_to_the_dlq_record_by_record_with_the_reason(
    modelless_accel_port: int, make: PipelineClass, topic: str, traffic: Callable[[], TrafficGenerator], rounds: int,
) -> None:
    settings = EdgeSettings(region=REGION, site_id=SITE, accel_targets=f"127.0.0.1:{modelless_accel_port}")
    async with AcceleratorClient(settings, timeout_s=10, attempts=1) as client:
        pipeline = make(REGION, SITE, client)
        records = _batch(topic, traffic(), rounds)
        outcome = await asyncio.wait_for(pipeline.process(records, asyncio.Event()), 60)

    assert outcome.events_in == len(records) and outcome.results == 0
    assert outcome.dlq == len(records) and outcome.dlq_by_reason == {"inference": len(records)}
    # The state the batch changed still goes to the changelog: its samples are in the windows.
    assert {o.topic for o in outcome.outputs} - {pipeline.state_topic} == {f"{REGION}.dlq"}
    bodies = [orjson.loads(o.value) for o in outcome.outputs if o.topic == f"{REGION}.dlq"]
    assert [(b["source"]["partition"], b["source"]["offset"]) for b in bodies] == [(r.partition, r.offset) for r in records]
    assert all(b["reason"] == "inference" and "NOT_FOUND" in b["detail"] for b in bodies)


async def test_a_revoked_partitions_entities_are_forgotten_and_the_others_kept(client: AcceleratorClient) -> None:
    pipeline = KpiAnomalyPipeline(REGION, SITE, client)
    records = _batch(f"{REGION}.ran.kpi", CellKpiGenerator(REGION, SITE, cells=6, seed=5), 1)
    await pipeline.process(records, asyncio.Event())
    held = pipeline.entities_held
    assert held == 6
    pipeline.forget_keys([(f"{REGION}.ran.kpi", 1)])
    kept = {orjson.loads(r.value or b"{}")["cell_id"] for r in records if r.partition == 0}
    assert pipeline.entities_held == len(kept) == 3
    assert all(pipeline.windows.history(cell) == 1 for cell in kept)


def test_every_shipped_pipeline_is_built_on_the_shared_base() -> None:
    for cls in (KpiAnomalyPipeline, EnergySavingPipeline, CsInsightsPipeline, FiberSensingPipeline):
        assert issubclass(cls, Pipeline)
        assert {"prepare", "infer", "emit"} <= set(vars(cls)), f"{cls.__name__} writes only what is its own"
        assert not {"begin", "process", "forget_keys"} & set(vars(cls)), f"{cls.__name__} repeats the skeleton"
