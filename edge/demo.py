"""`edge demo`: the whole site on loopback (broker, accelerator process, KPI anomaly pipeline and
synthetic traffic) with a live progress line and a one-line `key=value` summary at the end."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaProducer

from edge.accel_process import AccelProcess
from edge.broker import EmbeddedBroker, create_topics, free_port
from edge.kafka import producer_options
from edge.lifecycle import install_stop_signals
from edge.settings import EdgeSettings
from edge.synthetic.cell_kpi import CellKpiGenerator
from edge.topics import SiteTopics
from edge.traffic import produce_traffic
from pipelines.accel_client import AcceleratorClient
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.main import run_until_stopped
from pipelines.runtime import PipelineRuntime
from pipelines.settings import PipelineSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoOptions:
    """What `edge demo` runs, e.g. `DemoOptions(seconds=30, rate_per_s=2000, cells=200)`."""

    seconds: float | None = None
    rate_per_s: float = 2000.0
    cells: int = 200
    partitions: int = 6
    malformed_every: int = 1000
    region: str = "kr-seoul"
    site_id: str = "SEL-GN-0042"
    accel_start_timeout_s: float = 60.0
    drain_timeout_s: float = 15.0


class _Progress:
    def __init__(self, runtime: PipelineRuntime) -> None:
        self.runtime = runtime
        self.produced = 0
        self.started = time.monotonic()
        self._tty = sys.stderr.isatty()

    def sent(self, n: int) -> None:
        self.produced += n

    def line(self) -> str:
        s = self.runtime.stats
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (
            f"[{elapsed:5.0f}s] produced={self.produced} events_in={s.events_in} scores_out={s.results_out} "
            f"anomalies={s.anomalies} dlq={s.dlq} rate={s.events_in / elapsed:.0f} ev/s"
        )

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
            }
            edge = EdgeSettings(
                region=options.region,
                site_id=options.site_id,
                kafka_bootstrap_servers=broker.bootstrap_servers,
                # The embedded broker cannot serve aiokafka's idempotent producer (see README).
                kafka_enable_idempotence=False,
                accel_targets=f"127.0.0.1:{accel_port}",
            )
            accel_process = AccelProcess(env, workdir)
            sys.stderr.write(f"broker on {broker.bootstrap_servers}; starting accelerator on 127.0.0.1:{accel_port} ...\n")
            await accel_process.start(options.accel_start_timeout_s)
            try:
                return await _run_site(options, edge, topics, stop)
            finally:
                await accel_process.stop()


async def _run_site(options: DemoOptions, edge: EdgeSettings, topics: SiteTopics, stop: asyncio.Event) -> str:
    settings = PipelineSettings(session_timeout_ms=6000, health_port=0)
    generator = CellKpiGenerator(options.region, options.site_id, cells=options.cells, seed=int(time.time()))
    async with AcceleratorClient(edge, timeout_s=settings.infer_timeout_s, attempts=settings.infer_attempts) as accel:
        pipeline = KpiAnomalyPipeline(options.region, options.site_id, accel)
        producer = AIOKafkaProducer(**producer_options(edge))
        await producer.start()
        try:
            async with PipelineRuntime(pipeline, edge, settings) as runtime:
                progress = _Progress(runtime)
                traffic_done = asyncio.Event()
                pipeline_stop = asyncio.Event()
                sys.stderr.write(
                    f"site {options.region}/{options.site_id}: {options.cells} cells at {options.rate_per_s:.0f} events/s"
                    + (f" for {options.seconds:.0f} s" if options.seconds else " (Ctrl-C to stop)")
                    + "\n"
                )

                async def traffic() -> None:
                    try:
                        await produce_traffic(
                            producer, topics.kpi, generator, rate_per_s=options.rate_per_s, count=None,
                            stop=stop, on_sent=progress.sent, malformed_every=options.malformed_every,
                        )
                    finally:
                        traffic_done.set()

                async def timer() -> None:
                    if options.seconds is not None:
                        try:
                            await asyncio.wait_for(stop.wait(), options.seconds)
                        except TimeoutError:
                            stop.set()

                async def drain() -> None:
                    await traffic_done.wait()
                    loop = asyncio.get_running_loop()
                    until = loop.time() + options.drain_timeout_s
                    while runtime.stats.events_in < progress.produced and loop.time() < until:
                        await asyncio.sleep(0.1)
                    pipeline_stop.set()

                async with asyncio.TaskGroup() as tasks:
                    tasks.create_task(traffic())
                    tasks.create_task(timer())
                    tasks.create_task(drain())
                    tasks.create_task(progress.show(pipeline_stop))
                    tasks.create_task(run_until_stopped(runtime, pipeline_stop, settings.grace_period_s))
                elapsed = time.monotonic() - progress.started
                s = runtime.stats
                return (
                    f"summary: events_in={s.events_in} scores_out={s.results_out} anomalies={s.anomalies} "
                    f"dlq={s.dlq} produced={progress.produced} seconds={elapsed:.1f} "
                    f"events_per_s={s.events_in / elapsed:.0f}"
                )
        finally:
            await producer.stop()
