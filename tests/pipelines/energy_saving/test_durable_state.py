"""The energy-saving pipeline's per-cell state through its changelog: a replica that restores what
another wrote goes on as if nothing had happened (the same forecasts, the same lease renewals and
the same wakes, to the second), a cell whose batch the accelerator refused still has its history
written, evicted cells leave tombstones, and a state record this release cannot read is refused
without quoting the cell."""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from pipelines.accel_client import AcceleratorClient
from pipelines.energy_saving.pipeline import EnergySavingPipeline
from pipelines.entity_limits import EntityLimits
from pipelines.errors import InferenceRejected, StateRefused
from pipelines.outcome import BatchOutcome
from pipelines.records import ConsumedRecord
from pipelines.restore import hold_restored
from tests.pipelines.changelog_replay import latest_changelog

REGION, SITE = "kr-seoul", "SEL-GN-0042"
T0 = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
"""01:00 at the site (UTC+9): the night trough, when cells may sleep."""
STATE, ENERGY, FORECASTS = f"{REGION}.state.energy-saving", f"{REGION}.son.energy", f"{REGION}.son.forecasts"
ANCHOR, SLEEPER, SECOND = "450-05-1193046-1", "450-05-1193046-2", "450-05-1193046-3"
"""Three co-sited cells: the anchor carries the others' users; the other two sleep while quiet."""
PERIODS = 26


def _load(cell: str, period: int) -> tuple[float, float]:
    """PRB percent and users: the anchor busy all night, the others quiet until period 20."""
    if cell == ANCHOR:
        return 30.7, 121.3
    return (45.2, 150.9) if period >= 20 else (4.3, 12.6)


def _records(first_offset: int, period: int, cells: list[str]) -> list[ConsumedRecord]:
    ts = (T0 + timedelta(minutes=15 * period)).isoformat().replace("+00:00", "Z")
    records = []
    for i, cell in enumerate(cells):
        prb, users = _load(cell, period)
        event = {"schema": "ran.cell_kpi.v1", "event_id": f"e-{first_offset + i}", "region": REGION, "site_id": SITE,
                 "cell_id": cell, "ts": ts, "granularity_s": 900,
                 "counters": {"RRU.PrbTotDl": prb, "RRC.ConnMean": users, "PEE.AvgPower": 512.3}}
        partition = int(cell[-1]) % 2
        records.append(ConsumedRecord(f"{REGION}.ran.kpi", partition, first_offset + i, cell.encode(), orjson.dumps(event)))
    return records


def _traffic() -> list[list[ConsumedRecord]]:
    """One batch per 15-minute period of the three cells."""
    cells = [ANCHOR, SLEEPER, SECOND]
    return [_records(len(cells) * period, period, cells) for period in range(PERIODS)]


def _results(outcome: BatchOutcome, topic: str) -> list[dict[str, object]]:
    """The batch's records of `topic`, whole: none of their fields depends on the wall clock."""
    return [orjson.loads(o.value) for o in outcome.outputs if o.topic == topic and o.value is not None]


def _state(outcome: BatchOutcome) -> list[tuple[int | None, bytes | None, bytes | None]]:
    """The batch's changelog records as written."""
    return [(o.partition, o.key, o.value) for o in outcome.outputs if o.topic == STATE]


def _decisions(outcomes: list[BatchOutcome]) -> list[tuple[int, str, str, str, bool]]:
    """(period, cell, control, reason, renewal) of every recommendation."""
    return [
        (period, str(r["cell_id"]), str(r["energySavingControl"]), str(r["reason"]), bool(r["renewal"]))
        for period, outcome in enumerate(outcomes)
        for r in _results(outcome, ENERGY)
    ]


@pytest.fixture
async def uninterrupted(client: AcceleratorClient) -> list[BatchOutcome]:
    """What one replica that runs through the whole night publishes."""
    pipeline = EnergySavingPipeline(REGION, SITE, client)
    return [await pipeline.process(batch, asyncio.Event()) for batch in _traffic()]


async def test_the_traffic_puts_cells_to_sleep_renews_their_leases_and_wakes_them(
    uninterrupted: list[BatchOutcome],
) -> None:
    decisions = _decisions(uninterrupted)
    assert (3, SLEEPER, "toBeEnergySaving", "lowForecastLoad", False) in decisions
    assert (6, SLEEPER, "toBeEnergySaving", "lowForecastLoad", True) in decisions
    assert (21, SECOND, "toBeNotEnergySaving", "neighbourOverload", False) in decisions
    assert (23, SLEEPER, "toBeNotEnergySaving", "loadRising", False) in decisions


