"""A synthetic site of several eNBs with a few co-sited cells each, so that energy saving has
neighbour groups to work with (one `CellKpiGenerator` is one eNB)."""

from __future__ import annotations

from datetime import datetime

from edgectl.synthetic import LabelledEvent
from edgectl.synthetic.cell_kpi import CellKpiGenerator
from pipelines.energy_saving.neighbours import co_sited_group


class CoSitedCells:
    """`enbs` eNBs of `cells_per_enb` cells each (e.g. three sectors), reporting in step.

    Example: `CoSitedCells("kr-seoul", "SEL-GN-0042", enbs=4, cells_per_enb=3, seed=5,
    granularity_s=900).next_round()` gives 12 events, one per cell, for one 15-minute period.
    """

    def __init__(
        self,
        region: str,
        site_id: str,
        *,
        enbs: int = 4,
        cells_per_enb: int = 3,
        seed: int = 0,
        start: datetime | None = None,
        granularity_s: int = 900,
        anomaly_rate: float = 0.0,
        missing_counter_rate: float = 0.01,
    ) -> None:
        if enbs < 1:
            raise ValueError(f"enbs must be >= 1, got {enbs}")
        self.generators: list[CellKpiGenerator] = []
        groups: set[str] = set()
        candidate = seed * 1000
        while len(self.generators) < enbs:
            generator = CellKpiGenerator(
                region, site_id, cells=cells_per_enb, seed=candidate, start=start, granularity_s=granularity_s,
                anomaly_rate=anomaly_rate, missing_counter_rate=missing_counter_rate,
            )
            candidate += 1
            group = co_sited_group(generator.cells[0].cell_id)
            if group not in groups:  # two seeds may draw the same eNB id
                groups.add(group)
                self.generators.append(generator)

    @property
    def groups(self) -> dict[str, list[str]]:
        """Cell ids by neighbour group."""
        return {co_sited_group(g.cells[0].cell_id): [c.cell_id for c in g.cells] for g in self.generators}

    def next_round(self) -> list[LabelledEvent]:
        """One sample for every cell of every eNB, then advance the clock by one period."""
        return [event for generator in self.generators for event in generator.next_round()]
