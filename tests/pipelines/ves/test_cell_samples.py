"""The KPI pipelines reading VES: a batch of `perf3gpp` and `measurement` events gives the same
scores and alarms as the same samples sent as `ran.cell_kpi.v1`, beside native records in one
batch; bad VES goes to the DLQ with its reason and the rest of the batch goes on; cells outside
the site's inventory are refused for residency with an audit record."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from edgectl.synthetic.cell_kpi import CellKpiGenerator
from edgectl.synthetic.ves import VesDomain, common_header, ves_events
from pipelines.accel_client import AcceleratorClient
from pipelines.energy_saving.pipeline import EnergySavingPipeline
from pipelines.kpi_anomaly.features import COUNTERS
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.outcome import BatchOutcome
from pipelines.records import ConsumedRecord, InboundRecord
from pipelines.ves.cell_samples import VesCellSamples

REGION, SITE = "kr-seoul", "SEL-GN-0042"
KPI, VES = f"{REGION}.ran.kpi", f"{REGION}.ves.measurements"
# Ids a VES event cannot carry over (its eventId names the sample) and what derives from them.
_IDS = ("event_id", "result_id")


def _rounds(rounds: int, anomaly_rate: float = 0.05) -> list[list[dict[str, Any]]]:
    generator = CellKpiGenerator(REGION, SITE, cells=12, seed=11, anomaly_rate=anomaly_rate)
    return [[e.event for e in generator.next_round()] for _ in range(rounds)]


def _native(rounds: list[list[dict[str, Any]]]) -> list[ConsumedRecord]:
    samples = [s for r in rounds for s in r]
    return [ConsumedRecord(KPI, 0, i, s["cell_id"].encode(), orjson.dumps(s)) for i, s in enumerate(samples)]


def _ves(rounds: list[list[dict[str, Any]]], domain: VesDomain, cells_per_event: int = 5) -> list[ConsumedRecord]:
    events = [e for r in rounds for e in ves_events(r, domain, cells_per_event)]
    return [ConsumedRecord(VES, 0, i, key.encode(), orjson.dumps(event)) for i, (key, event) in enumerate(events)]


def _reading_ves(pipeline: KpiAnomalyPipeline | EnergySavingPipeline, inventory: frozenset[str] | None = None) -> None:
    pipeline.translate([VES], VesCellSamples(
        pipeline.name, pipeline.topics, SITE, pipeline.intake, [VES], COUNTERS, inventory
    ))


def _results(outcomes: list[BatchOutcome], topic: str) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in orjson.loads(o.value).items() if k not in _IDS}
        for outcome in outcomes for o in outcome.outputs if o.topic == topic and o.value is not None
    ]


def _lifecycles(alarms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alarms with each `alarmId` (named after the event that raised it) replaced by its rank:
    the same notifications for the same incidents, each incident's under one id."""
    ranks: dict[str, int] = {}
    return [a | {"alarmId": ranks.setdefault(a["alarmId"], len(ranks))} for a in alarms]


async def _process(pipeline: Any, batches: list[list[ConsumedRecord]]) -> list[BatchOutcome]:
    return [await pipeline.process(batch, asyncio.Event()) for batch in batches]


@pytest.mark.parametrize("domain", ["perf3gpp", "measurement"])
async def test_ves_events_give_the_scores_and_alarms_of_the_same_samples_sent_natively(
    client: AcceleratorClient, domain: VesDomain
) -> None:
    rounds = _rounds(30)
    native = KpiAnomalyPipeline(REGION, SITE, client)
    expected = await _process(native, [_native(rounds[i : i + 5]) for i in range(0, 30, 5)])
    reading = KpiAnomalyPipeline(REGION, SITE, client)
    _reading_ves(reading)
    assert reading.input_topics == [KPI, VES]
    got = await _process(reading, [_ves(rounds[i : i + 5], domain) for i in range(0, 30, 5)])

    assert _results(got, f"{REGION}.ran.kpi-scores") == _results(expected, f"{REGION}.ran.kpi-scores")
    alarms = _lifecycles(_results(got, f"{REGION}.ran.anomalies"))
    assert alarms == _lifecycles(_results(expected, f"{REGION}.ran.anomalies")) and alarms
    assert {a["notificationType"] for a in alarms} >= {"notifyNewAlarm", "notifyClearedAlarm"}
    scores = [orjson.loads(o.value) for o in got[0].outputs if o.topic == f"{REGION}.ran.kpi-scores"]
    assert scores[0]["event_id"].endswith("/" + scores[0]["cell_id"]), "a sample's id is its VES eventId and cell"
    assert sum(o.dlq for o in got) == 0
    assert sum(o.events_in for o in got) == len(ves_events([s for r in rounds for s in r], domain, 5))


async def test_the_energy_saving_pipeline_forecasts_ves_samples_as_native_ones(client: AcceleratorClient) -> None:
    rounds = _rounds(40, anomaly_rate=0)
    expected = await _process(EnergySavingPipeline(REGION, SITE, client), [_native(rounds[i : i + 8]) for i in range(0, 40, 8)])
    reading = EnergySavingPipeline(REGION, SITE, client)
    _reading_ves(reading)
    got = await _process(reading, [_ves(rounds[i : i + 8], "perf3gpp") for i in range(0, 40, 8)])
    forecasts = _results(got, f"{REGION}.son.forecasts")
    assert forecasts == _results(expected, f"{REGION}.son.forecasts") and forecasts


