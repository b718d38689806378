"""`edge demo`: the whole site on loopback (broker, accelerator process, every pipeline and their
synthetic traffic) with a live progress line and a one-line `key=value` summary at the end."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from aiokafka import AIOKafkaProducer

from edge.kafka import producer_options
from edge.lifecycle import install_stop_signals
from edge.settings import EdgeSettings
from edge.telemetry import configure_metrics
from edge.topics import SiteTopics
from edgectl.accel_process import AccelProcess
from edgectl.broker import EmbeddedBroker, create_topics, free_port
from edgectl.synthetic import TrafficGenerator
from edgectl.synthetic.co_sited_cells import CoSitedCells
from edgectl.synthetic.das import DasWindowGenerator
from edgectl.synthetic.utterances import UtteranceGenerator
from edgectl.synthetic.ves import VesTraffic
from edgectl.traffic import produce_traffic
from pipelines.accel_client import AcceleratorClient
from pipelines.base import Pipeline
from pipelines.main import run_until_stopped
from pipelines.registry import PIPELINES, build_pipeline, read_ves
from pipelines.runtime import PipelineRuntime
from pipelines.settings import PipelineSettings
from pipelines.ves.settings import VesSettings

log = logging.getLogger(__name__)

DEMO_START = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
"""01:00 in Seoul: the cell traffic starts in the night, so energy saving has something to do."""
SUMMARY_NAMES = {
    "kpi-anomaly": ("scores_out", "anomalies"),
    "energy-saving": ("forecasts_out", "recommendations"),
    "cs-insights": ("insights_out", "high_churn"),
    "fiber-sensing": ("alerts_out", "alerts"),
}
"""What each pipeline's results and actionable results are called in the progress and summary."""


@dataclass(frozen=True)
class DemoOptions:
    """What `edge demo` runs, e.g. `DemoOptions(seconds=30, rate_per_s=2000, cells=200)`."""

    seconds: float | None = None
    rate_per_s: float = 2000.0
    """Cell KPI events per second (read by kpi-anomaly and energy-saving)."""
    cells: int = 200
    utterance_rate_per_s: float = 40.0
    sessions: int = 40
    fibers: int = 4
    """Fibre segments; each sends one DAS window per second."""
    pipelines: tuple[str, ...] = tuple(PIPELINES)
    partitions: int = 6
    malformed_every: int = 1000
    """One deliberately broken record in this many, in the cell KPI and utterance traffic."""
    region: str = "kr-seoul"
    site_id: str = "SEL-GN-0042"
    metrics_port: int = 0
    """Serve the pipelines' Prometheus metrics at 127.0.0.1:`metrics_port`/metrics (0: off)."""
    kpi_format: Literal["native", "ves"] = "native"
    """`ves`: the cell KPIs go out as VES perf3gpp events (one per gNB and period) to
    `{region}.ves.measurements`, which the KPI pipelines read instead of `{region}.ran.kpi`."""
    accel_start_timeout_s: float = 60.0
    drain_timeout_s: float = 15.0

    def __post_init__(self) -> None:
        unknown = [name for name in self.pipelines if name not in PIPELINES]
        if unknown or not self.pipelines:
            raise ValueError(f"pipelines must be among {', '.join(PIPELINES)}, got {', '.join(self.pipelines)!r}")
        for name, value in (("rate_per_s", self.rate_per_s), ("utterance_rate_per_s", self.utterance_rate_per_s)):
            if value <= 0:
                raise ValueError(f"{name} must be > 0 events/s, got {value}")
        if not 0 <= self.metrics_port <= 65535:
            raise ValueError(f"metrics_port must be a TCP port from 0 (off) to 65535, got {self.metrics_port}")
        for name, count in (("cells", self.cells), ("sessions", self.sessions), ("fibers", self.fibers)):
            if count < 1:
                raise ValueError(f"{name} must be >= 1, got {count}")


@dataclass
class _Feed:
    """One synthetic source: what it produces, where, how fast, and how much it has sent."""

    name: str
    topic: str
    generator: TrafficGenerator
    rate_per_s: float
    malformed_every: int
    produced: int = 0

    def sent(self, n: int) -> None:
        self.produced += n


