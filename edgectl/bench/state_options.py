"""What one state soak (`edge bench state`) feeds, as a value and as command-line options. Apart
from the soak itself so that the `edge` command lists these options without importing a pipeline."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from edgectl.synthetic.hostile_kpi import HostileMix
from pipelines.entity_limits import DEFAULT_IDLE_S, DEFAULT_MAX_KEY_CHARS


@dataclass(frozen=True)
class StateSoakOptions:
    """One soak, bounded in records and in time, e.g.
    `StateSoakOptions(records=200_000, max_entities=1_000, batch=500, trace_memory=True)`."""

    records: int = 1_000_000
    batch: int = 4_000
    max_entities: int | None = None
    """Cells the pipeline may hold; None: the KPI anomaly pipeline's own limit."""
    idle_s: float = DEFAULT_IDLE_S
    max_key_chars: int = DEFAULT_MAX_KEY_CHARS
    mix: HostileMix = field(default_factory=lambda: HostileMix(new_cell_share=1.0))
    max_seconds: float = 900.0
    """Stop early (`completed` false) once this much wall-clock time has passed."""
    trace_memory: bool = False
    """Also count the Python heap with `tracemalloc` (exact, but several times slower)."""
    trace_after_records: int = 0
    """Records fed before tracing starts, so that a long soak pays for tracing only at its end.
    What is traced then is what the last records left alive: with the state bounded, at most
    the state itself (every held cell is replaced many times over); unbounded, it grows with them."""
    seed: int = 7


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The soak's options, the same for `edge bench state` and `python -m edgectl.bench.state`."""
    defaults = StateSoakOptions()
    parser.add_argument("--records", type=int, default=defaults.records, help="records to feed (default 1,000,000)")
    parser.add_argument("--batch", type=int, default=defaults.batch, help="records per batch (default 4,000)")
    parser.add_argument("--max-entities", type=int, default=defaults.max_entities,
                        help="cells the pipeline may hold (default: the pipeline's own)")
    parser.add_argument("--idle-s", type=float, default=defaults.idle_s, help="idle expiry in event seconds")
    parser.add_argument("--new-cell-share", type=float, default=1.0, help="share of records naming a new cell (default 1)")
    parser.add_argument("--hostile-share", type=float, default=0.0, help="share of hostile records (default 0)")
    parser.add_argument("--max-seconds", type=float, default=defaults.max_seconds, help="stop after this long")
    parser.add_argument("--trace", action="store_true", help="also measure the Python heap with tracemalloc (slower)")
    parser.add_argument("--trace-after", type=int, default=0, help="records fed before tracing starts (default 0)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
