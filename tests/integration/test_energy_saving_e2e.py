"""End to end against the real broker and a real accelerator process serving `load-forecast`: a
site of co-sited cells reports 15-minute KPIs from midnight to the afternoon, as it happens
(one period at a time). Every event gets one forecast; cells sleep in the night's low-load stretch,
never a whole group, and are woken as the morning load comes; nothing is recommended by day; bad
records go to the DLQ."""

from __future__ import annotations

import asyncio
import base64
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from edge.settings import EdgeSettings
from edge.topics import SiteTopics
from edgectl.broker import create_topics
from edgectl.synthetic.co_sited_cells import CoSitedCells
from edgectl.traffic import encode
from pipelines.accel_client import AcceleratorClient
from pipelines.energy_saving.history import HORIZON, WINDOW
from pipelines.energy_saving.pipeline import EnergySavingPipeline
from pipelines.energy_saving.settings import EnergySavingSettings
from pipelines.main import run_until_stopped
from pipelines.records import ConsumedRecord, InboundRecord
from pipelines.results import result_id
from pipelines.runtime import PipelineRuntime
from pipelines.settings import PipelineSettings

from .kafka_io import committed, produce, read_topic

pytestmark = pytest.mark.integration
TOPICS = SiteTopics("kr-seoul")
FORECASTS = TOPICS.son_forecasts
PERIOD_S = 900
START = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)  # 00:00 in Seoul
PERIODS = 56  # until 14:00 in Seoul
DAYTIME_FROM_H = 11  # by then the load has risen well past the sleep thresholds
SETTINGS = EnergySavingSettings()


def _seoul_hour(text: str) -> float:
    ts = datetime.fromisoformat(text)
    return (ts.hour + 9 + ts.minute / 60) % 24


