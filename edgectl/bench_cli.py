"""`edge bench BENCH`: one subcommand per benchmark, each with its own description and only the
options it reads. The benches themselves are imported when they run, not to build the parser."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgectl.bench import state_options


@dataclass(frozen=True)
class Bench:
    """One `edge bench` target: what it measures (its line in `edge bench --help` and the paragraph
    of its own `--help`), the options it takes and how it runs, e.g.
    `Bench("each native kernel against its NumPy reference", _json_argument, _run_kernels)`."""

    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, argparse.ArgumentParser], None]
    """Runs the bench from its parsed options; the parser is its own, to refuse what it cannot check alone."""


def add_bench_commands(bench: argparse.ArgumentParser) -> None:
    """Give the `edge bench` parser one subcommand per entry of `BENCHES`."""
    targets = bench.add_subparsers(required=True, title="benches")
    for name, spec in BENCHES.items():
        parser = targets.add_parser(name, help=spec.description, description=spec.description)
        spec.add_arguments(parser)
        parser.set_defaults(bench=spec, bench_parser=parser)


def run_bench(args: argparse.Namespace) -> None:
    """Run the bench that `args`, parsed under `add_bench_commands`, name."""
    args.bench.run(args, args.bench_parser)


def _json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON to this file")


def _int_list(option: str, text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise SystemExit(f"{option} must be comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise SystemExit(f"{option} values must be >= 1, got {text!r}")
    return values


def _accel_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=None, help="host:port of a server to measure (default: start ours)")
    parser.add_argument("--model", default=None, help="model at --url (default the reference kpi-autoencoder)")
    parser.add_argument("--server-pid", type=int, default=None, help="pid of the --url server, to measure its CPU")
    parser.add_argument("--concurrency", default="1,8,32,64", help="concurrent requests (default 1,8,32,64)")
    parser.add_argument("--batch", default="1,16,256", help="rows per request (default 1,16,256)")
    parser.add_argument("--modes", default="unary,stream", help="unary, stream or both (default both)")
    parser.add_argument("--duration-s", type=float, default=3.0, help="measured seconds per cell (default 3)")
    parser.add_argument("--profile-server", type=Path, default=None, help="cProfile our server into this file")
    _json_argument(parser)


def _run_accel(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from edgectl.bench.accel import MODES, as_json, format_report, run_accel_bench

    modes = tuple(args.modes.split(","))
    if not modes or set(modes) - set(MODES):
        raise SystemExit(f"--modes must be among {', '.join(MODES)}, got {args.modes!r}")
    if args.duration_s <= 0:
        raise SystemExit(f"--duration-s must be > 0, got {args.duration_s}")
    if args.server_pid is not None and args.url is None:
        raise SystemExit("--server-pid needs --url (without --url the bench starts and measures its own server)")
    result = run_accel_bench(
        args.url, args.model, server_pid=args.server_pid,
        concurrencies=_int_list("--concurrency", args.concurrency), batches=_int_list("--batch", args.batch),
        duration_s=args.duration_s, modes=modes, server_profile=args.profile_server,
    )
    print(format_report(result))
    if args.json is not None:
        args.json.write_text(as_json(result) + "\n")


def _pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=200_000,
                        help="backlog size, over which the sustained rate is measured (default 200000, about 2 s of "
                        "pipeline work on two cores)")
    parser.add_argument("--latency-seconds", type=float, default=10.0, help="paced phase length (default 10)")
    parser.add_argument("--feed-interval-ms", type=float, default=10.0,
                        help="the paced producer sends one record batch per partition this often (default 10)")
    parser.add_argument("--broker", choices=("tansu", "kafka"), default="tansu",
                        help="tansu: the embedded broker (default); kafka: one Apache Kafka node from .tools/kafka "
                        "(scripts/kafka-tools.sh fetches it), idempotent producer on, as in production")
    parser.add_argument("--delivery", choices=("at-least-once", "exactly-once", "both"), default=None,
                        help="delivery modes measured side by side (default: both on kafka, at-least-once on tansu, "
                        "which has no transactions)")
    _json_argument(parser)


def _run_pipeline(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from edgectl.bench.pipeline import (
        Delivery,
        PipelineBenchOptions,
        as_json,
        format_report,
        run_pipeline_bench,
    )

    if args.events < 1000:
        raise SystemExit(f"--events must be >= 1000, got {args.events}")
    if not 1 <= args.feed_interval_ms <= 1000:
        raise SystemExit(f"--feed-interval-ms must be between 1 and 1000, got {args.feed_interval_ms}")
    delivery = args.delivery or ("both" if args.broker == "kafka" else "at-least-once")
    if delivery != "at-least-once" and args.broker != "kafka":
        raise SystemExit("--delivery exactly-once needs transactions, which the embedded broker lacks: add --broker kafka")
    # At-least-once always runs: the throughput and latency figures above the comparison are its own.
    deliveries: tuple[Delivery, ...] = ("at-least-once",) if delivery == "at-least-once" else ("at-least-once", "exactly-once")
    options = PipelineBenchOptions(events=args.events, latency_s=args.latency_seconds,
                                   feed_interval_s=args.feed_interval_ms / 1000, broker=args.broker,
                                   deliveries=deliveries)
    result = asyncio.run(run_pipeline_bench(options))
    print(format_report(result))
    if args.json is not None:
        args.json.write_text(as_json(result) + "\n")


def _run_kernels(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    import orjson

    from edgectl.bench.kernels import format_table, run_kernel_bench

    results = run_kernel_bench()
    print(format_table(results))
    if args.json is not None:
        args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY) + b"\n")


def _warmup_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trials", type=int, default=3, help="loads of each model with and without warm-up (default 3)")
    _json_argument(parser)


def _run_warmup(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    import orjson

    from edgectl.bench.warmup import format_table, run_warmup_bench

    if args.trials < 1:
        parser.error(f"--trials must be >= 1, got {args.trials}")
    results = asyncio.run(run_warmup_bench(args.trials))
    print(format_table(results))
    if args.json is not None:
        args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")


def _accel_soak_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the load runs (default 30)")
    _json_argument(parser)


def _run_accel_soak(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from edgectl.bench.accel_soak import soak_from_cli

    soak_from_cli(args.seconds, args.json)


def _cs_insights_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--utterances", type=int, default=20_000, help="utterances (default 20000)")
    _json_argument(parser)


def _run_cs_insights(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from edgectl.bench.cs_insights import (
        CsInsightsBenchOptions,
        as_json,
        format_report,
        run_cs_insights_bench,
    )

    if args.utterances < 1000:
        raise SystemExit(f"--utterances must be >= 1000, got {args.utterances}")
    result = asyncio.run(run_cs_insights_bench(CsInsightsBenchOptions(utterances=args.utterances)))
    print(format_report(result))
    if args.json is not None:
        args.json.write_text(as_json(result) + "\n")


def _run_state(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from edgectl.bench.state import run_from_args

    run_from_args(args, parser)


BENCHES: dict[str, Bench] = {
    "accel": Bench(
        "closed-loop Open Inference Protocol load (Triton's client) over a grid of concurrency, request batch"
        " and unary/stream, against our server (or --url), beside the in-process ONNX Runtime and bare gRPC"
        " echo ceilings",
        _accel_arguments, _run_accel,
    ),
    "pipeline": Bench(
        "the KPI anomaly pipeline against a real accelerator, beside the raw aiokafka ceiling",
        _pipeline_arguments, _run_pipeline,
    ),
    "kernels": Bench(
        "each native kernel against its NumPy reference on realistic sizes",
        _json_argument, _run_kernels,
    ),
    "accel-soak": Bench(
        "good and hostile requests (60 MiB BYTES included) against a server process, health-checked",
        _accel_soak_arguments, _run_accel_soak,
    ),
    "cs-insights": Bench(
        "utterances per second through redaction alone and the customer-service pipeline's batch step",
        _cs_insights_arguments, _run_cs_insights,
    ),
    "warmup": Bench(
        "the first request after each shipped model is loaded, with and without warm-up (warmup_batch_sizes)",
        _warmup_arguments, _run_warmup,
    ),
    "state": Bench(
        "the KPI anomaly pipeline's memory under a flood of new and hostile cell ids, through its real intake,"
        " per-cell state and alarm tracking, with the accelerator's answer scripted",
        state_options.add_arguments, _run_state,
    ),
}
"""Every `edge bench` target, in the order `edge bench --help` lists them."""