def _bad(header: dict[str, Any] | None = None, **event: Any) -> bytes:
    base = common_header("perf3gpp", "bad-1", SITE, "gNB-1", 1_795_305_600_000_000, 900)
    return orjson.dumps({"event": {"commonEventHeader": (base | (header or {})), **event}})


async def test_bad_ves_goes_to_the_dlq_with_its_reason_and_the_batch_goes_on(client: AcceleratorClient) -> None:
    rounds = _rounds(2)
    good = _ves(rounds, "perf3gpp")
    bad_values = [
        (b"not json", "malformed"),
        (_bad({"sequence": "one"}, perf3gppFields={}), "schema"),  # wrong type in the header
        (orjson.dumps({"event": {"commonEventHeader": {"domain": "perf3gpp"}}}), "schema"),  # header fields missing
        (_bad({"domain": "fault"}, faultFields={}), "schema"),  # a domain without counters
        (_bad({"domain": "perf3gpp"}, perf3gppFields={"perf3gppFieldsVersion": "1.0", "measDataCollection": {
            "granularityPeriod": 900, "measuredEntityDn": "x", "measInfoList": [{"measTypes": {"sMeasTypesList": ["a"]},
            "measValuesList": [{"measObjInstId": "c", "measResults": [{"p": 9, "sValue": "1"}]}]}]}}), "schema"),
    ]
    bad = [ConsumedRecord(VES, 1, 100 + i, b"gNB-1", value) for i, (value, _) in enumerate(bad_values)]
    native = _native(rounds[:1])
    pipeline = KpiAnomalyPipeline(REGION, SITE, client)
    _reading_ves(pipeline)
    batch: list[InboundRecord] = [bad[0], *good[:1], bad[1], *native, bad[2], *good[1:], bad[3], bad[4]]
    outcome = await pipeline.process(batch, asyncio.Event())

    dlq = [orjson.loads(o.value) for o in outcome.outputs if o.topic == f"{REGION}.dlq"]
    assert [(d["source"]["offset"], d["reason"]) for d in dlq] == [(100 + i, r) for i, (_, r) in enumerate(bad_values)]
    assert "sequence" in dlq[1]["detail"] and "domain" in dlq[3]["detail"] and ".p' is 9" in dlq[4]["detail"]
    scored = [orjson.loads(o.value)["cell_id"] for o in outcome.outputs if o.topic == f"{REGION}.ran.kpi-scores"]
    assert len(scored) == 12 * 3, "every good VES sample and every native one is scored"
    assert outcome.events_in == len(batch)


async def test_cells_outside_the_inventory_are_refused_for_residency_and_the_others_scored(
    client: AcceleratorClient,
) -> None:
    [round_] = _rounds(1)
    cells = [s["cell_id"] for s in round_]
    pipeline = KpiAnomalyPipeline(REGION, SITE, client)
    _reading_ves(pipeline, inventory=frozenset(cells[:8]))
    outcome = await pipeline.process(_ves([round_], "perf3gpp", cells_per_event=12), asyncio.Event())

    scored = {orjson.loads(o.value)["cell_id"] for o in outcome.outputs if o.topic == f"{REGION}.ran.kpi-scores"}
    assert scored == set(cells[:8])
    dlq = [orjson.loads(o.value) for o in outcome.outputs if o.topic == f"{REGION}.dlq"]
    assert [d["reason"] for d in dlq] == ["residency"] and "4 measured cell(s)" in dlq[0]["detail"]
    audit = [orjson.loads(o.value) for o in outcome.outputs if o.topic == f"{REGION}.audit"]
    assert len(audit) == 1 and audit[0]["action"] == "refused-event"


async def test_a_batch_that_expands_past_one_request_is_inferred_in_several_and_scored_alike(
    client: AcceleratorClient,
) -> None:
    """A 1 MiB VES event may hold thousands of cells: a batch of such events is more rows than
    the model takes in one request, so it is sent in several, its scores as if in one."""
    rounds = _rounds(10)
    whole = KpiAnomalyPipeline(REGION, SITE, client)
    _reading_ves(whole)
    split = KpiAnomalyPipeline(REGION, SITE, client)
    split.max_request_rows = 7  # 120 samples, 12 cells an event: 18 requests, the last one short
    _reading_ves(split)
    records = _ves(rounds, "perf3gpp", cells_per_event=12)
    expected = await whole.process(records, asyncio.Event())
    got = await split.process(records, asyncio.Event())
    scores = _results([got], f"{REGION}.ran.kpi-scores")
    assert len(scores) == 120 and got.dlq == 0
    assert [s["cell_id"] for s in scores] == [s["cell_id"] for s in _results([expected], f"{REGION}.ran.kpi-scores")]
    assert [s["score"] for s in scores] == pytest.approx(
        [s["score"] for s in _results([expected], f"{REGION}.ran.kpi-scores")], rel=1e-5
    )
