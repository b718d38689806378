"""Load-forecast data from the synthetic KPI generator, for training the model and for measuring it
against the seasonal-naive and persistence baselines on held-out days."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from edgectl.synthetic.cell_kpi import CellKpiGenerator
from pipelines.energy_saving.history import HORIZON, N_LOADS, LoadHistory, load_values, target_hours

SYNTHETIC_UTC_OFFSET_H = 9.0
"""The synthetic site keeps Korean time (its diurnal load peaks in the local evening)."""


@dataclass
class ForecastSet:
    """One row per generated sample: the model's inputs, what actually followed, and what the
    baselines would have said. Targets and baselines are `[rows, HORIZON, N_LOADS]`, NaN where the
    counter was missing or lies outside the generated days."""

    history: npt.NDArray[np.float32]
    history_hours: npt.NDArray[np.float32]
    target_hours: npt.NDArray[np.float32]
    targets: npt.NDArray[np.float64]
    seasonal_naive: npt.NDArray[np.float64]
    """The same period one day earlier."""
    persistence: npt.NDArray[np.float64]
    """The latest value seen, held flat."""
    ready: npt.NDArray[np.bool_]
    cell: npt.NDArray[np.int64]
    """Which generated cell (0-based) each row belongs to."""
    day: npt.NDArray[np.int64]
    """Day of the run (0 first) the sample falls in; day 0 has no seasonal-naive baseline."""
    granularity_s: int

    def __len__(self) -> int:
        return len(self.ready)

    def inputs(self, rows: npt.NDArray[np.bool_] | None = None) -> dict[str, npt.NDArray[np.float32]]:
        """The model's input tensors (of the selected rows)."""
        sel = slice(None) if rows is None else rows
        return {
            "history": self.history[sel],
            "history_hour": self.history_hours[sel],
            "target_hour": self.target_hours[sel],
        }


def generate_forecast_set(
    *,
    cells: int,
    days: int,
    seed: int,
    granularity_s: int = 900,
    anomaly_rate: float = 0.0,
    missing_counter_rate: float = 0.01,
    start: datetime | None = None,
) -> ForecastSet:
    """Run the generator for `days` whole days and build model rows exactly as the pipeline does."""
    if 86_400 % granularity_s:
        raise ValueError(f"granularity_s must divide a day, got {granularity_s}")
    per_day = 86_400 // granularity_s
    periods = days * per_day
    generator = CellKpiGenerator(
        "kr-seoul", "SYNTH-0001", cells=cells, seed=seed, start=start, granularity_s=granularity_s,
        anomaly_rate=anomaly_rate, missing_counter_rate=missing_counter_rate,
    )
    series = np.empty((periods, cells, N_LOADS + 1))
    epoch = np.empty(periods)
    history = LoadHistory()
    blocks = []
    for t in range(periods):
        batch = generator.next_round()
        epoch[t] = datetime.fromisoformat(batch[0].event["ts"]).timestamp()
        series[t] = [load_values(e.event["counters"]) for e in batch]
        blocks.append(
            history.append(
                [e.event["cell_id"] for e in batch], series[t], np.full(cells, epoch[t]),
                np.full(cells, granularity_s), SYNTHETIC_UTC_OFFSET_H,
            )
        )
    loads = series[:, :, :N_LOADS]
    steps = np.arange(periods)[:, None] + np.arange(1, HORIZON + 1)  # [T, H]

    def shifted(offset: int) -> npt.NDArray[np.float64]:
        idx = steps - offset
        valid = (idx >= 0) & (idx < periods)
        picked = loads[np.clip(idx, 0, periods - 1)]  # [T, H, cells, N_LOADS]
        picked = np.where(valid[:, :, None, None], picked, math.nan)
        return picked.transpose(0, 2, 1, 3).reshape(periods * cells, HORIZON, N_LOADS)

    values = np.concatenate([b.values for b in blocks])
    return ForecastSet(
        history=values,
        history_hours=np.concatenate([b.hours for b in blocks]),
        target_hours=target_hours(np.repeat(epoch, cells), np.full(periods * cells, granularity_s), SYNTHETIC_UTC_OFFSET_H),
        targets=shifted(0),
        seasonal_naive=shifted(per_day),
        persistence=np.repeat(values[:, -1:, :].astype(np.float64), HORIZON, axis=1),
        ready=np.concatenate([b.ready for b in blocks]),
        cell=np.tile(np.arange(cells), periods),
        day=np.repeat(np.arange(periods) // per_day, cells),
        granularity_s=granularity_s,
    )
