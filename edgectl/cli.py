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
from edge.errors import SiteConfigError
from edge.settings import EdgeSettings
from edgectl.settings_help import settings_help
from edgectl.synthetic import TrafficGenerator
from pipelines.cs_insights.settings import CsInsightsSettings
from pipelines.energy_saving.settings import EnergySavingSettings
from pipelines.fiber_sensing.settings import FiberSensingSettings
from pipelines.kpi_anomaly.settings import KpiAnomalySettings
from pipelines.settings import PipelineSettings

GENERATORS = ("kpi", "utterances", "das")
GENERATOR_ALIASES = {"kpi-anomaly": "kpi", "energy-saving": "kpi", "cs-insights": "utterances", "fiber-sensing": "das"}
"""Each pipeline's name also names the traffic it reads."""
PIPELINE_NAMES = ("kpi-anomaly", "energy-saving", "cs-insights", "fiber-sensing")
BENCHES = ("accel", "pipeline", "kernels", "accel-soak", "cs-insights")


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
    demo.add_argument("--rate", type=float, default=2000.0, help="cell KPI events per second (default 2000)")
    demo.add_argument("--cells", type=int, default=200, help="cells at the synthetic site (default 200)")
    demo.add_argument("--utterance-rate", type=float, default=40.0, help="utterances per second (default 40)")
    demo.add_argument("--sessions", type=int, default=40, help="concurrent customer sessions (default 40)")
    demo.add_argument("--fibers", type=int, default=4, help="fibre segments, one DAS window each per second (default 4)")
    demo.add_argument(
        "--pipelines", default=",".join(PIPELINE_NAMES),
        help=f"comma-separated pipelines to run (default all: {','.join(PIPELINE_NAMES)})",
    )
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
        epilog=settings_help(
            PipelineSettings, EdgeSettings, KpiAnomalySettings, EnergySavingSettings, CsInsightsSettings,
            FiberSensingSettings,
        ),
    )
    run.add_argument("name", help=f"pipeline name: {', '.join(PIPELINE_NAMES)}")

    generate = commands.add_parser(
        "generate", help="produce synthetic events to the region's topic", formatter_class=raw,
        epilog="kpi: cell KPIs of co-sited cells (topic {region}.ran.kpi; read by kpi-anomaly and energy-saving)\n"
        "utterances: call and chat turns with personal data (topic {region}.cs.utterances)\n"
        "das: fibre-sensing DAS windows, one per fibre per second of signal (topic {region}.fiber.das)\n"
        "Every event carries its ground truth in the x-synthetic-label header.\n\n" + settings_help(EdgeSettings),
    )
    generate.add_argument(
        "name", choices=GENERATORS + tuple(GENERATOR_ALIASES), metavar="NAME",
        help=f"which traffic: {', '.join(GENERATORS)} (or the pipeline name that reads it)",
    )
    generate.add_argument(
        "--rate", type=float, default=None,
        help="events per second (default: kpi 1000, utterances 20, das one window per fibre per second)",
    )
    generate.add_argument("--count", type=int, default=None, help="stop after N events (default: until Ctrl-C)")
    generate.add_argument("--cells", type=int, default=200, help="kpi: cells at the site, in eNBs of 3 (default 200)")
    generate.add_argument("--sessions", type=int, default=50, help="utterances: concurrent sessions (default 50)")
    generate.add_argument("--pii-rate", type=float, default=0.15, help="utterances: share of customer turns with personal data")
    generate.add_argument("--fibers", type=int, default=4, help="das: fibre segments (default 4)")
    generate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    generate.add_argument("--anomaly-rate", type=float, default=0.004, help="kpi: incident start chance per cell-period")
    generate.add_argument("--event-rate", type=float, default=0.2, help="das: event start chance per fibre-window")
    bench = commands.add_parser(
        "bench", help="benchmarks that print figures", formatter_class=raw,
        epilog="accel: closed-loop Open Inference Protocol load (Triton's client) over a grid of concurrency,\n"
        "  request batch and unary/stream, against our server (or --url), beside the in-process ONNX Runtime\n"
        "  and bare gRPC echo ceilings.\n"
        "pipeline: the KPI anomaly pipeline against a real accelerator, beside the raw aiokafka ceiling.\n"
        "kernels: each native kernel against its NumPy reference on realistic sizes.\n"
        "accel-soak: good and hostile requests (60 MiB BYTES included) against a server process, health-checked.\n"
        "cs-insights: utterances per second through redaction alone and the customer-service pipeline's batch step.",
    )
    bench.add_argument("target", choices=BENCHES, help="what to measure")
    bench.add_argument("--url", default=None, help="accel: host:port of a server to measure (default: start ours)")
    bench.add_argument("--model", default=None, help="accel: model at --url (default the reference kpi-autoencoder)")
    bench.add_argument("--server-pid", type=int, default=None, help="accel: pid of the --url server, to measure its CPU")
    bench.add_argument("--concurrency", default="1,8,32,64", help="accel: concurrent requests (default 1,8,32,64)")
    bench.add_argument("--batch", default="1,16,256", help="accel: rows per request (default 1,16,256)")
    bench.add_argument("--modes", default="unary,stream", help="accel: unary, stream or both (default both)")
    bench.add_argument("--duration-s", type=float, default=3.0, help="accel: measured seconds per cell (default 3)")
    bench.add_argument("--profile-server", type=Path, default=None, help="accel: cProfile our server into this file")
    bench.add_argument("--events", type=int, default=50_000, help="pipeline: backlog size (default 50000)")
    bench.add_argument("--latency-seconds", type=float, default=10.0, help="pipeline: paced phase length (default 10)")
    bench.add_argument("--feed-interval-ms", type=float, default=10.0,
                       help="pipeline: the paced producer sends one record batch per partition this often (default 10)")
    bench.add_argument("--seconds", type=float, default=30.0, help="accel-soak: how long the load runs (default 30)")
    bench.add_argument("--utterances", type=int, default=20_000, help="cs-insights: utterances (default 20000)")
    bench.add_argument("--json", type=Path, default=None, help="also write the figures as JSON to this file")
    return parser


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _settings_error(exc: ValidationError) -> SystemExit:
    """One line per bad setting, named as the environment variable that set it."""
    from pydantic_settings import BaseSettings

    from pipelines.registry import PIPELINES

    classes: list[type[BaseSettings]] = [EdgeSettings, PipelineSettings, AccelSettings, *(p.settings for p in PIPELINES.values())]
    prefixes = {cls.__name__: str(cls.model_config.get("env_prefix", "")) for cls in classes}
    prefix = prefixes.get(exc.title, exc.title.removesuffix("Settings").upper() + "_")
    lines = []
    for error in exc.errors():
        field = "_".join(str(p) for p in error["loc"]).upper() or "*"  # a check across fields has no loc
        lines.append(f"  {prefix}{field}: {error['msg']}")
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
    except SiteConfigError as exc:
        raise SystemExit(f"invalid settings: {exc}") from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def _demo(args: argparse.Namespace) -> None:
    from edgectl.demo import DemoOptions, run_demo

    _configure_logging("WARNING")
    if args.seconds is not None and args.seconds <= 0:
        raise SystemExit(f"--seconds must be > 0, got {args.seconds}")
    try:
        options = DemoOptions(
            seconds=args.seconds, rate_per_s=args.rate, cells=args.cells, utterance_rate_per_s=args.utterance_rate,
            sessions=args.sessions, fibers=args.fibers, pipelines=tuple(args.pipelines.split(",")),
            region=args.region, site_id=args.site_id,
        )
    except ValueError as exc:
        raise SystemExit(f"edge demo: {exc}") from None
    print(asyncio.run(run_demo(options)), flush=True)


