"""`edge import pm`: replay PM history through the KPI pipelines. The files (TS 32.435, plain or
gzip; directories read whole) are put in the order of their collection's begin time and read
one at a time, so memory holds one file, and their samples are published in time order to the
site's KPI topic as `ran.cell_kpi.v1` (or as VES `perf3gpp` events), at a bounded rate.

A file that cannot be read is reported with its name and line and left out; the others go on.
Each sample's `event_id` is named after its site, cell and period, so replaying the same files
again gives the same ids (and results ids), which consumers de-duplicate by."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
from aiokafka import AIOKafkaProducer

from edgectl.pm.meas_collec import PmFileError, file_begin, read_pm_file
from edgectl.synthetic.ves import ves_events
from pipelines.cell_kpi import SCHEMA
from pipelines.kpi_anomaly.features import COUNTERS
from pipelines.results import RESULT_NAMESPACE_BYTES, name_based_id

ReplayFormat = Literal["native", "ves"]
_PROGRESS_EVERY_S = 1.0


@dataclass
class ReplaySummary:
    """What a replay read and published."""

    files: int = 0
    refused: list[str] = field(default_factory=list)
    """One line per file left out: its name, the line at fault and why."""
    cells: set[str] = field(default_factory=set)
    samples: int = 0
    records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        skipped = " ".join(f"skipped_{reason}={count}" for reason, count in sorted(self.skipped.items()) if count)
        return (f"files={self.files} refused={len(self.refused)} cells={len(self.cells)} samples={self.samples} "
                f"records={self.records}" + (f" {skipped}" if skipped else ""))


def pm_files(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """The files named, directories expanded (every file beneath, sorted); and a line for each
    path that does not exist."""
    files, missing = [], []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            missing.append(f"{path}: no such file or directory")
    return files, missing


def sample_event(region: str, site_id: str, cell: str, ts: str, period_s: int, counters: dict[str, float]) -> dict[str, Any]:
    """A replayed sample as `ran.cell_kpi.v1`, its id named after its site, cell and period."""
    return {
        "schema": SCHEMA, "event_id": name_based_id(RESULT_NAMESPACE_BYTES, f"pm/{site_id}/{cell}/{ts}"),
        "region": region, "site_id": site_id, "cell_id": cell, "ts": ts, "granularity_s": period_s,
        "counters": counters,
    }


class Pacer:
    """Waits so that `n` items go out at about `rate_per_s` (None: as fast as the broker takes them)."""

    def __init__(self, rate_per_s: float | None) -> None:
        self.rate_per_s = rate_per_s
        self.started = time.monotonic()
        self.sent = 0

    async def after(self, n: int) -> None:
        self.sent += n
        if self.rate_per_s is not None:
            ahead = self.started + self.sent / self.rate_per_s - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)


async def replay_pm(
    producer: AIOKafkaProducer,
    paths: Sequence[Path],
    *,
    region: str,
    site_id: str,
    topic: str,
    form: ReplayFormat = "native",
    rate_per_s: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReplaySummary:
    """Read every PM file of `paths` in time order and publish its samples; return the summary."""
    summary = ReplaySummary()
    files, summary.refused = pm_files(paths)
    ordered = []
    for path in files:
        try:
            ordered.append((file_begin(path), str(path), path))
        except PmFileError as exc:
            summary.refused.append(str(exc))
    ordered.sort()
    pacer = Pacer(rate_per_s)
    shown = time.monotonic()
    for index, (_, _, path) in enumerate(ordered, 1):
        try:
            pm = read_pm_file(path, COUNTERS)
        except PmFileError as exc:
            summary.refused.append(str(exc))
            continue
        summary.files += 1
        summary.skipped.update(pm.skipped)
        events = [
            sample_event(region, site_id, s.cell_id, s.start.isoformat().replace("+00:00", "Z"), s.granularity_s, s.counters)
            for s in pm.samples
        ]
        summary.cells.update(e["cell_id"] for e in events)
        summary.samples += len(events)
        await _publish(producer, topic, events, form, pacer, summary)
        if progress is not None and time.monotonic() - shown >= _PROGRESS_EVERY_S:
            shown = time.monotonic()
            progress(_progress_line(index, len(ordered), summary, pacer))
    if progress is not None:
        progress(_progress_line(len(ordered), len(ordered), summary, pacer))
    return summary


def _progress_line(index: int, files: int, summary: ReplaySummary, pacer: Pacer) -> str:
    rate = summary.samples / max(time.monotonic() - pacer.started, 1e-9)
    return f"file {index}/{files}, {summary.samples:,} samples, {rate:,.0f} samples/s"


async def _publish(
    producer: AIOKafkaProducer, topic: str, events: list[dict[str, Any]], form: ReplayFormat, pacer: Pacer,
    summary: ReplaySummary,
) -> None:
    """One file's samples, acknowledged before the next file is read (a crash loses at most it)."""
    records = (
        [(e["cell_id"], e) for e in events] if form == "native"
        else ves_events(events, "perf3gpp")
    )
    step = 500
    for start in range(0, len(records), step):
        chunk = records[start : start + step]
        futures = [await producer.send(topic, orjson.dumps(value), key=key.encode()) for key, value in chunk]
        await asyncio.gather(*futures)
        summary.records += len(chunk)
        await pacer.after(sum(_samples_in(value) for _, value in chunk))


def _samples_in(record: dict[str, Any]) -> int:
    """Samples one record carries: one, or a VES event's cells."""
    event = record.get("event")
    if event is None:
        return 1
    blocks = event["perf3gppFields"]["measDataCollection"]["measInfoList"]
    return sum(len(b["measValuesList"]) for b in blocks)


def print_progress(text: str) -> None:
    """A progress line on standard error: rewritten in place on a terminal, one per call otherwise."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r{text}\033[K")
    else:
        sys.stderr.write(text + "\n")
    sys.stderr.flush()
