"""`edge bench state` (or `python -m edgectl.bench.state`): the KPI anomaly pipeline's memory under a
flood of new and hostile cell ids, through its real intake, per-cell state and alarm tracking,
batch after batch.

What it measures is this process's state, not inference: the accelerator's answer is scripted
(`ScriptedAccelerator`, a stand-in named as such) so that a million events take seconds and no
other process shares the figures. `run_state_soak` is also what the test suite calls, smaller.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import orjson

from accel.model import Tensor
from edge.settings import EdgeSettings
from edgectl.bench.state_options import StateSoakOptions, add_arguments
from edgectl.synthetic.hostile_kpi import HostileKpiFeed, HostileMix, site_cell_id
from pipelines.accel_client import AcceleratorClient, InferResult
from pipelines.entity_limits import EntityLimits
from pipelines.kpi_anomaly.features import N_KPIS
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.records import ConsumedRecord

REGION, SITE = "kr-seoul", "SOAK-0001"
PARTITIONS = 6


class ScriptedAccelerator(AcceleratorClient):
    """A stand-in for the accelerator that answers the KPI model at once, without a network: the
    score is the mean deviation of a row's KPIs from its cell's window, anomalous from 3 sigma.
    For measuring the pipeline's own state; the real model is exercised everywhere else."""

    def __init__(self) -> None:
        super().__init__(EdgeSettings(region=REGION, site_id=SITE, accel_targets="127.0.0.1:1"), timeout_s=1, attempts=1)

    async def infer(self, model: str, inputs: Mapping[str, Tensor], outputs: list[str]) -> InferResult:
        features = np.asarray(inputs["features"], dtype=np.float32)
        score = np.abs(features[:, N_KPIS : 2 * N_KPIS]).mean(axis=1)
        answer: dict[str, Tensor] = {
            "score": score, "is_anomaly": score >= 3.0, "contributions": np.abs(features),
        }
        return InferResult(model, "scripted", answer)


@dataclass
class StateSoakReport:
    """What a soak fed and what the pipeline held, before and after. Memory in MiB."""

    records: int
    batches: int
    seconds: float
    completed: bool
    kinds: dict[str, int]
    new_cell_ids: int
    max_entities: int
    cells_held: int
    cells_held_max: int
    """Most cells held between two batches."""
    window_slots: int
    """Rows of the window buffers (they grow to the most cells ever held at once, never shrink)."""
    open_incidents: int
    longest_cell_id_held: int
    evictions: dict[str, int]
    dlq_by_reason: dict[str, int]
    results: int
    site_cells_with_full_window: int
    """The site's own cells whose window is full at the end: a flood of new ids must not push them out."""
    rss_before_mib: float
    rss_after_mib: float
    rss_peak_mib: float
    traced_before_mib: float | None = None
    traced_after_mib: float | None = None
    traced_peak_mib: float | None = None


def rss_mib() -> float:
    """Resident memory of this process now (Linux), else its peak so far."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_rss_mib()


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def soak_limits(options: StateSoakOptions) -> EntityLimits:
    """The bounds of the soaked pipeline: the KPI anomaly pipeline's own, under those `options` set."""
    return KpiAnomalyPipeline.entity_limits.overridden(
        max_entities=options.max_entities, idle_s=options.idle_s, max_key_chars=options.max_key_chars
    )


