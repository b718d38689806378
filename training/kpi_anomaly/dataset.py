"""Labelled feature matrices from the synthetic KPI generator, for training and for measuring
the model on held-out data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from edgectl.synthetic.cell_kpi import CellKpiGenerator
from pipelines.kpi_anomaly.features import CellWindows, hour_features, kpi_matrix


@dataclass
class LabelledFeatures:
    """Feature rows and the injected incident behind each (empty string: normal)."""

    features: npt.NDArray[np.float32]
    labels: npt.NDArray[np.str_]


def generate_features(
    *, cells: int, periods: int, seed: int, anomaly_rate: float, region: str = "kr-seoul"
) -> LabelledFeatures:
    """Run the generator for `periods` rounds and build features exactly as the pipeline does."""
    generator = CellKpiGenerator(region, "SYNTH-0001", cells=cells, seed=seed, anomaly_rate=anomaly_rate)
    windows = CellWindows()
    blocks: list[npt.NDArray[np.float32]] = []
    labels: list[str] = []
    for _ in range(periods):
        batch = generator.next_round()
        cell_ids = [e.event["cell_id"] for e in batch]
        kpis = kpi_matrix([e.event["counters"] for e in batch])
        ts = datetime.fromisoformat(batch[0].event["ts"])
        hours = np.tile(hour_features(ts), (len(batch), 1))
        rows, _ = windows.features(cell_ids, kpis, hours)
        blocks.append(rows)
        labels.extend(e.label or "" for e in batch)
    return LabelledFeatures(np.concatenate(blocks), np.array(labels))
