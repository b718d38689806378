"""`edge bench pipeline`: the KPI anomaly pipeline against the embedded broker and a real
accelerator process, beside the raw aiokafka ceiling measured in the same run.

Phases, one after another so they do not share the CPU:
1. pre-fill `{region}.ran.kpi` with N synthetic events;
2. raw ceiling: consume the backlog and produce each record once (send per record), no processing,
   in batches of the pipeline's size;
3. pipeline: consume the same backlog through decode, windows, features, gRPC inference, score
   and alert outputs, offsets committed after every ack; once with the Python/NumPy references
   of the native kernels and codec, once with the selected (normally native) ones;
4. latency: a producer process of its own (`paced_feed`) sends events at half the pipeline's
   sustained rate, one record batch per partition every `feed_interval_s`; each event's latency
   is from its production to its score record (wall-clock milliseconds). Then a second paced
   run measures it to the moment a consumer process receives the score: that consumer takes
   a fifth of a core beside the pipeline, broker and producer on the same machine, so the
   first figure is measured without it;
5. exactly-once (when asked; Apache Kafka only): phases 3 and 4 again with
   `PIPELINE_DELIVERY=exactly-once`, in a consumer group and state topic of their own, the
   latency measured at a `read_committed` consumer, which sees a score only once its
   transaction is committed. Both modes' figures come from the same run, so they compare.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from edge.lifecycle import tune_garbage_collection
from edge.settings import EdgeSettings
from edge.topics import SiteTopics
from edgectl.accel_process import AccelProcess
from edgectl.apache_kafka import KafkaCluster
from edgectl.bench.paced_feed import LatencyWatch, paced_latencies_ms, partition_ids, run_paced_feed
from edgectl.broker import EmbeddedBroker, create_topics, free_port
from edgectl.synthetic import LabelledEvent
from edgectl.synthetic.cell_kpi import CellKpiGenerator
from kernels import IMPLEMENTATION, ImplementationName, load_kernels
from pipelines.accel_client import AcceleratorClient
from pipelines.kpi_anomaly.codec import load_codec
from pipelines.kpi_anomaly.features import CellWindows
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.main import run_until_stopped
from pipelines.runtime import PipelineRuntime
from pipelines.settings import PipelineSettings

REGION, SITE = "kr-seoul", "BENCH-0001"
BenchBroker = Literal["tansu", "kafka"]
Delivery = Literal["at-least-once", "exactly-once"]


@dataclass(frozen=True)
class PipelineBenchOptions:
    """Sizes of one run, e.g. `PipelineBenchOptions(events=200_000, latency_s=10)`."""

    events: int = 200_000
    """The backlog: the sustained rate, half of which paces the latency phase, is measured over
    it (50,000 events were half a second of work, too little to call sustained)."""
    partitions: int = 6
    cells: int = 500
    latency_s: float = 10.0
    feed_interval_s: float = 0.010
    """How often the paced producer sends (one record batch per partition each time)."""
    phase_timeout_s: float = 180.0
    broker: BenchBroker = "tansu"
    """`tansu`, the embedded broker, or `kafka`: one Apache Kafka node (KRaft) from `.tools/kafka`,
    with the idempotent producer on, as in production."""
    deliveries: tuple[Delivery, ...] = ("at-least-once",)
    """The delivery modes measured; `exactly-once` needs `broker="kafka"` (Tansu has no transactions)."""

    def __post_init__(self) -> None:
        if "exactly-once" in self.deliveries and self.broker != "kafka":
            raise ValueError("exactly-once needs transactions: measure it with broker kafka")


@asynccontextmanager
async def _bench_broker(kind: BenchBroker, workdir: Path) -> AsyncIterator[str]:
    """The bootstrap address of the broker the bench runs against, started for it."""
    if kind == "kafka":
        cluster = KafkaCluster(workdir / "kafka")
        await asyncio.to_thread(cluster.start)
        try:
            yield cluster.bootstrap_servers
        finally:
            await asyncio.to_thread(cluster.stop)
    else:
        async with EmbeddedBroker(log_file=workdir / "broker.log") as broker:
            yield broker.bootstrap_servers


def _progress(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


async def _prefill(bootstrap: str, topic: str, partitions: int, events: list[bytes], keys: list[bytes]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_batch_size=512 * 1024)
    await producer.start()
    started = time.monotonic()
    try:
        for p in range(partitions):
            batch = producer.create_batch()
            futures = []
            for i in range(p, len(events), partitions):
                if batch.append(key=keys[i], value=events[i], timestamp=None) is None:
                    futures.append(await producer.send_batch(batch, topic, partition=p))
                    batch = producer.create_batch()
                    batch.append(key=keys[i], value=events[i], timestamp=None)
            futures.append(await producer.send_batch(batch, topic, partition=p))
            await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.monotonic() - started


async def _raw_ceiling(bootstrap: str, source: str, sink: str, total: int, timeout_s: float, batch_records: int) -> float:
    """Consume and produce each record with no processing: the per-record ceiling."""
    consumer = AIOKafkaConsumer(
        source, bootstrap_servers=bootstrap, group_id="bench-raw", enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=10, session_timeout_ms=6000, max_poll_records=batch_records,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    try:
        seen = 0
        started: float | None = None
        until = time.monotonic() + timeout_s
        while seen < total and time.monotonic() < until:
            fetched = await consumer.getmany(timeout_ms=200, max_records=batch_records)
            if not fetched:
                continue
            started = started or time.monotonic()
            futures = [await producer.send(sink, key=r.key, value=r.value) for rs in fetched.values() for r in rs]
            await asyncio.gather(*futures)
            await consumer.commit()
            seen += len(futures)
        assert started is not None, "raw ceiling consumed nothing"
        return seen / (time.monotonic() - started)
    finally:
        await consumer.stop()
        await producer.stop()


async def _skip_to_end(bootstrap: str, topic: str, group: str) -> None:
    """Commit `group`'s offsets at the end of `topic`: it has no member now, and its next run
    should see only what is produced after this."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in await partition_ids(bootstrap, topic)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        await consumer.commit({tp: await consumer.position(tp) for tp in partitions})
    finally:
        await consumer.stop()