async def run_state_soak(options: StateSoakOptions) -> StateSoakReport:
    """Feed `options.records` records, in batches, through a KPI anomaly pipeline bounded by the
    options; report what it held and how memory moved."""
    limits = soak_limits(options)
    if limits.max_entities < options.batch:
        raise ValueError(f"max_entities ({limits.max_entities}) must be at least batch ({options.batch})")
    feed = HostileKpiFeed(REGION, SITE, options.mix, seed=options.seed)
    gc.collect()
    rss_before = rss_mib()
    traced_before: float | None = None
    pipeline = KpiAnomalyPipeline(REGION, SITE, ScriptedAccelerator(), entity_limits=limits)
    stopping = asyncio.Event()
    dlq: dict[str, int] = {}
    results = batches = held_max = offset = 0
    started = time.monotonic()
    completed = True
    try:
        while offset < options.records:
            if time.monotonic() - started > options.max_seconds:
                completed = False
                break
            if options.trace_memory and traced_before is None and offset >= options.trace_after_records:
                gc.collect()
                tracemalloc.start()
                traced_before = _traced_mib()
            values = feed.values(min(options.batch, options.records - offset))
            records = [
                ConsumedRecord(f"{REGION}.ran.kpi", (offset + i) % PARTITIONS, offset + i, None, value)
                for i, (_, value) in enumerate(values)
            ]
            offset += len(records)
            outcome = await pipeline.process(records, stopping)
            results += outcome.results
            for reason, count in outcome.dlq_by_reason.items():
                dlq[reason] = dlq.get(reason, 0) + count
            batches += 1
            held_max = max(held_max, pipeline.entities_held)
            await asyncio.sleep(0)
        seconds = time.monotonic() - started
        del values, records, outcome
        gc.collect()
        tracing = tracemalloc.is_tracing()
        traced_after = _traced_mib() if tracing else None
        traced_peak = tracemalloc.get_traced_memory()[1] / 2**20 if tracing else None
    finally:
        tracemalloc.stop()
    site = [site_cell_id(k) for k in range(options.mix.site_cells)]
    return StateSoakReport(
        records=offset, batches=batches, seconds=round(seconds, 2), completed=completed, kinds=dict(feed.counts),
        new_cell_ids=feed.new_cells, max_entities=limits.max_entities, cells_held=pipeline.entities_held,
        cells_held_max=held_max, window_slots=pipeline.windows.slots, open_incidents=len(pipeline.incidents),
        longest_cell_id_held=max(map(len, pipeline.windows), default=0),
        evictions={str(reason): count for reason, count in pipeline.evictions.items()}, dlq_by_reason=dlq,
        results=results,
        site_cells_with_full_window=sum(pipeline.windows.history(cell) == pipeline.windows.window for cell in site),
        rss_before_mib=round(rss_before, 1), rss_after_mib=round(rss_mib(), 1), rss_peak_mib=round(peak_rss_mib(), 1),
        traced_before_mib=_rounded(traced_before), traced_after_mib=_rounded(traced_after),
        traced_peak_mib=_rounded(traced_peak),
    )


def _traced_mib() -> float:
    return tracemalloc.get_traced_memory()[0] / 2**20


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def format_report(report: StateSoakReport) -> str:
    """The figures as lines for a terminal."""
    traced = (
        f"traced heap {report.traced_before_mib} -> {report.traced_after_mib} MiB (peak {report.traced_peak_mib})"
        if report.traced_after_mib is not None else "traced heap: not measured (--trace)"
    )
    rate = report.records / report.seconds if report.seconds > 0 else math.inf
    lines = [
        f"records {report.records:,} in {report.batches:,} batches, {report.seconds:.1f} s ({rate:,.0f}/s)"
        + ("" if report.completed else ", cut short by --max-seconds"),
        f"new cell ids {report.new_cell_ids:,}; kinds {report.kinds}",
        (
            f"cells held {report.cells_held:,} (most between batches {report.cells_held_max:,};"
            f" limit {report.max_entities:,}); window slots {report.window_slots:,};"
            f" open incidents {report.open_incidents:,}; longest cell id held {report.longest_cell_id_held:,} characters"
        ),
        f"evictions {report.evictions}; site cells with a full window {report.site_cells_with_full_window}",
        f"results {report.results:,}; dlq {report.dlq_by_reason}",
        f"rss {report.rss_before_mib} -> {report.rss_after_mib} MiB (peak {report.rss_peak_mib}); {traced}",
    ]
    return "\n".join(lines)


def run_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Run the soak that `args` (parsed with `add_arguments`) ask for and print its report; a bad
    value is refused as an error of `parser`."""
    if args.records < 1 or args.batch < 1 or (args.max_entities is not None and args.max_entities < 1):
        parser.error("--records, --batch and --max-entities must be >= 1")
    try:
        mix = HostileMix(new_cell_share=args.new_cell_share, hostile_share=args.hostile_share)
        options = StateSoakOptions(
            records=args.records, batch=args.batch, max_entities=args.max_entities, idle_s=args.idle_s, mix=mix,
            max_seconds=args.max_seconds, trace_memory=args.trace, trace_after_records=args.trace_after,
        )
        max_entities = soak_limits(options).max_entities
    except ValueError as exc:
        parser.error(str(exc))
    if max_entities < args.batch:
        parser.error(f"--max-entities ({max_entities}) must be at least --batch ({args.batch}), as a pipeline's is")
    report = asyncio.run(run_state_soak(options))
    print(orjson.dumps(asdict(report)).decode() if args.json else format_report(report))


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m edgectl.bench.state [--records N] [--max-entities N] [--hostile-share F] [--trace]`,
    the same as `edge bench state`."""
    parser = argparse.ArgumentParser(prog="python -m edgectl.bench.state", description=__doc__)
    add_arguments(parser)
    run_from_args(parser.parse_args(argv), parser)


if __name__ == "__main__":
    main()
