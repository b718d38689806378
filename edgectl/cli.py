"""The `edge` command: demo, embedded broker, accelerator server, pipelines and traffic generators."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from accel.settings import AccelSettings
from edge.errors import SiteConfigError
from edge.settings import EdgeSettings
from edgectl.bench_cli import add_bench_commands, run_bench
from edgectl.broker import BrokerUnavailable
from edgectl.pm.command import add_import_commands, run_import
from edgectl.settings_help import settings_help
from edgectl.synthetic import TrafficGenerator
from pipelines.cs_insights.settings import CsInsightsSettings
from pipelines.energy_saving.settings import EnergySavingSettings
from pipelines.fiber_sensing.settings import FiberSensingSettings
from pipelines.kpi_anomaly.settings import KpiAnomalySettings
from pipelines.settings import PipelineSettings
from pipelines.ves.settings import VesSettings

GENERATORS = ("kpi", "utterances", "das")
GENERATOR_ALIASES = {"kpi-anomaly": "kpi", "energy-saving": "kpi", "cs-insights": "utterances", "fiber-sensing": "das"}
"""Each pipeline's name also names the traffic it reads."""
PIPELINE_NAMES = ("kpi-anomaly", "energy-saving", "cs-insights", "fiber-sensing")
PIPELINE_SETTINGS = (KpiAnomalySettings, EnergySavingSettings, CsInsightsSettings, FiberSensingSettings, VesSettings)
"""Each pipeline's own settings classes, for `edge pipeline run --help` and for naming a bad one."""


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
    demo.add_argument(
        "--kpi-format", choices=("native", "ves"), default="native",
        help="cell KPIs as ran.cell_kpi.v1 (default), or as VES perf3gpp events that the KPI pipelines read",
    )
    demo.add_argument(
        "--metrics-port", type=int, default=0,
        help="serve the pipelines' Prometheus metrics on 127.0.0.1:PORT/metrics for a Prometheus to scrape (default off)",
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
        epilog=settings_help(PipelineSettings, EdgeSettings, *PIPELINE_SETTINGS),
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
    generate.add_argument(
        "--format", choices=("native", "ves", "ves-measurement"), default="native",
        help="kpi: native ran.cell_kpi.v1 events to {region}.ran.kpi (default), or VES 7.2 events to "
        "{region}.ves.measurements, one record per gNB and period: perf3gpp (ves) or measurement (ves-measurement); "
        "the KPI pipelines read them with VES_KPI_TOPICS={region}.ves.measurements",
    )
    generate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    generate.add_argument("--anomaly-rate", type=float, default=0.004, help="kpi: incident start chance per cell-period")
    generate.add_argument("--event-rate", type=float, default=0.2, help="das: event start chance per fibre-window")
    alarms = commands.add_parser("alarms", help="the region's open alarms (what an OSS resynchronises from)")
    alarm_commands = alarms.add_subparsers(dest="alarms_command", required=True, metavar="ACTION")
    listing = alarm_commands.add_parser(
        "list", help="list the open alarms of EDGE_REGION", formatter_class=raw,
        description="The open alarms of EDGE_REGION, read from its compacted {region}.ran.alarms-open topic: each "
        "alarm's latest notification (raised or changed), less those cleared.",
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per line, as published, instead of a table")
    listing.add_argument("--timeout", type=float, default=60.0, help="seconds to read the list within (default 60)")
    importing = commands.add_parser("import", help="replay an operator's history (PM files) through the pipelines")
    add_import_commands(importing, settings_help(EdgeSettings))
    bench = commands.add_parser(
        "bench", help="benchmarks that print figures",
        description="Benchmarks that print figures; `edge bench BENCH --help` lists a bench's options.",
    )
    add_bench_commands(bench)
    return parser


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _settings_error(exc: ValidationError) -> SystemExit:
    """One line per bad setting, named as the environment variable that set it."""
    classes: list[type[BaseSettings]] = [EdgeSettings, PipelineSettings, AccelSettings, *PIPELINE_SETTINGS]
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
        elif args.command == "alarms":
            _alarms_list(args)
        elif args.command == "import":
            _configure_logging("WARNING")
            run_import(args)
        elif args.command == "bench":
            _configure_logging("WARNING")
            run_bench(args)
    except ValidationError as exc:
        raise _settings_error(exc) from None
    except SiteConfigError as exc:
        raise SystemExit(f"invalid settings: {exc}") from None
    except BrokerUnavailable as exc:
        raise SystemExit(f"edge {args.command}: {exc}") from None
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
            region=args.region, site_id=args.site_id, kpi_format=args.kpi_format, metrics_port=args.metrics_port,
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
    from pipelines.errors import ReplicaFenced, StartupRefused, StateRefused

    edge = EdgeSettings()
    settings = PipelineSettings()
    _configure_logging(edge.log_level)
    try:
        asyncio.run(run_pipeline(args.name, edge, settings))
    except StartupRefused as exc:
        raise SystemExit(f"edge pipeline run {args.name}: refusing to start: {exc}") from None
    except (ReplicaFenced, StateRefused) as exc:
        raise SystemExit(f"edge pipeline run {args.name}: stopped: {exc}") from None


def _alarms_list(args: argparse.Namespace) -> None:
    import orjson
    from aiokafka.errors import KafkaConnectionError

    from edgectl.alarms import AlarmListUnavailable, alarm_table, open_alarms

    edge = EdgeSettings()
    _configure_logging(edge.log_level)
    try:
        alarms = asyncio.run(open_alarms(edge, args.timeout))
    except AlarmListUnavailable as exc:
        raise SystemExit(f"edge alarms list: {exc}") from None
    except KafkaConnectionError:
        raise SystemExit(f"edge alarms list: cannot reach the brokers at {edge.kafka_bootstrap_servers}") from None
    if args.json:
        for alarm in alarms:
            sys.stdout.write(orjson.dumps(alarm).decode() + "\n")
    else:
        print(alarm_table(alarms))


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
        if args.format != "native":
            from edgectl.synthetic.ves import VesTraffic

            return VesTraffic(cells, "perf3gpp" if args.format == "ves" else "measurement"), topics.ves_measurements
        return cells, topics.kpi
    if args.format != "native":
        raise SystemExit(f"--format {args.format} is for kpi traffic; {name} has the native format only")
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
    from edge.kafka import start_producer
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
        producer = await start_producer(edge)
        try:
            return await produce_traffic(producer, topic, generator, rate_per_s=rate, count=args.count, stop=stop)
        finally:
            await producer.stop()

    sent = asyncio.run(produce())
    print(f"generated={sent} topic={topic}", flush=True)