async def _pipeline_phase(edge: EdgeSettings, settings: PipelineSettings, until_events: int, timeout_s: float,
                          feed: Any = None, kernels: ImplementationName | None = None) -> tuple[float, PipelineRuntime]:
    async with AcceleratorClient(edge, timeout_s=settings.infer_timeout_s, attempts=settings.infer_attempts) as accel:
        pipeline = KpiAnomalyPipeline(REGION, SITE, accel)
        # Each consumer group keeps its own state: a phase does not restore another's.
        pipeline.use_state_topic(f"{REGION}.state.{settings.consumer_group}")
        if kernels is not None:
            pipeline.windows = CellWindows(kernel=load_kernels(kernels).window_features)
            pipeline.intake.codec = load_codec(kernels)
        runtime = PipelineRuntime(pipeline, edge, settings)
        async with runtime:
            stop = asyncio.Event()
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(run_until_stopped(runtime, stop, settings.grace_period_s))
                deadline = time.monotonic() + timeout_s
                if feed is not None:
                    # Events produced while the group still forms, or while the state of its
                    # partitions is restored, would measure the start, not the pipeline.
                    while not runtime.ready:
                        if time.monotonic() > deadline:
                            feed.close()  # never started
                            raise RuntimeError(f"the pipeline was not ready to be fed within {timeout_s:g} s")
                        await asyncio.sleep(0.005)
                    tasks.create_task(feed)
                while runtime.stats.fetched == 0 and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
                started = time.monotonic()
                while runtime.stats.events_in < until_events and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
                elapsed = time.monotonic() - started
                # Counted now: the batches the stop still drains are not part of this interval.
                counted = runtime.stats.events_in
                stop.set()
    return counted / max(elapsed, 1e-9), runtime


