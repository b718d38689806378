"""Synthetic cell-KPI events (`ran.cell_kpi.v1`): many cells per site, diurnal load, counters that
agree with each other, and labelled injected incidents (outage, congestion, handover failure
storm, power spike)."""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from edgectl.synthetic import LabelledEvent
from pipelines.cell_kpi import SCHEMA
from pipelines.results import rfc3339

__all__ = ["ANOMALY_KINDS", "SCHEMA", "CellKpiGenerator", "rfc3339"]

ANOMALY_KINDS = ("outage", "congestion", "ho_failure_storm", "power_spike")


@dataclass
class _Cell:
    cell_id: str
    peak_prb_pct: float
    peak_users: float
    base_thp_kbps: float
    idle_power_w: float
    load_power_w: float
    ho_per_user: float
    noise_state: float = 0.0
    incident: str | None = None
    incident_left: int = 0


class CellKpiGenerator:
    """One KPI sample per cell per period, time advancing `granularity_s` per round.

    Example: `CellKpiGenerator("kr-seoul", "SEL-GN-0042", cells=50, seed=7).next_round()` gives
    50 labelled events for the first period.

    Args:
        anomaly_rate: chance per cell and period that an incident starts (incidents last 3-8 periods).
        missing_counter_rate: chance that any one counter is absent from a sample.
    """

    def __init__(
        self,
        region: str,
        site_id: str,
        *,
        cells: int = 50,
        seed: int = 0,
        start: datetime | None = None,
        granularity_s: int = 60,
        anomaly_rate: float = 0.004,
        missing_counter_rate: float = 0.01,
    ) -> None:
        if cells < 1:
            raise ValueError(f"cells must be >= 1, got {cells}")
        if not 0 <= anomaly_rate <= 1:
            raise ValueError(f"anomaly_rate must be within [0, 1], got {anomaly_rate}")
        self.region = region
        self.site_id = site_id
        self.granularity_s = granularity_s
        self.anomaly_rate = anomaly_rate
        self.missing_counter_rate = missing_counter_rate
        self._rng = random.Random(seed)
        self.now = start or datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
        rng = self._rng
        enb = rng.randrange(100_000, 999_999)
        self.cells = [
            _Cell(
                cell_id=f"450-05-{enb}-{i + 1}",
                peak_prb_pct=rng.uniform(35, 80),
                peak_users=rng.uniform(80, 400),
                base_thp_kbps=rng.uniform(90_000, 250_000),
                idle_power_w=rng.uniform(250, 400),
                load_power_w=rng.uniform(250, 500),
                ho_per_user=rng.uniform(2.0, 6.0),
            )
            for i in range(cells)
        ]

    def next_round(self) -> list[LabelledEvent]:
        """One sample for every cell, then advance the clock by one period."""
        load = diurnal_load(self.now)
        out = [self._sample(cell, load) for cell in self.cells]
        self.now += timedelta(seconds=self.granularity_s)
        return out

    def _sample(self, cell: _Cell, load: float) -> LabelledEvent:
        rng = self._rng
        if cell.incident is None and rng.random() < self.anomaly_rate:
            cell.incident = rng.choice(ANOMALY_KINDS)
            cell.incident_left = rng.randint(3, 8)
        # Slow per-cell wander plus fast noise, so neighbouring periods look alike.
        cell.noise_state = 0.8 * cell.noise_state + rng.gauss(0, 0.05)
        cell_load = max(0.02, load * (1 + cell.noise_state) * rng.uniform(0.95, 1.05))

        prb_dl = min(99.0, cell.peak_prb_pct * cell_load * rng.uniform(0.95, 1.05))
        users = cell.peak_users * cell_load * rng.uniform(0.9, 1.1)
        sat = prb_dl / 100.0
        thp_dl = cell.base_thp_kbps * (1 - 0.75 * sat**2) * rng.uniform(0.9, 1.1)
        delay = 2.0 + 12.0 * sat**3 * rng.uniform(0.8, 1.2)
        rrc_sr = min(1.0, rng.gauss(0.993, 0.003))
        ho_intra_sr = min(1.0, rng.gauss(0.988, 0.004))
        ho_inter_sr = min(1.0, rng.gauss(0.975, 0.006))
        ho_scale = 1.0
        power = cell.idle_power_w + cell.load_power_w * sat * rng.uniform(0.95, 1.05)

        kind = cell.incident
        if kind == "outage":
            users *= rng.uniform(0.0, 0.08)
            prb_dl = rng.uniform(0.5, 3.0)
            thp_dl *= rng.uniform(0.0, 0.1)
            rrc_sr = rng.uniform(0.1, 0.6)
            ho_intra_sr = rng.uniform(0.2, 0.7)
        elif kind == "congestion":
            prb_dl = rng.uniform(97.0, 100.0)
            users *= rng.uniform(1.4, 2.0)
            thp_dl = cell.base_thp_kbps * rng.uniform(0.08, 0.2)
            delay = rng.uniform(35.0, 90.0)
            rrc_sr = rng.uniform(0.82, 0.93)
        elif kind == "ho_failure_storm":
            ho_intra_sr = rng.uniform(0.45, 0.8)
            ho_inter_sr = rng.uniform(0.3, 0.7)
            ho_scale = rng.uniform(2.0, 4.0)
        elif kind == "power_spike":
            power *= rng.uniform(1.8, 2.6)
        if kind is not None:
            cell.incident_left -= 1
            if cell.incident_left <= 0:
                cell.incident = None

        prb_ul = min(100.0, prb_dl * rng.uniform(0.35, 0.55))
        rrc_att = max(1, round(users * rng.uniform(20, 30) + rng.uniform(0, 10)))
        ho_intra_req = max(1, round(users * cell.ho_per_user * ho_scale * rng.uniform(0.9, 1.1)))
        ho_inter_req = max(1, round(ho_intra_req * rng.uniform(0.2, 0.35)))
        counters: dict[str, float | int] = {
            "RRU.PrbTotDl": round(prb_dl, 2),
            "RRU.PrbTotUl": round(prb_ul, 2),
            "DRB.UEThpDl": round(thp_dl, 1),
            "DRB.UEThpUl": round(thp_dl * rng.uniform(0.1, 0.2), 1),
            "DRB.AirIfDelayDl": round(delay, 2),
            "RRC.ConnMean": round(users),
            "RRC.ConnEstabAtt": rrc_att,
            "RRC.ConnEstabSucc": min(rrc_att, round(rrc_att * rrc_sr)),
            "MM.HoExeIntraReq": ho_intra_req,
            "MM.HoExeIntraSucc": min(ho_intra_req, round(ho_intra_req * ho_intra_sr)),
            "MM.HoExeInterReq": ho_inter_req,
            "MM.HoExeInterSucc": min(ho_inter_req, round(ho_inter_req * ho_inter_sr)),
            "PEE.AvgPower": round(power, 1),
        }
        if self.missing_counter_rate > 0:
            counters = {k: v for k, v in counters.items() if rng.random() >= self.missing_counter_rate}
        event = {
            "schema": SCHEMA,
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "region": self.region,
            "site_id": self.site_id,
            "cell_id": cell.cell_id,
            "ts": rfc3339(self.now),
            "granularity_s": self.granularity_s,
            "counters": counters,
        }
        return LabelledEvent(event, cell.cell_id, kind)


def diurnal_load(ts: datetime) -> float:
    """Relative site load by local hour (UTC+9 for Korea): a night trough near 04:00, a daytime
    plateau and an evening peak near 21:00; within (0, 1]."""
    hour = (ts.hour + 9 + ts.minute / 60) % 24
    day = (1 - math.cos(2 * math.pi * (hour - 4) / 24)) / 2
    evening = math.exp(-(((hour - 21) / 2.5) ** 2))
    return 0.12 + 0.68 * day + 0.2 * evening
