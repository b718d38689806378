"""The KPI anomaly pipeline's per-entity state through its changelog: a replica that restores what
another wrote goes on as if nothing had happened (same scores, same window lengths, the same alarm
cleared with the same `alarmId`), evicted cells leave tombstones, the open-alarm list follows each
alarm's life, and state of a version this release cannot read is refused with a clear message."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest

from pipelines.accel_client import AcceleratorClient
from pipelines.entity_limits import EntityLimits
from pipelines.errors import StateRefused
from pipelines.kpi_anomaly.features import N_KPIS, CellWindows
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.outcome import BatchOutcome
from pipelines.records import ConsumedRecord
from pipelines.restore import hold_restored
from pipelines.state_data import packed
from tests.pipelines.changelog_replay import latest_changelog

from .test_cell_state import NORMAL, OUTAGE

REGION, SITE = "kr-seoul", "SEL-GN-0042"
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
STATE, SCORES, OPEN = f"{REGION}.state.kpi-anomaly", f"{REGION}.ran.kpi-scores", f"{REGION}.ran.alarms-open"


def _records(first_offset: int, minute: int, samples: dict[str, dict[str, float]]) -> list[ConsumedRecord]:
    ts = (T0 + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")
    records = []
    for i, (cell, counters) in enumerate(samples.items()):
        event = {"schema": "ran.cell_kpi.v1", "event_id": f"e-{first_offset + i}", "region": REGION, "site_id": SITE,
                 "cell_id": cell, "ts": ts, "granularity_s": 60, "counters": counters}
        partition = int(cell[-1]) % 2
        records.append(ConsumedRecord(f"{REGION}.ran.kpi", partition, first_offset + i, cell.encode(), orjson.dumps(event)))
    return records


def _traffic() -> list[list[ConsumedRecord]]:
    """Ten minutes of four cells; cell-1 goes down in minutes 6 and 7 and recovers."""
    batches, offset = [], 0
    for minute in range(10):
        samples = {f"cell-{c}": NORMAL | {"RRC.ConnMean": 150 + 10 * c + minute} for c in range(4)}
        if minute in (6, 7):
            samples["cell-1"] = OUTAGE
        batches.append(_records(offset, minute, samples))
        offset += len(samples)
    return batches


def _scores(outcome: BatchOutcome) -> list[tuple[str, float, int]]:
    bodies = [orjson.loads(o.value) for o in outcome.outputs if o.topic == SCORES and o.value is not None]
    return [(b["cell_id"], b["score"], b["window_samples"]) for b in bodies]


def _alarms(outcome: BatchOutcome) -> list[tuple[str, str]]:
    bodies = [orjson.loads(o.value) for o in outcome.outputs if o.topic == f"{REGION}.ran.anomalies" and o.value]
    return [(b["notificationType"], b["alarmId"]) for b in bodies]


async def test_a_replica_that_restores_the_changelog_scores_and_clears_alarms_as_an_uninterrupted_one(
    client: AcceleratorClient,
) -> None:
    batches = _traffic()
    uninterrupted = KpiAnomalyPipeline(REGION, SITE, client)
    expected = [await uninterrupted.process(b, asyncio.Event()) for b in batches]
    raised = [a for o in expected for a in _alarms(o) if a[0] == "notifyNewAlarm"]
    cleared = [a for o in expected for a in _alarms(o) if a[0] == "notifyClearedAlarm"]
    assert len(raised) == 1 and len(cleared) == 1 and raised[0][1] == cleared[0][1], "the traffic raises and clears one alarm"

    crashed = KpiAnomalyPipeline(REGION, SITE, client)
    before = [await crashed.process(b, asyncio.Event()) for b in batches[:7]]  # the alarm is open now
    assert crashed.incidents.open_incident("cell-1") is not None

    successor = KpiAnomalyPipeline(REGION, SITE, client)
    assert hold_restored(successor, STATE, latest_changelog(before, STATE)) == 4
    assert successor.entities_held == 4
    after = [await successor.process(b, asyncio.Event()) for b in batches[7:]]

    assert [_scores(o) for o in after] == [_scores(o) for o in expected[7:]]
    assert all(samples > 0 for o in after for _, _, samples in _scores(o)), "no score says its state was rebuilt"
    assert [_alarms(o) for o in after] == [_alarms(o) for o in expected[7:]]


async def test_the_open_alarm_list_holds_an_alarm_while_it_is_open_and_a_tombstone_once_it_clears(
    client: AcceleratorClient,
) -> None:
    pipeline = KpiAnomalyPipeline(REGION, SITE, client)
    opened: dict[bytes | None, bytes | None] = {}
    for batch in _traffic():
        outcome = await pipeline.process(batch, asyncio.Event())
        for o in outcome.outputs:
            if o.topic == OPEN:
                opened[o.key] = o.value
        if pipeline.incidents.open_incident("cell-1") is not None:
            incident = pipeline.incidents.open_incident("cell-1")
            assert incident is not None
            live = {k: v for k, v in opened.items() if v is not None}
            assert list(live) == [incident.alarm_id.encode()]
            assert orjson.loads(live[incident.alarm_id.encode()])["cell_id"] == "cell-1"
    assert len(opened) == 1 and next(iter(opened.values())) is None, "cleared: a tombstone"


async def test_cells_the_limits_evict_leave_a_tombstone_and_are_not_restored(client: AcceleratorClient) -> None:
    pipeline = KpiAnomalyPipeline(REGION, SITE, client, entity_limits=EntityLimits(max_entities=2))
    outcomes = [await pipeline.process(b, asyncio.Event()) for b in _records_per_cell()]
    latest = latest_changelog(outcomes, STATE)
    tombstones = sorted(key for (_, key), (_, value) in latest.items() if value is None)
    assert tombstones == [b"cell-0", b"cell-1"]
    successor = KpiAnomalyPipeline(REGION, SITE, client)
    assert hold_restored(successor, STATE, latest) == 2
    assert sorted(successor.windows) == ["cell-2", "cell-3"]


def _records_per_cell() -> list[list[ConsumedRecord]]:
    return [_records(10 * c, c, {f"cell-{c}": NORMAL}) for c in range(4)]


async def test_state_of_a_newer_version_is_refused_naming_where_and_what_to_do(client: AcceleratorClient) -> None:
    writer = KpiAnomalyPipeline(REGION, SITE, client)
    outcome = await writer.process(_records(0, 0, {"cell-0": NORMAL}), asyncio.Event())
    [record] = [o for o in outcome.outputs if o.topic == STATE]
    assert record.value is not None
    newer = orjson.loads(record.value) | {"version": 2}
    with pytest.raises(StateRefused, match=r"state\.kpi-anomaly\[0\] at offset 7: state version 2 of kpi-anomaly; "
                       r"this release reads versions 1 to 1; it was written by a newer release"):
        hold_restored(KpiAnomalyPipeline(REGION, SITE, client), STATE, {(0, b"cell-0"): (7, orjson.dumps(newer))})
    broken = orjson.loads(record.value)
    broken["state"]["window"]["rows"] = "AAAA"
    with pytest.raises(StateRefused, match="not readable") as refused:
        hold_restored(KpiAnomalyPipeline(REGION, SITE, client), STATE, {(0, b"cell-0"): (7, orjson.dumps(broken))})
    assert "cell-0" not in str(refused.value), "the entity's key is never quoted"
    with pytest.raises(StateRefused, match="not a state record of kpi-anomaly"):
        hold_restored(KpiAnomalyPipeline(REGION, SITE, client), STATE, {(0, b"cell-0"): (7, b"[1, 2]")})


@pytest.mark.parametrize("samples", [1, 5, 12, 30])
def test_a_window_reads_back_bit_for_bit_from_every_snapshot_form(samples: int) -> None:
    """`snapshot` and a batch's `snapshots` write the filled rows, and earlier releases wrote a
    batch's windows as every ring row: `load` reads them all into the same ring, NaN included, so
    the features that follow are the same."""
    rng = np.random.default_rng(samples)
    windows = CellWindows()
    for _ in range(samples):
        kpis = rng.normal(size=(1, N_KPIS))
        kpis[0, rng.integers(N_KPIS)] = np.nan  # a missing counter
        windows.features(["cell-0"], kpis, np.zeros((1, 2)))
    whole_ring = {"samples": samples, "rows": packed(windows._values[windows._index["cell-0"]], "<f8")}
    forms = [windows.snapshot("cell-0"), orjson.loads(orjson.dumps(windows.snapshots(["cell-0"])[0].fragment())), whole_ring]
    probe = rng.normal(size=(1, N_KPIS))
    expected, expected_history = windows.features(["cell-0"], probe, np.zeros((1, 2)))
    assert expected_history.tolist() == [min(samples, 12)]
    for form in forms:
        assert form is not None
        restored = CellWindows()
        restored.load("cell-0", orjson.loads(orjson.dumps(form)))
        got, history = restored.features(["cell-0"], probe, np.zeros((1, 2)))
        assert history.tolist() == expected_history.tolist()
        assert got.tobytes() == expected.tobytes()


def test_a_batchs_snapshot_keeps_the_window_as_it_stood_after_that_batch() -> None:
    """The changelog of a batch is written after later batches have moved the windows on (the
    commit interval): what it writes is the window as that batch left it."""
    windows = CellWindows()
    rng = np.random.default_rng(3)
    for _ in range(4):
        windows.features(["cell-0", "cell-1"], rng.normal(size=(2, N_KPIS)), np.zeros((2, 2)))
    then = [windows.snapshot("cell-0"), windows.snapshot("cell-1")]
    kept = windows.snapshots(["cell-0", "cell-1"])
    for _ in range(20):
        windows.features(["cell-0", "cell-1"], rng.normal(size=(2, N_KPIS)), np.zeros((2, 2)))
    assert [orjson.loads(orjson.dumps(k.fragment())) for k in kept] == then
    assert windows.snapshot("cell-0") != then[0]
