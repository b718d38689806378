"""The KPI anomaly pipeline's state stays within its limits however many cell ids arrive and
however hostile the records: the cells held, the window buffers and the traced heap stay under
the configured bound, the site's own cells keep their windows, and hostile records end in the
DLQ or as ordinary cells. (`python -m edgectl.bench.state` runs the same soak longer.)"""

from __future__ import annotations

import subprocess
import sys

from edgectl.bench.state import run_state_soak
from edgectl.bench.state_options import StateSoakOptions
from edgectl.synthetic.hostile_kpi import HOSTILE_KINDS, HostileMix

BYTES_PER_CELL_BOUND = 4096
"""Heap a held cell may cost with everything around it; measured: about 1.2 KB. Unbounded, the
soak below would leave 200,000 cells, about 240 MB."""


async def test_two_hundred_thousand_new_cell_ids_leave_the_state_within_its_bound() -> None:
    limit = 1_000
    report = await run_state_soak(StateSoakOptions(
        records=200_000, batch=1_000, max_entities=limit, mix=HostileMix(new_cell_share=1.0), trace_memory=True,
        max_seconds=240,
    ))
    assert report.completed and report.records == report.new_cell_ids == 200_000
    assert report.cells_held == report.cells_held_max == limit
    assert report.evictions == {"capacity": 200_000 - limit, "idle": 0}
    assert report.window_slots == limit, "the window buffers grew to the limit and no further"
    assert report.results == 200_000 and report.dlq_by_reason == {}
    assert report.traced_before_mib is not None and report.traced_after_mib is not None
    assert (report.traced_after_mib - report.traced_before_mib) * 2**20 < limit * BYTES_PER_CELL_BOUND


async def test_a_hostile_mix_is_refused_or_held_within_the_limits_and_keeps_the_site_cells() -> None:
    report = await run_state_soak(StateSoakOptions(
        records=30_000, batch=1_000, max_entities=2_000, idle_s=86_400, max_key_chars=64,
        mix=HostileMix(site_cells=200, new_cell_share=0.4, hostile_share=0.25, huge_cell_id_chars=900_000),
        max_seconds=240,
    ))
    kinds = report.kinds
    assert report.completed and all(kinds[kind] > 0 for kind in HOSTILE_KINDS)
    assert report.cells_held <= 2_000 and report.cells_held_max <= 2_000
    assert report.longest_cell_id_held <= 64
    assert report.site_cells_with_full_window == 200, "a flood of new ids does not push out the site's cells"
    assert report.evictions["idle"] == 0, "forged timestamps moved no clock far enough to expire a cell"
    assert report.evictions["capacity"] > 0
    # At least: the intake may refuse more (repeated keys, say) without this test's concern.
    assert report.dlq_by_reason["schema"] >= kinds["huge_cell_id"] + kinds["long_cell_id"]
    unreadable = ("utf8_bom", "utf16", "invalid_utf8", "lone_surrogate", "not_json")
    assert report.dlq_by_reason["malformed"] >= sum(kinds[kind] for kind in unreadable)
    assert report.results + sum(report.dlq_by_reason.values()) == report.records


def test_the_bench_prints_entities_evictions_and_memory() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edgectl.bench.state", "--records", "5000", "--max-entities", "500", "--batch", "500"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    out = result.stdout
    assert "records 5,000 in 10 batches" in out
    assert "cells held 500 (most between batches 500; limit 500)" in out
    assert "evictions {'capacity': 4500, 'idle': 0}" in out
    assert "rss " in out and " MiB" in out