async def run_pipeline_bench(options: PipelineBenchOptions) -> dict[str, Any]:
    """Run every phase; return the figures."""
    topics = SiteTopics(REGION)
    raw_sink = topics.name("bench", "raw")
    with tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:
        async with _bench_broker(options.broker, Path(tmp)) as bootstrap:
            await create_topics(bootstrap, [*topics.all(), raw_sink], options.partitions)
            port = free_port()
            accel = AccelProcess(os.environ | {"EDGE_REGION": REGION, "EDGE_SITE_ID": SITE, "ACCEL_PORT": str(port)}, Path(tmp))
            await accel.start(60)
            try:
                generator = CellKpiGenerator(REGION, SITE, cells=options.cells, seed=1)
                labelled: list[LabelledEvent] = []
                while len(labelled) < options.events:
                    labelled.extend(generator.next_round())
                labelled = labelled[: options.events]
                values = [orjson.dumps(e.event) for e in labelled]
                keys = [e.event["cell_id"].encode() for e in labelled]
                del labelled
                prefill_s = await _prefill(bootstrap, topics.kpi, options.partitions, values, keys)
                _progress(f"pre-filled {options.events} events ({np.mean([len(v) for v in values]):.0f} bytes each) in {prefill_s:.1f} s")

                # The raw loop runs with the garbage-collector setting and the batch size the pipeline
                # runtime uses, so the comparison is between the two ways of handling records.
                tune_garbage_collection(PipelineSettings().gc_gen0_threshold)
                raw = await _raw_ceiling(bootstrap, topics.kpi, raw_sink, options.events, options.phase_timeout_s,
                                         PipelineSettings().max_batch_records or KpiAnomalyPipeline.batch_records)
                _progress(f"raw ceiling: {raw:,.0f} events/s")

                edge = EdgeSettings(region=REGION, site_id=SITE, kafka_bootstrap_servers=bootstrap,
                                    kafka_enable_idempotence=options.broker == "kafka",
                                    accel_targets=f"127.0.0.1:{port}")
                settings = PipelineSettings(session_timeout_ms=6000, consumer_group="bench-pipeline")
                reference_settings = settings.model_copy(update={"consumer_group": "bench-pipeline-reference"})
                reference_rate, _ = await _pipeline_phase(
                    edge, reference_settings, options.events, options.phase_timeout_s, kernels="reference"
                )
                _progress(f"pipeline, reference kernels and codec: {reference_rate:,.0f} events/s")
                rate, runtime = await _pipeline_phase(edge, settings, options.events, options.phase_timeout_s)
                _progress(f"pipeline, {IMPLEMENTATION} kernels: {rate:,.0f} events/s ({runtime.stats.summary()})")

                paced = max(rate / 2, 1.0)
                # The same group resumes after the committed backlog: it sees only the paced events.
                scores_from = await _end_offsets(bootstrap, topics.kpi_scores)
                await _latency_phase(bootstrap, edge, settings, values, paced, options, None)
                latency = await paced_latencies_ms(bootstrap, topics.kpi_scores, scores_from)
                _progress(f"latency at {paced:,.0f} events/s: {len(latency)} events measured")
                received = await _latency_phase(bootstrap, edge, settings, values, paced, options, "read_uncommitted")
                modes = {"at-least-once": _mode_figures(rate, paced, received)}
                if "exactly-once" in options.deliveries:
                    eos = settings.model_copy(update={"consumer_group": "bench-pipeline-eos", "delivery": "exactly-once"})
                    eos_rate, runtime = await _pipeline_phase(edge, eos, options.events, options.phase_timeout_s)
                    _progress(f"pipeline, exactly-once: {eos_rate:,.0f} events/s ({runtime.stats.summary()})")
                    await _skip_to_end(bootstrap, topics.kpi, "bench-pipeline-eos")  # past the first paced phase
                    eos_paced = max(eos_rate / 2, 1.0)
                    eos_received = await _latency_phase(bootstrap, edge, eos, values, eos_paced, options, "read_committed")
                    modes["exactly-once"] = _mode_figures(eos_rate, eos_paced, eos_received)
                    _progress(f"exactly-once latency at {eos_paced:,.0f} events/s: {len(eos_received)} events measured")
            finally:
                await accel.stop()
    return {
        "broker": options.broker,
        "events": options.events,
        "partitions": options.partitions,
        "raw_ceiling_events_per_s": round(raw),
        "pipeline_events_per_s": round(rate),
        "kernels": IMPLEMENTATION,
        "pipeline_reference_kernels_events_per_s": round(reference_rate),
        "pipeline_vs_raw": round(rate / raw, 3),
        "latency_rate_events_per_s": round(paced),
        "latency_feed_interval_ms": options.feed_interval_s * 1000,
        "latency_events": len(latency),
        "latency_p50_ms": float(np.percentile(latency, 50)) if len(latency) else None,
        "latency_p99_ms": float(np.percentile(latency, 99)) if len(latency) else None,
        "delivery": modes,
    }


