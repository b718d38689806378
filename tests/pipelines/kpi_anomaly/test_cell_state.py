"""The KPI anomaly pipeline against a real accelerator keeps state for a bounded number of cells:
beyond its limit it drops the least recently updated cell, a cell silent for the idle time (of
event time) expires, forged timestamps expire nothing, and a dropped cell's open incident goes
with it. A dropped cell that comes back starts a fresh window, as after a rebalance."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson

from pipelines.accel_client import AcceleratorClient
from pipelines.entity_limits import EntityLimits
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.records import ConsumedRecord

REGION, SITE = "kr-seoul", "SEL-GN-0042"
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
NORMAL = {
    "RRU.PrbTotDl": 40.0, "RRU.PrbTotUl": 18.0, "DRB.UEThpDl": 150_000.0, "DRB.UEThpUl": 21_000.0,
    "DRB.AirIfDelayDl": 4.0, "RRC.ConnMean": 180, "RRC.ConnEstabAtt": 5200, "RRC.ConnEstabSucc": 5170,
    "MM.HoExeIntraReq": 800, "MM.HoExeIntraSucc": 792, "MM.HoExeInterReq": 230, "MM.HoExeInterSucc": 225,
    "PEE.AvgPower": 600.0,
}
OUTAGE = NORMAL | {
    "RRU.PrbTotDl": 1.0, "RRU.PrbTotUl": 0.4, "DRB.UEThpDl": 900.0, "DRB.UEThpUl": 100.0, "RRC.ConnMean": 3,
    "RRC.ConnEstabSucc": 1500, "MM.HoExeIntraSucc": 300,
}


class Site:
    """Feeds one batch at a time, each sample `(cell, minutes after T0)`, all with `counters`."""

    def __init__(self, pipeline: KpiAnomalyPipeline) -> None:
        self.pipeline = pipeline
        self.offset = 0

    async def batch(self, *samples: tuple[str, float], counters: dict[str, float] = NORMAL) -> list[dict[str, object]]:
        records = []
        for cell, minutes in samples:
            ts = (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
            event = {"schema": "ran.cell_kpi.v1", "event_id": f"e-{self.offset}", "region": REGION, "site_id": SITE,
                     "cell_id": cell, "ts": ts, "granularity_s": 60, "counters": counters}
            records.append(ConsumedRecord(f"{REGION}.ran.kpi", 0, self.offset, cell.encode(), orjson.dumps(event)))
            self.offset += 1
        outcome = await self.pipeline.process(records, asyncio.Event())
        assert outcome.dlq == 0
        return [orjson.loads(o.value) for o in outcome.outputs if o.topic == f"{REGION}.ran.kpi-scores"]


async def test_beyond_its_limit_the_least_recently_updated_cell_is_dropped_and_counted(
    client: AcceleratorClient,
) -> None:
    pipeline = KpiAnomalyPipeline(REGION, SITE, client, entity_limits=EntityLimits(max_entities=2))
    site = Site(pipeline)
    await site.batch(("a", 0), ("b", 0))
    await site.batch(("a", 1))
    await site.batch(("c", 2))
    assert pipeline.entities_held == 2 and pipeline.evictions == {"capacity": 1, "idle": 0}
    assert (pipeline.windows.history("a"), pipeline.windows.history("b"), pipeline.windows.history("c")) == (2, 0, 1)
    (score,) = await site.batch(("b", 3))
    assert score["window_samples"] == 0 and score["state_rebuilt"] is True, "b starts afresh"
    assert pipeline.windows.history("a") == 0 and pipeline.evictions["capacity"] == 2
    assert len(pipeline.windows) == pipeline.entities_held == 2


async def test_a_cell_silent_for_the_idle_time_of_event_time_expires(client: AcceleratorClient) -> None:
    pipeline = KpiAnomalyPipeline(REGION, SITE, client, entity_limits=EntityLimits(idle_s=600))
    site = Site(pipeline)
    await site.batch(("quiet", 0), ("busy", 0))
    await site.batch(("busy", 5))
    await site.batch(("busy", 10))
    assert pipeline.entities_held == 2, "ten minutes of silence is the idle time, not more"
    await site.batch(("busy", 11))
    assert pipeline.windows.history("quiet") == 0 and pipeline.windows.history("busy") == 4
    assert pipeline.evictions == {"capacity": 0, "idle": 1}


async def test_forged_timestamps_in_a_batch_expire_no_cell(client: AcceleratorClient) -> None:
    pipeline = KpiAnomalyPipeline(REGION, SITE, client, entity_limits=EntityLimits(idle_s=600))
    site = Site(pipeline)
    await site.batch(("held", 0))
    far_future = (datetime(9999, 12, 31, tzinfo=UTC) - T0).total_seconds() / 60
    await site.batch(("x", 1), ("y", 1), ("z", far_future))
    await site.batch(("w", 2))
    assert pipeline.windows.history("held") == 1 and pipeline.evictions["idle"] == 0


async def test_a_cell_with_an_open_alarm_outlives_newer_cells_under_the_limit_and_its_alarm_clears(
    client: AcceleratorClient,
) -> None:
    """Dropping a cell with an open alarm would leave the alarm on the OSS list for ever: the
    limits drop cells without one first."""
    pipeline = KpiAnomalyPipeline(REGION, SITE, client, entity_limits=EntityLimits(max_entities=2))
    site = Site(pipeline)
    for minute in range(4):
        await site.batch(("sick", minute))
    (score,) = await site.batch(("sick", 4), counters=OUTAGE)
    assert score["is_anomaly"] is True
    await site.batch(("other-1", 5), ("other-2", 5))
    await site.batch(("other-1", 6))
    assert pipeline.incidents.open_incident("sick") is not None and "sick" in pipeline.windows
    assert pipeline.entities_held == 2 and pipeline.evictions["capacity"] == 1


async def test_no_more_than_half_the_limit_is_spared_for_open_alarms(client: AcceleratorClient) -> None:
    """A flood of hostile cells that all raise alarms cannot grow the state past its limit."""
    pipeline = KpiAnomalyPipeline(REGION, SITE, client, entity_limits=EntityLimits(max_entities=2))
    site = Site(pipeline)
    for cell in ("sick-1", "sick-2"):
        for minute in range(4):
            await site.batch((cell, minute))
        await site.batch((cell, 4), counters=OUTAGE)
    assert pipeline.incidents.open_cells() == {"sick-1", "sick-2"}
    await site.batch(("other", 5))
    assert pipeline.entities_held == 2 and len(pipeline.incidents.open_cells()) == 1