@pytest.mark.parametrize(
    "restart",
    [2, 5, 10, 22],
    ids=["before-the-sleep", "before-a-renewal", "between-renewals", "between-the-two-wakes"],
)
async def test_a_replica_that_restores_the_changelog_forecasts_renews_and_wakes_as_an_uninterrupted_one(
    client: AcceleratorClient, uninterrupted: list[BatchOutcome], restart: int
) -> None:
    batches = _traffic()
    crashed = EnergySavingPipeline(REGION, SITE, client)
    before = [await crashed.process(b, asyncio.Event()) for b in batches[:restart]]

    successor = EnergySavingPipeline(REGION, SITE, client)
    assert hold_restored(successor, STATE, latest_changelog(before, STATE)) == 3
    assert successor.entities_held == 3
    assert successor.policy.is_sleeping(SLEEPER) == crashed.policy.is_sleeping(SLEEPER)
    after = [await successor.process(b, asyncio.Event()) for b in batches[restart:]]

    expected = uninterrupted[restart:]
    assert [_results(o, FORECASTS) for o in after] == [_results(o, FORECASTS) for o in expected]
    assert [_results(o, ENERGY) for o in after] == [_results(o, ENERGY) for o in expected]
    assert [_state(o) for o in after] == [_state(o) for o in expected], "histories and plans exact, not just as rounded"
    assert _decisions(after), "a decision crosses the restart"
    first = [r["history_samples"] for r in _results(after[0], FORECASTS)]
    assert first == [restart + 1] * 3, "the histories go on from the crashed replica's, not afresh"


async def test_the_histories_of_a_batch_the_accelerator_refused_are_still_written(client: AcceleratorClient) -> None:
    pipeline = EnergySavingPipeline(REGION, SITE, client)
    for batch in _traffic()[:4]:
        await pipeline.process(batch, asyncio.Event())
    sleeping = pipeline.entity_state(SLEEPER)
    started = pipeline.begin(_traffic()[4], asyncio.Event())
    assert inspect.iscoroutine(started.answer)
    started.answer.close()  # the accelerator's refusal stands in for its answer
    started.finish(InferenceRejected("load-forecast: refused"))

    assert started.outcome.dlq == 3
    changelog = pipeline.changelog(started.outcome.changes)
    written = {o.key: orjson.loads(o.value) for o in changelog if o.topic == STATE and o.value is not None}
    assert set(written) == {ANCHOR.encode(), SLEEPER.encode(), SECOND.encode()}
    state = written[SLEEPER.encode()]["state"]
    assert state["history"]["samples"] == 5, "the refused batch's sample is in the history"
    assert sleeping is not None and state["plan"] == sleeping["plan"], "the plan stands as it was"


async def test_cells_the_limits_evict_leave_a_tombstone_and_are_not_restored(client: AcceleratorClient) -> None:
    pipeline = EnergySavingPipeline(REGION, SITE, client, entity_limits=EntityLimits(max_entities=2))
    cells = ["450-05-1-0", "450-05-1-1", "450-05-1-2", "450-05-1-3"]
    outcomes = [await pipeline.process(_records(10 * i, i, [cell]), asyncio.Event()) for i, cell in enumerate(cells)]
    latest = latest_changelog(outcomes, STATE)
    tombstones = sorted(key for (_, key), (_, value) in latest.items() if value is None)
    assert tombstones == [b"450-05-1-0", b"450-05-1-1"]
    successor = EnergySavingPipeline(REGION, SITE, client)
    assert hold_restored(successor, STATE, latest) == 2
    assert successor.entities_held == 2
    assert "450-05-1-0" not in successor.history and "450-05-1-0" not in successor.policy
    assert "450-05-1-2" in successor.history and "450-05-1-3" in successor.history


async def test_a_state_record_this_release_cannot_read_is_refused_naming_the_field_not_the_cell(
    client: AcceleratorClient,
) -> None:
    writer = EnergySavingPipeline(REGION, SITE, client)
    for batch in _traffic()[:4]:
        outcome = await writer.process(batch, asyncio.Event())
    [record] = [o for o in outcome.outputs if o.topic == STATE and o.key == SLEEPER.encode()]
    assert record.value is not None and orjson.loads(record.value)["state"]["plan"]["sleeping"] is True

    def refusal(section: str, field: str, value: object) -> str:
        broken = orjson.loads(record.value or b"")
        broken["state"][section][field] = value
        changelog = {(0, SLEEPER.encode()): (7, orjson.dumps(broken))}
        with pytest.raises(StateRefused, match="not readable") as refused:
            hold_restored(EnergySavingPipeline(REGION, SITE, client), STATE, changelog)
        message = str(refused.value)
        assert SLEEPER not in message and "1193046" not in message, "the cell is never quoted"
        return message

    assert "`values`" in refusal("history", "values", "AAAA")
    assert "`samples`" in refusal("history", "samples", -1)
    assert "`prb`" in refusal("plan", "prb", "AAAAAAAAAAA="), "a forecast of another horizon"
    assert "`lease_until_s`" in refusal("plan", "lease_until_s", "NaN")
    assert "`sleeping`" in refusal("plan", "sleeping", 1)
    newer = orjson.loads(record.value) | {"version": 2}
    with pytest.raises(StateRefused, match="state version 2 of energy-saving"):
        hold_restored(EnergySavingPipeline(REGION, SITE, client), STATE, {(0, SLEEPER.encode()): (7, orjson.dumps(newer))})
