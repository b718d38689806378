"""The energy-saving pipeline's front door: bad KPI events go to the DLQ with their reason (via the
shared intake) before anything is forecast, and moved partitions take their cells' state along."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from edge.settings import EdgeSettings
from edgectl.synthetic.cell_kpi import CellKpiGenerator
from pipelines.accel_client import AcceleratorClient
from pipelines.energy_saving.pipeline import EnergySavingPipeline
from pipelines.records import ConsumedRecord, InboundRecord

TOPIC = "kr-seoul.ran.kpi"


def _pipeline() -> EnergySavingPipeline:
    edge = EdgeSettings(region="kr-seoul", site_id="SEL-GN-0042", accel_targets="127.0.0.1:1")
    # Never started: every record of these tests is refused before inference.
    return EnergySavingPipeline("kr-seoul", "SEL-GN-0042", AcceleratorClient(edge, timeout_s=1, attempts=1))


def _event(**changes: object) -> dict[str, object]:
    event = CellKpiGenerator("kr-seoul", "SEL-GN-0042", cells=1, seed=3).next_round()[0].event
    return dict(event, **changes)


def _record(offset: int, value: bytes) -> InboundRecord:
    return ConsumedRecord(TOPIC, 0, offset, b"cell", value)


@pytest.mark.parametrize(
    ("value", "reason", "detail"),
    [
        (b'{"schema": "ran.cell_kpi.v1", "event_id": ', "malformed", "JSON"),
        (orjson.dumps(_event(cell_id="")), "schema", "cell_id"),
        (orjson.dumps(_event(counters=[1, 2])), "schema", "counters"),
        (orjson.dumps(_event(granularity_s=0)), "schema", "granularity_s"),
        (orjson.dumps(_event(granularity_s=True)), "schema", "granularity_s"),
        (orjson.dumps({k: v for k, v in _event().items() if k != "granularity_s"}), "schema", "granularity_s"),
        (orjson.dumps(_event(ts="yesterday")), "schema", "ts"),
        (orjson.dumps(_event(region="jp-tokyo")), "residency", "not this site's region 'kr-seoul'"),
    ],
    ids=["truncated", "no-cell", "counters-list", "zero-period", "bool-period", "no-period", "bad-ts", "foreign"],
)
async def test_bad_events_go_to_the_dlq_with_their_reason(value: bytes, reason: str, detail: str) -> None:
    pipeline = _pipeline()
    outcome = await pipeline.process([_record(5, value)], asyncio.Event())
    assert outcome.dlq == 1 and outcome.results == 0 and outcome.dlq_by_reason == {reason: 1}
    dlq = [orjson.loads(o.value) for o in outcome.outputs if o.topic == "kr-seoul.dlq"]
    assert dlq[0]["pipeline"] == "energy-saving" and dlq[0]["reason"] == reason and detail in dlq[0]["detail"]
    assert dlq[0]["source"] == {"topic": TOPIC, "partition": 0, "offset": 5}
    audits = [o for o in outcome.outputs if o.topic == "kr-seoul.audit"]
    assert len(audits) == (reason == "residency")
    assert len(pipeline.history) == 0, "refused events leave no state"


def test_the_pipeline_reads_the_kpi_stream_and_writes_only_in_region_topics() -> None:
    pipeline = _pipeline()
    assert pipeline.name == "energy-saving" and pipeline.input_topics == ["kr-seoul.ran.kpi"]
    assert set(pipeline.output_topics) == {
        "kr-seoul.son.energy", "kr-seoul.son.forecasts", "kr-seoul.dlq", "kr-seoul.audit",
    }