def _broker(args: argparse.Namespace) -> None:
    from edge.lifecycle import install_stop_signals
    from edgectl.broker import EmbeddedBroker

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

    edge = EdgeSettings()  # region and site come from the environment
    _configure_logging(edge.log_level)
    try:
        asyncio.run(serve(settings, edge, args.ready_file))
    except (TlsConfigError, ModelConfigError) as exc:
        raise SystemExit(f"edge accel serve: {exc}") from None


def _pipeline_run(args: argparse.Namespace) -> None:
    from pipelines.main import run_pipeline
    from pipelines.registry import PIPELINES

    if args.name not in PIPELINES:
        raise SystemExit(f"unknown pipeline {args.name!r}; available: {', '.join(sorted(PIPELINES))}")
    from pipelines.errors import StartupRefused

    edge = EdgeSettings()
    settings = PipelineSettings()
    _configure_logging(edge.log_level)
    try:
        asyncio.run(run_pipeline(args.name, edge, settings))
    except StartupRefused as exc:
        raise SystemExit(f"edge pipeline run {args.name}: refusing to start: {exc}") from None


def _traffic_generator(name: str, args: argparse.Namespace, edge: EdgeSettings) -> tuple[TrafficGenerator, str]:
    """The generator called `name` (after aliases) and the topic it feeds."""
    from edge.topics import SiteTopics
    from edgectl.synthetic.co_sited_cells import CoSitedCells
    from edgectl.synthetic.das import DasWindowGenerator
    from edgectl.synthetic.utterances import UtteranceGenerator

    topics = SiteTopics(edge.region)
    if name == "kpi":
        if args.cells < 1:
            raise SystemExit(f"--cells must be >= 1, got {args.cells}")
        if not 0 <= args.anomaly_rate <= 1:
            raise SystemExit(f"--anomaly-rate must be within [0, 1], got {args.anomaly_rate}")
        cells = CoSitedCells(
            edge.region, edge.site_id, enbs=-(-args.cells // 3), cells_per_enb=min(3, args.cells), seed=args.seed,
            granularity_s=60, anomaly_rate=args.anomaly_rate,
        )
        return cells, topics.kpi
    if name == "utterances":
        if args.sessions < 1 or not 0 <= args.pii_rate <= 1:
            raise SystemExit(f"--sessions must be >= 1 and --pii-rate within [0, 1], got {args.sessions}, {args.pii_rate}")
        return UtteranceGenerator(edge.region, edge.site_id, sessions=args.sessions, seed=args.seed,
                                  pii_rate=args.pii_rate), topics.cs_utterances
    if args.fibers < 1 or not 0 <= args.event_rate <= 1:
        raise SystemExit(f"--fibers must be >= 1 and --event-rate within [0, 1], got {args.fibers}, {args.event_rate}")
    return DasWindowGenerator(edge.region, edge.site_id, fibers=args.fibers, seed=args.seed,
                              event_rate=args.event_rate), topics.fiber_das


def _generate(args: argparse.Namespace) -> None:
    from aiokafka import AIOKafkaProducer

    from edge.kafka import producer_options
    from edge.lifecycle import install_stop_signals
    from edgectl.traffic import produce_traffic

    name = GENERATOR_ALIASES.get(args.name, args.name)
    edge = EdgeSettings()
    _configure_logging(edge.log_level)
    generator, topic = _traffic_generator(name, args, edge)
    rate = args.rate if args.rate is not None else {"kpi": 1000.0, "utterances": 20.0, "das": float(args.fibers)}[name]
    if rate <= 0:
        raise SystemExit(f"--rate must be > 0 events/s, got {rate}")
    if args.count is not None and args.count < 1:
        raise SystemExit(f"--count must be >= 1, got {args.count}")

    async def produce() -> int:
        stop = asyncio.Event()
        install_stop_signals(stop)
        producer = AIOKafkaProducer(**producer_options(edge))
        await producer.start()
        try:
            return await produce_traffic(producer, topic, generator, rate_per_s=rate, count=args.count, stop=stop)
        finally:
            await producer.stop()

    sent = asyncio.run(produce())
    print(f"generated={sent} topic={topic}", flush=True)


def _int_list(option: str, text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise SystemExit(f"{option} must be comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise SystemExit(f"{option} values must be >= 1, got {text!r}")
    return values


def _bench_accel(args: argparse.Namespace) -> None:
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


def _bench(args: argparse.Namespace) -> None:
    _configure_logging("WARNING")
    if args.target == "accel":
        _bench_accel(args)
    elif args.target == "pipeline":
        from edgectl.bench.pipeline import (
            PipelineBenchOptions,
            as_json,
            format_report,
            run_pipeline_bench,
        )

        if args.events < 1000:
            raise SystemExit(f"--events must be >= 1000, got {args.events}")
        if not 1 <= args.feed_interval_ms <= 1000:
            raise SystemExit(f"--feed-interval-ms must be between 1 and 1000, got {args.feed_interval_ms}")
        options = PipelineBenchOptions(events=args.events, latency_s=args.latency_seconds,
                                       feed_interval_s=args.feed_interval_ms / 1000)
        result = asyncio.run(run_pipeline_bench(options))
        print(format_report(result))
        if args.json is not None:
            args.json.write_text(as_json(result) + "\n")
    elif args.target == "accel-soak":
        from edgectl.bench.accel_soak import soak_from_cli

        soak_from_cli(args.seconds, args.json)
    elif args.target == "cs-insights":
        from edgectl.bench.cs_insights import CsInsightsBenchOptions, run_cs_insights_bench
        from edgectl.bench.cs_insights import as_json as cs_json
        from edgectl.bench.cs_insights import format_report as cs_report

        if args.utterances < 1000:
            raise SystemExit(f"--utterances must be >= 1000, got {args.utterances}")
        cs_result = asyncio.run(run_cs_insights_bench(CsInsightsBenchOptions(utterances=args.utterances)))
        print(cs_report(cs_result))
        if args.json is not None:
            args.json.write_text(cs_json(cs_result) + "\n")
    elif args.target == "kernels":
        import orjson

        from edgectl.bench.kernels import format_table, run_kernel_bench

        results = run_kernel_bench()
        print(format_table(results))
        if args.json is not None:
            args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY) + b"\n")