def _feeds(options: DemoOptions, topics: SiteTopics, seed: int) -> dict[str, _Feed]:
    """The sources the chosen pipelines read, by topic."""
    wanted = set(options.pipelines)
    feeds: list[_Feed] = []
    if wanted & {"kpi-anomaly", "energy-saving"}:
        cells = CoSitedCells(
            options.region, options.site_id, enbs=-(-options.cells // 3), cells_per_enb=min(3, options.cells),
            seed=seed, start=DEMO_START, granularity_s=60, anomaly_rate=0.004,
        )
        if options.kpi_format == "ves":
            # One record per gNB and period carries its cells: the samples keep the rate asked.
            per_record = min(3, options.cells)
            feeds.append(_Feed("cell KPIs as VES perf3gpp", topics.ves_measurements, VesTraffic(cells),
                               options.rate_per_s / per_record, options.malformed_every))
        else:
            feeds.append(_Feed("cell KPIs", topics.kpi, cells, options.rate_per_s, options.malformed_every))
    if "cs-insights" in wanted:
        utterances = UtteranceGenerator(options.region, options.site_id, sessions=options.sessions, seed=seed)
        feeds.append(_Feed("utterances", topics.cs_utterances, utterances, options.utterance_rate_per_s,
                           max(1, options.malformed_every // 10)))
    if "fiber-sensing" in wanted:
        das = DasWindowGenerator(options.region, options.site_id, fibers=options.fibers, seed=seed)
        feeds.append(_Feed("DAS windows", topics.fiber_das, das, float(options.fibers), 0))
    return {feed.topic: feed for feed in feeds}


class _Progress:
    def __init__(self, runtimes: Sequence[PipelineRuntime], feeds: dict[str, _Feed]) -> None:
        self.runtimes = runtimes
        self.feeds = feeds
        self.started = time.monotonic()
        self._tty = sys.stderr.isatty()

    def elapsed_s(self) -> float:
        return max(time.monotonic() - self.started, 1e-9)

    def line(self) -> str:
        parts = [f"[{self.elapsed_s():5.0f}s]"]
        for runtime in self.runtimes:
            s, (results, actions) = runtime.stats, SUMMARY_NAMES[runtime.pipeline.name]
            parts.append(
                f"{runtime.pipeline.name}: events_in={s.events_in} {results}={s.results_out} "
                f"{actions}={s.anomalies} dlq={s.dlq}"
            )
        return " | ".join(parts)

    async def show(self, stop: asyncio.Event) -> None:
        interval = 1.0 if self._tty else 5.0
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass
            text = self.line()
            sys.stderr.write(f"\r{text}\x1b[K" if self._tty else f"{text}\n")
            sys.stderr.flush()
        if self._tty:
            sys.stderr.write("\n")

    def produced_for(self, runtime: PipelineRuntime) -> int:
        """Records produced to the topics a pipeline reads (not every topic it reads is fed)."""
        return sum(feed.produced for topic, feed in self.feeds.items() if topic in runtime.pipeline.input_topics)

    def drained(self) -> bool:
        """Every pipeline has committed everything produced to the topics it reads."""
        return all(
            runtime.stats.events_in >= self.produced_for(runtime)
            for runtime in self.runtimes
        )

    def summary(self) -> str:
        """The first pipeline's figures unprefixed (the KPI anomaly pipeline's, by default, so
        scripts read `events_in=`, `scores_out=`, `anomalies=`, `dlq=`), then every pipeline's
        prefixed with its name."""
        elapsed = self.elapsed_s()
        first = self.runtimes[0]
        produced = self.produced_for(first)
        s = first.stats
        pairs = [
            f"events_in={s.events_in}", f"scores_out={s.results_out}", f"anomalies={s.anomalies}", f"dlq={s.dlq}",
            f"produced={produced}", f"seconds={elapsed:.1f}", f"events_per_s={s.events_in / elapsed:.0f}",
        ]
        for runtime in self.runtimes:
            name, s = runtime.pipeline.name, runtime.stats
            results, actions = SUMMARY_NAMES[name]
            produced = self.produced_for(runtime)
            pairs += [
                f"{name}.events_in={s.events_in}", f"{name}.{results}={s.results_out}",
                f"{name}.{actions}={s.anomalies}", f"{name}.dlq={s.dlq}", f"{name}.produced={produced}",
            ]
        return "summary: " + " ".join(pairs)


async def run_demo(options: DemoOptions) -> str:
    """Run the demo; return the summary line."""
    stop = asyncio.Event()
    install_stop_signals(stop)
    topics = SiteTopics(options.region)
    with tempfile.TemporaryDirectory(prefix="edge-demo-") as tmp:
        workdir = Path(tmp)
        async with EmbeddedBroker(log_file=workdir / "broker.log") as broker:
            await create_topics(broker.bootstrap_servers, topics.all(), options.partitions)
            accel_port = free_port()
            env = os.environ | {
                "EDGE_REGION": options.region,
                "EDGE_SITE_ID": options.site_id,
                "ACCEL_HOST": "127.0.0.1",
                "ACCEL_PORT": str(accel_port),
                # Loopback for every listener, should the environment turn metrics or health on.
                "ACCEL_METRICS_HOST": "127.0.0.1",
                "ACCEL_HEALTH_HOST": "127.0.0.1",
            }
            edge = EdgeSettings(
                region=options.region,
                site_id=options.site_id,
                kafka_bootstrap_servers=broker.bootstrap_servers,
                # The embedded broker cannot serve aiokafka's idempotent producer (see README).
                kafka_enable_idempotence=False,
                accel_targets=f"127.0.0.1:{accel_port}",
            )
            if options.metrics_port:
                configure_metrics(edge, "sovereign-edge-demo", options.metrics_port, "127.0.0.1")
                sys.stderr.write(f"pipeline metrics on http://127.0.0.1:{options.metrics_port}/metrics\n")
            accel_process = AccelProcess(env, workdir)
            sys.stderr.write(f"broker on {broker.bootstrap_servers}; starting accelerator on 127.0.0.1:{accel_port} ...\n")
            await accel_process.start(options.accel_start_timeout_s)
            try:
                return await _run_site(options, edge, topics, stop)
            finally:
                await accel_process.stop()


async def _run_site(options: DemoOptions, edge: EdgeSettings, topics: SiteTopics, stop: asyncio.Event) -> str:
    # Nothing of the demo listens beyond loopback, should a port be turned on.
    settings = PipelineSettings(session_timeout_ms=6000, metrics_host="127.0.0.1")
    feeds = _feeds(options, topics, seed=int(time.time()))
    async with AcceleratorClient(edge, timeout_s=settings.infer_timeout_s, attempts=settings.infer_attempts) as accel:
        # One client serves every pipeline here; the first one audits the accelerators it refuses.
        runtimes = [
            PipelineRuntime(
                _demo_pipeline(name, options, edge, accel, settings), edge, settings,
                accelerator_notices=None if i else accel.notices,
            )
            for i, name in enumerate(options.pipelines)
        ]
        producer = AIOKafkaProducer(**producer_options(edge))
        await producer.start()
        started: list[PipelineRuntime] = []
        try:
            for runtime in runtimes:
                await runtime.start()
                started.append(runtime)
            progress = _Progress(runtimes, feeds)
            sys.stderr.write(
                f"site {options.region}/{options.site_id}: "
                + ", ".join(f"{feed.name} at {feed.rate_per_s:g}/s" for feed in feeds.values())
                + f"; pipelines {', '.join(options.pipelines)}"
                + (f" for {options.seconds:.0f} s" if options.seconds else " (Ctrl-C to stop)")
                + "\n"
            )
            await _run_until_drained(options, runtimes, feeds, progress, producer, stop, settings.grace_period_s)
            return progress.summary()
        finally:
            for runtime in reversed(started):
                await runtime.stop()
            await producer.stop()


def _demo_pipeline(
    name: str, options: DemoOptions, edge: EdgeSettings, accel: AcceleratorClient, settings: PipelineSettings
) -> Pipeline[Any]:
    """A pipeline as `edge pipeline run` builds it; with VES traffic, the KPI pipelines read it."""
    pipeline = build_pipeline(name, edge, accel, settings)
    if options.kpi_format == "ves" and name in ("kpi-anomaly", "energy-saving"):
        read_ves(pipeline, VesSettings(kpi_topics=SiteTopics(options.region).ves_measurements))
    return pipeline


async def _run_until_drained(
    options: DemoOptions,
    runtimes: list[PipelineRuntime],
    feeds: dict[str, _Feed],
    progress: _Progress,
    producer: AIOKafkaProducer,
    stop: asyncio.Event,
    grace_period_s: float,
) -> None:
    """Produce every feed until `stop` (or `seconds`), let the pipelines drain, then stop them."""
    pipelines_stop = asyncio.Event()
    traffic_left = len(feeds)

    async def traffic(feed: _Feed) -> None:
        nonlocal traffic_left
        try:
            await produce_traffic(
                producer, feed.topic, feed.generator, rate_per_s=feed.rate_per_s, count=None, stop=stop,
                on_sent=feed.sent, malformed_every=feed.malformed_every,
            )
        finally:
            traffic_left -= 1

    async def timer() -> None:
        if options.seconds is not None:
            try:
                await asyncio.wait_for(stop.wait(), options.seconds)
            except TimeoutError:
                stop.set()

    async def drain() -> None:
        await stop.wait()
        loop = asyncio.get_running_loop()
        until = loop.time() + options.drain_timeout_s
        while (traffic_left or not progress.drained()) and loop.time() < until:
            await asyncio.sleep(0.1)
        pipelines_stop.set()

    async with asyncio.TaskGroup() as tasks:
        for feed in feeds.values():
            tasks.create_task(traffic(feed))
        tasks.create_task(timer())
        tasks.create_task(drain())
        tasks.create_task(progress.show(pipelines_stop))
        for runtime in runtimes:
            tasks.create_task(run_until_stopped(runtime, pipelines_stop, grace_period_s))
