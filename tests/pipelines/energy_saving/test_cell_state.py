"""The energy-saving pipeline against a real accelerator keeps history and sleep plans for a
bounded number of cells: beyond its limit the least recently updated cell is dropped (a sleeping
one then wakes when its lease runs out, as after a rebalance), a cell silent for the idle time of
event time expires, and a cell id over the key limit is refused before it costs any state."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson

from pipelines.accel_client import AcceleratorClient
from pipelines.energy_saving.pipeline import EnergySavingPipeline
from pipelines.entity_limits import EntityLimits
from pipelines.outcome import BatchOutcome
from pipelines.records import ConsumedRecord

REGION, SITE = "kr-seoul", "SEL-GN-0042"
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
COUNTERS = {"RRU.PrbTotDl": 30.0, "RRC.ConnMean": 120, "PEE.AvgPower": 500.0}


class Site:
    """Feeds one batch at a time, each sample `(cell, 15-minute periods after T0)`."""

    def __init__(self, pipeline: EnergySavingPipeline) -> None:
        self.pipeline = pipeline
        self.offset = 0

    async def batch(self, *samples: tuple[str, float]) -> BatchOutcome:
        records = []
        for cell, periods in samples:
            ts = (T0 + timedelta(minutes=15 * periods)).isoformat().replace("+00:00", "Z")
            event = {"schema": "ran.cell_kpi.v1", "event_id": f"e-{self.offset}", "region": REGION, "site_id": SITE,
                     "cell_id": cell, "ts": ts, "granularity_s": 900, "counters": COUNTERS}
            records.append(ConsumedRecord(f"{REGION}.ran.kpi", 0, self.offset, cell[:64].encode(), orjson.dumps(event)))
            self.offset += 1
        return await self.pipeline.process(records, asyncio.Event())


async def test_beyond_its_limit_the_least_recently_updated_cell_is_dropped_and_counted(
    client: AcceleratorClient,
) -> None:
    pipeline = EnergySavingPipeline(REGION, SITE, client, entity_limits=EntityLimits(max_entities=2))
    site = Site(pipeline)
    await site.batch(("450-05-1-0", 0), ("450-05-1-1", 0))
    await site.batch(("450-05-1-0", 1))
    assert "450-05-1-1" in pipeline.history and "450-05-1-1" in pipeline.policy
    outcome = await site.batch(("450-05-1-2", 2))
    assert outcome.results == 1 and outcome.dlq == 0
    assert pipeline.entities_held == 2 and pipeline.evictions == {"capacity": 1, "idle": 0}
    assert "450-05-1-1" not in pipeline.history and "450-05-1-1" not in pipeline.policy
    assert "450-05-1-0" in pipeline.history and "450-05-1-2" in pipeline.history and len(pipeline.history) == 2


async def test_a_cell_silent_for_the_idle_time_of_event_time_expires(client: AcceleratorClient) -> None:
    pipeline = EnergySavingPipeline(REGION, SITE, client, entity_limits=EntityLimits(idle_s=3600))
    site = Site(pipeline)
    await site.batch(("450-05-1-0", 0), ("450-05-1-1", 0))
    await site.batch(("450-05-1-1", 4))
    assert pipeline.entities_held == 2 and "450-05-1-0" in pipeline.policy, "an hour of silence is the idle time, not more"
    await site.batch(("450-05-1-1", 5))
    assert "450-05-1-0" not in pipeline.history and "450-05-1-0" not in pipeline.policy
    assert pipeline.evictions == {"capacity": 0, "idle": 1}


async def test_a_cell_id_over_the_key_limit_is_refused_before_it_costs_state(client: AcceleratorClient) -> None:
    pipeline = EnergySavingPipeline(REGION, SITE, client, entity_limits=EntityLimits(max_key_chars=32))
    outcome = await Site(pipeline).batch(("450-05-1-" + "9" * 900_000, 0), ("450-05-1-0", 0))
    assert outcome.dlq_by_reason == {"schema": 1} and outcome.results == 1
    (dlq,) = [orjson.loads(o.value) for o in outcome.outputs if o.topic == f"{REGION}.dlq"]
    assert dlq["detail"].startswith("field 'cell_id' is 900009 characters, the limit is 32")
    assert pipeline.entities_held == len(pipeline.history) == 1