async def _end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in await partition_ids(bootstrap, topic)]
        return {tp.partition: offset for tp, offset in (await consumer.end_offsets(partitions)).items()}
    finally:
        await consumer.stop()


async def _latency_phase(
    bootstrap: str, edge: EdgeSettings, settings: PipelineSettings, values: list[bytes], rate: float,
    options: PipelineBenchOptions, isolation_level: str | None,
) -> list[float]:
    """Feed events at `rate` through the pipeline; the latency of each score at its receipt by a
    consumer reading with `isolation_level`. None: no consumer watches (it would take a share
    of the cores the pipeline runs on), the scores' own timestamps tell their latency."""
    topics = SiteTopics(REGION)

    async def paced() -> None:
        feed = run_paced_feed(bootstrap, topics.kpi, options.partitions, values, rate, options.latency_s, options.feed_interval_s)
        await _pipeline_phase(edge, settings, int(rate * options.latency_s), options.latency_s + 30, feed)

    if isolation_level is None:
        await paced()
        return []
    async with LatencyWatch(bootstrap, topics.kpi_scores, isolation_level) as watch:
        await paced()
    return watch.latencies_ms


def _mode_figures(rate: float, paced: float, received_ms: list[float]) -> dict[str, Any]:
    return {
        "pipeline_events_per_s": round(rate),
        "latency_rate_events_per_s": round(paced),
        "latency_events": len(received_ms),
        "received_p50_ms": float(np.percentile(received_ms, 50)) if received_ms else None,
        "received_p99_ms": float(np.percentile(received_ms, 99)) if received_ms else None,
    }


def format_report(result: dict[str, Any]) -> str:
    """The figures as a small table."""
    rows = [
        ("broker", "Apache Kafka (one KRaft node, idempotent producer)" if result["broker"] == "kafka" else "Tansu (embedded)"),
        ("raw aiokafka consume+produce per record", f"{result['raw_ceiling_events_per_s']:,} events/s"),
        (f"kpi-anomaly pipeline, {result['kernels']} kernels", f"{result['pipeline_events_per_s']:,} events/s"),
        ("kpi-anomaly pipeline, reference kernels and codec", f"{result['pipeline_reference_kernels_events_per_s']:,} events/s"),
        ("pipeline / raw ceiling", f"{result['pipeline_vs_raw']:.2f}x"),
        ((f"end-to-end latency at {result['latency_rate_events_per_s']:,} events/s "
          f"(fed every {result['latency_feed_interval_ms']:g} ms)"),
         f"p50 {result['latency_p50_ms']:.0f} ms, p99 {result['latency_p99_ms']:.0f} ms" if result["latency_events"] else "n/a"),
    ]
    for mode, figures in result.get("delivery", {}).items():
        received = (f"p50 {figures['received_p50_ms']:.0f} ms, p99 {figures['received_p99_ms']:.0f} ms"
                    if figures["latency_events"] else "n/a")
        rows.append((f"{mode}: pipeline", f"{figures['pipeline_events_per_s']:,} events/s"))
        rows.append((f"{mode}: scores received at {figures['latency_rate_events_per_s']:,} events/s", received))
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def as_json(result: dict[str, Any]) -> str:
    return orjson.dumps(result, option=orjson.OPT_INDENT_2).decode()


__all__ = ["PipelineBenchOptions", "as_json", "asdict", "format_report", "run_pipeline_bench"]
