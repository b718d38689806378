"""At-least-once commits on an interval, against the real broker and accelerator: acknowledged
batches wait for the interval, then their changelog goes out with one record per cell however
many batches changed it, and only after it their offsets are committed; a stream gone quiet is
committed once the interval is up, and a stop commits what is pending."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from edge.settings import EdgeSettings
from edge.topics import SiteTopics
from edgectl.broker import create_topics
from edgectl.synthetic.cell_kpi import CellKpiGenerator
from edgectl.traffic import encode
from pipelines.accel_client import AcceleratorClient
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.main import run_until_stopped
from pipelines.runtime import PipelineRuntime
from pipelines.settings import PipelineSettings

from .kafka_io import committed, produce, read_topic

pytestmark = pytest.mark.integration
TOPICS = SiteTopics("kr-seoul")
CELLS, ROUNDS = 30, 4
GROUP = "commit-interval"


async def _until(check: object, timeout_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    until = loop.time() + timeout_s
    while not await check():  # type: ignore[operator]
        if loop.time() > until:
            raise TimeoutError(f"{what} within {timeout_s} s")
        await asyncio.sleep(0.05)


async def _ends(bootstrap: str) -> dict[int, int]:
    ends: dict[int, int] = {}
    for record in await read_topic(bootstrap, TOPICS.kpi):
        ends[record.partition] = max(ends.get(record.partition, 0), record.offset + 1)
    return ends


@pytest.mark.parametrize("interval_ms", [60_000, 300], ids=["stopped-within", "quiet-past"])
async def test_acknowledged_batches_are_committed_with_one_changelog_record_per_cell_once_the_interval_is_up(
    edge_settings: EdgeSettings, interval_ms: int
) -> None:
    bootstrap = edge_settings.kafka_bootstrap_servers
    await create_topics(bootstrap, TOPICS.all(), partitions=3)
    generator = CellKpiGenerator("kr-seoul", "SEL-GN-0042", cells=CELLS, seed=3)
    await produce(bootstrap, TOPICS.kpi, [encode(e) for _ in range(ROUNDS) for e in generator.next_round()])
    settings = PipelineSettings(
        session_timeout_ms=6000, max_batch_records=CELLS // 3, consumer_group=GROUP, commit_interval_ms=interval_ms
    )
    state = TOPICS.state("kpi-anomaly")
    async with AcceleratorClient(edge_settings, timeout_s=5, attempts=3) as accel:
        runtime = PipelineRuntime(KpiAnomalyPipeline("kr-seoul", "SEL-GN-0042", accel), edge_settings, settings)
        async with runtime:
            stop = asyncio.Event()
            task = asyncio.create_task(run_until_stopped(runtime, stop, grace_period_s=10))

            async def all_delivered() -> bool:
                return runtime.stats.events_in == CELLS * ROUNDS or task.done()

            await _until(all_delivered, 60, "every event delivered")
            assert runtime.stats.batches >= ROUNDS * 3, "the events came in many batches"
            if interval_ms > 10_000:
                # Within the interval: nothing committed, no changelog yet; the scores are out.
                assert set((await committed(bootstrap, GROUP, TOPICS.kpi)).values()) == {0}
                assert await read_topic(bootstrap, state) == []
                assert len(await read_topic(bootstrap, TOPICS.kpi_scores)) == CELLS * ROUNDS
            else:
                ends = await _ends(bootstrap)

                async def all_committed() -> bool:
                    return await committed(bootstrap, GROUP, TOPICS.kpi) == ends

                await _until(all_committed, 10, "the quiet stream's offsets committed")
            stop.set()
            await task

    assert await committed(bootstrap, GROUP, TOPICS.kpi) == await _ends(bootstrap)
    changelog = await read_topic(bootstrap, state)
    if interval_ms > 10_000:
        assert len(changelog) == CELLS, "one record per cell for the whole interval"
    assert len({r.key for r in changelog}) == CELLS
    latest = {r.key: orjson.loads(r.value) for r in sorted(changelog, key=lambda r: (r.partition, r.offset))}
    assert all(v["state"]["window"]["samples"] == ROUNDS for v in latest.values()), "each cell's state after its last batch"
