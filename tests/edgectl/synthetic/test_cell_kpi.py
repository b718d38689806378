"""Synthetic cell KPIs behave like a real site: consistent counters, diurnal load, labelled incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edgectl.synthetic.cell_kpi import ANOMALY_KINDS, CellKpiGenerator, diurnal_load


def _rounds(generator: CellKpiGenerator, n: int) -> list:  # type: ignore[type-arg]
    return [e for _ in range(n) for e in generator.next_round()]


def test_every_cell_reports_once_per_period_with_the_envelope() -> None:
    generator = CellKpiGenerator("kr-seoul", "SEL-GN-0042", cells=30, seed=1)
    events = generator.next_round()
    assert len({e.event["cell_id"] for e in events}) == 30
    first = events[0].event
    assert first["schema"] == "ran.cell_kpi.v1" and first["region"] == "kr-seoul"
    assert first["site_id"] == "SEL-GN-0042" and first["ts"].endswith("Z")
    assert len({e.event["event_id"] for e in events}) == 30
    assert generator.next_round()[0].event["ts"] != first["ts"]


def test_successes_never_exceed_attempts_and_values_stay_in_range() -> None:
    events = _rounds(CellKpiGenerator("kr-seoul", "S1", cells=20, seed=2, anomaly_rate=0.05), 200)
    for labelled in events:
        c = labelled.event["counters"]
        for succ, att in [("RRC.ConnEstabSucc", "RRC.ConnEstabAtt"), ("MM.HoExeIntraSucc", "MM.HoExeIntraReq"),
                          ("MM.HoExeInterSucc", "MM.HoExeInterReq")]:
            if succ in c and att in c:
                assert 0 <= c[succ] <= c[att]
        for prb in ("RRU.PrbTotDl", "RRU.PrbTotUl"):
            if prb in c:
                assert 0 <= c[prb] <= 100


def test_throughput_falls_as_prb_use_saturates() -> None:
    events = _rounds(CellKpiGenerator("kr-seoul", "S1", cells=1, seed=3, anomaly_rate=0.0), 1440)
    pairs = [(e.event["counters"].get("RRU.PrbTotDl"), e.event["counters"].get("DRB.UEThpDl")) for e in events]
    pairs = [(p, t) for p, t in pairs if p is not None and t is not None]
    busy = [t for p, t in pairs if p > 45]
    quiet = [t for p, t in pairs if p < 20]
    assert busy and quiet
    assert sum(busy) / len(busy) < sum(quiet) / len(quiet)


def test_load_follows_the_time_of_day() -> None:
    night = datetime(2026, 11, 22, 19, tzinfo=UTC)  # 04:00 in Seoul
    evening = datetime(2026, 11, 22, 12, tzinfo=UTC)  # 21:00 in Seoul
    assert diurnal_load(night) < 0.2
    assert diurnal_load(evening) > 0.7
    assert all(0 < diurnal_load(night + timedelta(hours=h)) <= 1 for h in range(24))


def test_incidents_of_every_kind_are_injected_and_labelled() -> None:
    events = _rounds(CellKpiGenerator("kr-seoul", "S1", cells=50, seed=4, anomaly_rate=0.02), 100)
    kinds = {e.label for e in events}
    assert kinds == set(ANOMALY_KINDS) | {None}
    congested = [e.event["counters"] for e in events if e.label == "congestion"]
    assert all(c.get("RRU.PrbTotDl", 100) >= 97 for c in congested)


def test_the_same_seed_gives_the_same_traffic() -> None:
    a = _rounds(CellKpiGenerator("kr-seoul", "S1", cells=5, seed=9), 3)
    b = _rounds(CellKpiGenerator("kr-seoul", "S1", cells=5, seed=9), 3)
    assert [e.event for e in a] == [e.event for e in b]


def test_nonsense_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="cells must be >= 1"):
        CellKpiGenerator("kr-seoul", "S1", cells=0)
    with pytest.raises(ValueError, match=r"anomaly_rate must be within \[0, 1\]"):
        CellKpiGenerator("kr-seoul", "S1", anomaly_rate=2)
