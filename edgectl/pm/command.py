"""`edge import pm PATH...`: the command line of the PM replay (`edgectl.pm.replay`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from edge.settings import EdgeSettings
from edge.topics import SiteTopics


def add_import_commands(importing: argparse.ArgumentParser, epilog: str) -> None:
    """Give the `edge import` parser its `pm` subcommand."""
    kinds = importing.add_subparsers(dest="import_kind", required=True, metavar="KIND")
    pm = kinds.add_parser(
        "pm", help="replay 3GPP TS 32.435 PM files (measCollec XML, plain or gzip) to the KPI topic",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Read TS 32.435 measCollec files (directories whole) in the order of their collection's begin "
        "time and publish each cell's counters per period, in time order, to {region}.ran.kpi as ran.cell_kpi.v1 "
        "(stamped with EDGE_REGION and EDGE_SITE_ID), or as VES perf3gpp events to {region}.ves.measurements. A file "
        "that cannot be read is reported with its name and line; the others go on. Ends with one summary line.",
        epilog=epilog,
    )
    pm.add_argument("paths", nargs="+", type=Path, metavar="FILE_OR_DIR", help="PM files or directories of them")
    pm.add_argument("--format", choices=("native", "ves"), default="native",
                    help="native: ran.cell_kpi.v1 to {region}.ran.kpi (default); ves: perf3gpp events to "
                    "{region}.ves.measurements")
    pm.add_argument("--topic", default=None, help="publish to this topic instead (it must lie in EDGE_REGION)")
    pm.add_argument("--rate", type=float, default=None, help="samples per second at most (default: as fast as acknowledged)")


def run_import(args: argparse.Namespace) -> None:
    """Replay the files `args` name; print the summary line, and each file left out on standard error."""
    from edge.kafka import start_producer
    from edge.residency import ResidencyPolicy, ResidencyViolation
    from edgectl.pm.replay import print_progress, replay_pm

    edge = EdgeSettings()
    if args.rate is not None and args.rate <= 0:
        raise SystemExit(f"--rate must be > 0 samples/s, got {args.rate}")
    topics = SiteTopics(edge.region)
    topic = args.topic or (topics.kpi if args.format == "native" else topics.ves_measurements)
    try:
        ResidencyPolicy(edge.region).require_topics([topic], "produce to")
    except ResidencyViolation as exc:
        raise SystemExit(f"edge import pm: {exc}") from None

    async def replay() -> str:
        producer = await start_producer(edge)
        try:
            summary = await replay_pm(
                producer, args.paths, region=edge.region, site_id=edge.site_id, topic=topic, form=args.format,
                rate_per_s=args.rate, progress=print_progress,
            )
        finally:
            await producer.stop()
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        for line in summary.refused:
            sys.stderr.write(f"left out: {line}\n")
        return summary.line() + f" topic={topic}"

    print(asyncio.run(replay()), flush=True)