def _bad_record(kind: str, event: dict[str, Any]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    marker = f"bad-{kind}"
    if kind == "malformed":
        value = b'{"schema": "ran.cell_kpi.v1", "cell_id": '
    elif kind == "schema":
        value = orjson.dumps(dict(event, event_id=marker, granularity_s="15min"))
    else:
        value = orjson.dumps(dict(event, event_id=marker, region="jp-tokyo"))
    return event["cell_id"].encode(), value, [("marker", marker.encode())]


async def test_cells_sleep_through_the_night_and_not_by_day_with_one_forecast_per_event(
    edge_settings: EdgeSettings,
) -> None:
    bootstrap = edge_settings.kafka_bootstrap_servers
    await create_topics(bootstrap, TOPICS.all(), partitions=6)
    site = CoSitedCells("kr-seoul", "SEL-GN-0042", enbs=4, cells_per_enb=3, seed=11, start=START,
                        granularity_s=PERIOD_S)
    good: list[dict[str, Any]] = []
    bad: dict[str, str] = {}
    settings = PipelineSettings(session_timeout_ms=6000, metrics_port=0, max_batch_records=500)
    async with AcceleratorClient(edge_settings, timeout_s=5, attempts=3) as accel:
        runtime = PipelineRuntime(EnergySavingPipeline("kr-seoul", "SEL-GN-0042", accel), edge_settings, settings)
        async with runtime:
            stop = asyncio.Event()
            task = asyncio.create_task(run_until_stopped(runtime, stop, grace_period_s=10))
            loop = asyncio.get_running_loop()
            sent = 0
            for period in range(PERIODS):
                batch = site.next_round()
                records = [encode(e) for e in batch]
                good += [e.event for e in batch]
                if period in (5, 6, 7):
                    kind = ("malformed", "schema", "residency")[period - 5]
                    records.append(_bad_record(kind, batch[0].event))
                    bad[f"bad-{kind}"] = kind
                await produce(bootstrap, TOPICS.kpi, records)
                sent += len(records)
                # One period at a time, as live: the next period's KPIs arrive after this one's.
                until = loop.time() + 30
                while runtime.stats.events_in < sent and loop.time() < until and not task.done():
                    await asyncio.sleep(0.02)
            stop.set()
            await task
    assert runtime.stats.events_in == sent

    forecasts = [orjson.loads(r.value) for r in await read_topic(bootstrap, FORECASTS)]
    by_event = {f["event_id"]: f for f in forecasts}
    assert len(forecasts) == len(good) and set(by_event) == {e["event_id"] for e in good}
    per_cell: dict[str, int] = defaultdict(int)
    for event in good:
        f = by_event[event["event_id"]]
        per_cell[event["cell_id"]] += 1
        assert f["schema"] == "son.load_forecast.v1" and f["model"] == {"name": "load-forecast", "version": "1"}
        assert f["result_id"] == result_id("energy-saving", event["event_id"], "forecast")
        assert (f["cell_id"], f["ts"], f["region"], f["site_id"]) == (event["cell_id"], event["ts"], "kr-seoul", "SEL-GN-0042")
        assert f["history_samples"] == per_cell[event["cell_id"]] and not f["late"]
        assert f["state_rebuilt"] == (per_cell[event["cell_id"]] < WINDOW)
        if f["horizon"]:
            assert len(f["horizon"]) == HORIZON
            first = datetime.fromisoformat(f["horizon"][0]["ts"])
            assert first == datetime.fromisoformat(event["ts"]) + timedelta(seconds=PERIOD_S)
            assert all(0 <= step["RRU.PrbTotDl"] <= 100 and step["RRC.ConnMean"] >= 0 for step in f["horizon"])
    assert sum(1 for f in forecasts if f["horizon"]) > 0.95 * len(forecasts)

    recommendations = [orjson.loads(r.value) for r in await read_topic(bootstrap, TOPICS.son_energy)]
    recommendations.sort(key=lambda r: (r["ts"], r["cell_id"]))
    sleeps = [r for r in recommendations if r["energySavingControl"] == "toBeEnergySaving" and not r["renewal"]]
    assert len({r["cell_id"] for r in sleeps}) >= 4, "the night's low load lets cells of several groups sleep"
    for r in sleeps:
        assert 0 <= _seoul_hour(r["ts"]) < 7, f"sleep recommended by day: {r}"
        assert r["expected_saving_w"] > 0 and r["expected_saving_wh"] > 0
        valid_s = (datetime.fromisoformat(r["valid_until"]) - datetime.fromisoformat(r["valid_from"])).total_seconds()
        assert valid_s >= max(SETTINGS.min_sleep_s, HORIZON * PERIOD_S)
        assert max(r["forecast"]["RRU.PrbTotDl"]) <= SETTINGS.sleep_max_prb_pct
    assert not [r for r in recommendations if _seoul_hour(r["ts"]) >= DAYTIME_FROM_H], "nothing is recommended by day"
    changes = [r for r in recommendations if not r["renewal"]]
    assert runtime.stats.anomalies == len(changes) < len(recommendations), "lease renewals are not counted as actions"

    groups = site.groups
    asleep: dict[str, set[str]] = defaultdict(set)
    for r in recommendations:
        group = next(g for g, cells in groups.items() if r["cell_id"] in cells)
        assert r["neighbour_group"] == group
        assert r["schema"] == "son.energy_recommendation.v1" and r["model"]["name"] == "load-forecast"
        assert r["result_id"] == result_id("energy-saving", r["event_id"], "recommendation")
        assert r["managedObject"].endswith(f"NRCellDU={r['cell_id']}")
        if r["energySavingControl"] == "toBeEnergySaving":
            assert r["absorbing_cells"] and set(r["absorbing_cells"]) <= set(groups[group]) - {r["cell_id"]}
            asleep[group].add(r["cell_id"])
        else:
            assert r["valid_until"] is None and r["reason"] in {"loadRising", "neighbourOverload", "coverage"}
            asleep[group].discard(r["cell_id"])
        assert len(asleep[group]) < len(groups[group]), "never every cell of a group"
    assert not any(asleep.values()), "the morning load woke every sleeping cell"
    assert {r["reason"] for r in recommendations if r["energySavingControl"] == "toBeNotEnergySaving"}

    dlq = [orjson.loads(r.value) for r in await read_topic(bootstrap, TOPICS.dlq)]
    reasons = {}
    for entry in dlq:
        headers = {k: base64.b64decode(v) for k, v in entry["original_headers"]}
        reasons[headers["marker"].decode()] = entry["reason"]
        assert entry["pipeline"] == "energy-saving" and entry["source"]["topic"] == TOPICS.kpi
    assert reasons == bad
    audit = [orjson.loads(r.value) for r in await read_topic(bootstrap, TOPICS.audit)]
    assert [a["action"] for a in audit] == ["refused-event"]

    offsets = await committed(bootstrap, runtime.group_id, TOPICS.kpi)
    assert runtime.group_id == "kr-seoul.energy-saving"
    assert sum(offsets.values()) == sent, "every consumed offset is committed after its outputs"


async def test_after_a_rebalance_the_cells_forecasts_say_their_state_was_rebuilt(accel_port: int) -> None:
    edge = EdgeSettings(region="kr-seoul", site_id="SEL-GN-0042", accel_targets=f"127.0.0.1:{accel_port}")
    site = CoSitedCells("kr-seoul", "SEL-GN-0042", enbs=1, cells_per_enb=3, seed=3, start=START,
                        granularity_s=PERIOD_S, missing_counter_rate=0.0)

    def batch(offset: int) -> list[InboundRecord]:
        return [
            ConsumedRecord(TOPICS.kpi, 2, offset + i, key, value, headers)
            for i, (key, value, headers) in enumerate(encode(e) for e in site.next_round())
        ]

    async with AcceleratorClient(edge, timeout_s=5, attempts=3) as accel:
        pipeline = EnergySavingPipeline("kr-seoul", "SEL-GN-0042", accel)
        for period in range(WINDOW):
            outcome = await pipeline.process(batch(period * 3), asyncio.Event())
        last = [orjson.loads(o.value) for o in outcome.outputs if o.topic == FORECASTS]
        assert all(not f["state_rebuilt"] and f["history_samples"] == WINDOW for f in last)
        pipeline.forget_keys([(TOPICS.kpi, 2)])
        outcome = await pipeline.process(batch(WINDOW * 3), asyncio.Event())
    after = [orjson.loads(o.value) for o in outcome.outputs if o.topic == FORECASTS]
    assert len(after) == 3 and all(f["state_rebuilt"] and f["history_samples"] == 1 for f in after)
    assert all(len(f["horizon"]) == HORIZON for f in after), "a fresh history still forecasts, padded"
    assert not [o for o in outcome.outputs if o.topic == TOPICS.son_energy], "no sleep on a rebuilt history"
