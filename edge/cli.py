"""The `edge` command: demo, embedded broker, accelerator server, pipelines and traffic generators."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from accel.settings import AccelSettings
from edge.settings import EdgeSettings
from edge.settings_help import settings_help
from pipelines.settings import PipelineSettings

GENERATORS = ("kpi",)
BENCHES = ("pipeline", "kernels")


def _parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="edge", description="Sovereign Edge: streaming AI for a telecom operator's edge sites.", formatter_class=raw
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="run broker, accelerator, pipeline and synthetic traffic on loopback",
        formatter_class=raw, epilog="Prints a progress line, then one summary line of key=value pairs.",
    )
    demo.add_argument("--seconds", type=float, default=None, help="stop after N seconds (default: until Ctrl-C)")
    demo.add_argument("--rate", type=float, default=2000.0, help="synthetic events per second (default 2000)")
    demo.add_argument("--cells", type=int, default=200, help="cells at the synthetic site (default 200)")
    demo.add_argument("--region", default="kr-seoul", help="region of the demo site (default kr-seoul)")
    demo.add_argument("--site-id", default="SEL-GN-0042", help="id of the demo site (default SEL-GN-0042)")

    broker = commands.add_parser("broker", help="run the embedded Kafka-protocol broker (Tansu) on loopback")
    broker.add_argument("--port", type=int, default=9092, help="port on 127.0.0.1 (default 9092)")

    accel = commands.add_parser("accel", help="the accelerator service")
    accel_commands = accel.add_subparsers(dest="accel_command", required=True, metavar="ACTION")
    serve = accel_commands.add_parser(
        "serve", help="serve the Open Inference Protocol over gRPC", formatter_class=raw,
        epilog=settings_help(AccelSettings, EdgeSettings),
    )
    serve.add_argument("--port", type=int, help="gRPC port (overrides ACCEL_PORT)")
    serve.add_argument("--host", help="listen address (overrides ACCEL_HOST)")
    serve.add_argument("--models", type=Path, help="model repository directory (overrides ACCEL_MODEL_REPOSITORY)")
    serve.add_argument("--ready-file", help=argparse.SUPPRESS)

    pipeline = commands.add_parser("pipeline", help="the stream pipelines")
    pipeline_commands = pipeline.add_subparsers(dest="pipeline_command", required=True, metavar="ACTION")
    run = pipeline_commands.add_parser(
        "run", help="run one pipeline replica", formatter_class=raw,
        epilog=settings_help(PipelineSettings, EdgeSettings),
    )
    run.add_argument("name", help="pipeline name: kpi-anomaly")

    generate = commands.add_parser(
        "generate", help="produce synthetic events to the region's topic", formatter_class=raw,
        epilog=settings_help(EdgeSettings),
    )
    generate.add_argument("name", choices=GENERATORS, help="which traffic: kpi (cell KPIs)")
    generate.add_argument("--rate", type=float, default=1000.0, help="events per second (default 1000)")
    generate.add_argument("--count", type=int, default=None, help="stop after N events (default: until Ctrl-C)")
    generate.add_argument("--cells", type=int, default=200, help="cells at the synthetic site (default 200)")
    generate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    generate.add_argument("--anomaly-rate", type=float, default=0.004, help="incident start chance per cell-period")
    bench = commands.add_parser(
        "bench", help="benchmarks that print figures", formatter_class=raw,
        epilog="pipeline: the KPI anomaly pipeline against a real accelerator, beside the raw aiokafka ceiling.\n"
        "kernels: each native kernel against its NumPy reference on realistic sizes.",
    )
    bench.add_argument("target", choices=BENCHES, help="what to measure")
    bench.add_argument("--events", type=int, default=50_000, help="pipeline: backlog size (default 50000)")
    bench.add_argument("--latency-seconds", type=float, default=10.0, help="pipeline: paced phase length (default 10)")
    bench.add_argument("--json", type=Path, default=None, help="also write the figures as JSON to this file")
    return parser


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _settings_error(exc: ValidationError) -> SystemExit:
    lines = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"])
        prefix = exc.title.removesuffix("Settings").upper()
        lines.append(f"  {prefix}_{field.upper()}: {error['msg']}")
    return SystemExit("invalid settings:\n" + "\n".join(lines))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `edge` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            _demo(args)
        elif args.command == "broker":
            _broker(args)
        elif args.command == "accel":
            _accel_serve(args)
        elif args.command == "pipeline":
            _pipeline_run(args)
        elif args.command == "generate":
            _generate(args)
        elif args.command == "bench":
            _bench(args)
    except ValidationError as exc:
        raise _settings_error(exc) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def _demo(args: argparse.Namespace) -> None:
    from edge.demo import DemoOptions, run_demo

    _configure_logging("WARNING")
    if args.seconds is not None and args.seconds <= 0:
        raise SystemExit(f"--seconds must be > 0, got {args.seconds}")
    if args.rate <= 0:
        raise SystemExit(f"--rate must be > 0 events/s, got {args.rate}")
    options = DemoOptions(
        seconds=args.seconds, rate_per_s=args.rate, cells=args.cells, region=args.region, site_id=args.site_id
    )
    print(asyncio.run(run_demo(options)), flush=True)


def _broker(args: argparse.Namespace) -> None:
    from edge.broker import EmbeddedBroker
    from edge.lifecycle import install_stop_signals

    _configure_logging("INFO")

    async def serve() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        async with EmbeddedBroker(args.port) as broker:
            print(f"embedded broker on {broker.bootstrap_servers} (in-memory; Ctrl-C to stop)", flush=True)
            await stop.wait()

    asyncio.run(serve())


def _accel_serve(args: argparse.Namespace) -> None:
    from accel.main import serve

    overrides = {k: v for k, v in {"port": args.port, "host": args.host, "model_repository": args.models}.items() if v is not None}
    settings = AccelSettings(**overrides)
    from accel.errors import ModelConfigError
    from accel.grpc.security import TlsConfigError

    edge = EdgeSettings()  # type: ignore[call-arg]  # region and site come from the environment
    _configure_logging(edge.log_level)
    try:
        asyncio.run(serve(settings, edge, args.ready_file))
    except (TlsConfigError, ModelConfigError) as exc:
        raise SystemExit(f"edge accel serve: {exc}") from None


def _pipeline_run(args: argparse.Namespace) -> None:
    from pipelines.main import run_pipeline
    from pipelines.registry import PIPELINES, PLANNED

    if args.name not in PIPELINES:
        planned = f" ({args.name} is planned, not yet shipped)" if args.name in PLANNED else ""
        raise SystemExit(f"unknown pipeline {args.name!r}{planned}; available: {', '.join(sorted(PIPELINES))}")
    from pipelines.errors import StartupRefused

    edge = EdgeSettings()  # type: ignore[call-arg]
    settings = PipelineSettings()
    _configure_logging(edge.log_level)
    try:
        asyncio.run(run_pipeline(args.name, edge, settings))
    except StartupRefused as exc:
        raise SystemExit(f"edge pipeline run {args.name}: refusing to start: {exc}") from None


def _generate(args: argparse.Namespace) -> None:
    from aiokafka import AIOKafkaProducer

    from edge.kafka import producer_options
    from edge.lifecycle import install_stop_signals
    from edge.synthetic.cell_kpi import CellKpiGenerator
    from edge.topics import SiteTopics
    from edge.traffic import produce_traffic

    if args.rate <= 0:
        raise SystemExit(f"--rate must be > 0 events/s, got {args.rate}")
    if args.count is not None and args.count < 1:
        raise SystemExit(f"--count must be >= 1, got {args.count}")
    edge = EdgeSettings()  # type: ignore[call-arg]
    _configure_logging(edge.log_level)

    async def produce() -> int:
        stop = asyncio.Event()
        install_stop_signals(stop)
        generator = CellKpiGenerator(
            edge.region, edge.site_id, cells=args.cells, seed=args.seed, anomaly_rate=args.anomaly_rate
        )
        producer = AIOKafkaProducer(**producer_options(edge))
        await producer.start()
        try:
            return await produce_traffic(
                producer, SiteTopics(edge.region).kpi, generator, rate_per_s=args.rate, count=args.count, stop=stop
            )
        finally:
            await producer.stop()

    sent = asyncio.run(produce())
    print(f"generated={sent} topic={SiteTopics(edge.region).kpi}", flush=True)


def _bench(args: argparse.Namespace) -> None:
    _configure_logging("WARNING")
    if args.target == "pipeline":
        from edge.bench.pipeline import PipelineBenchOptions, as_json, format_report, run_pipeline_bench

        if args.events < 1000:
            raise SystemExit(f"--events must be >= 1000, got {args.events}")
        result = asyncio.run(run_pipeline_bench(PipelineBenchOptions(events=args.events, latency_s=args.latency_seconds)))
        print(format_report(result))
        if args.json is not None:
            args.json.write_text(as_json(result) + "\n")
    elif args.target == "kernels":
        import orjson

        from edge.bench.kernels import format_table, run_kernel_bench

        results = run_kernel_bench()
        print(format_table(results))
        if args.json is not None:
            args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY) + b"\n")
