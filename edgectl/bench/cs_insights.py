"""`edge bench cs-insights`: how many utterances per second the customer-service pipeline takes,
redaction alone and the whole batch step (intake, redaction, features, one inference call per
batch against a real accelerator process, insight records), with no broker in the way.

Both phases read the same generated traffic (Korean and English sessions, personal data in a
share of the turns), so the two figures of one run compare like with like.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from edge.settings import EdgeSettings
from edgectl.accel_process import AccelProcess
from edgectl.broker import free_port
from edgectl.synthetic.utterances import UtteranceGenerator
from pipelines.accel_client import AcceleratorClient
from pipelines.cs_insights.pipeline import CsInsightsPipeline
from pipelines.cs_insights.redaction import redact
from pipelines.records import ConsumedRecord

REGION, SITE = "kr-seoul", "BENCH-0001"


@dataclass(frozen=True)
class CsInsightsBenchOptions:
    """Sizes of one run, e.g. `CsInsightsBenchOptions(utterances=20_000, pii_rate=0.3)`."""

    utterances: int = 20_000
    pii_rate: float = 0.3
    """Share of customer turns that carry personal data (agents read it back at half)."""
    batch: int = 1_000
    seed: int = 7


def _progress(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _traffic(options: CsInsightsBenchOptions) -> list[ConsumedRecord]:
    generator = UtteranceGenerator(REGION, SITE, sessions=200, seed=options.seed, pii_rate=options.pii_rate)
    records: list[ConsumedRecord] = []
    while len(records) < options.utterances:
        for event in generator.next_round():
            key = event.key.encode()
            records.append(ConsumedRecord(f"{REGION}.cs.utterances", 0, len(records), key, orjson.dumps(event.event)))
    return records[: options.utterances]


def _redaction_rate(records: list[ConsumedRecord]) -> float:
    texts = [orjson.loads(r.value or b"{}")["text"] for r in records]
    started = time.perf_counter()
    for text in texts:
        redact(text)
    return len(texts) / (time.perf_counter() - started)


async def _pipeline_rate(records: list[ConsumedRecord], batch: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="edge-bench-cs-") as workdir:
        port = free_port()
        env = os.environ | {"EDGE_REGION": REGION, "EDGE_SITE_ID": SITE, "ACCEL_HOST": "127.0.0.1", "ACCEL_PORT": str(port)}
        accel_process = AccelProcess(env, Path(workdir))
        await accel_process.start(timeout_s=60)
        try:
            edge = EdgeSettings(region=REGION, site_id=SITE, accel_targets=f"127.0.0.1:{port}")
            async with AcceleratorClient(edge, timeout_s=10, attempts=3) as accel:
                pipeline = CsInsightsPipeline(REGION, SITE, accel)
                stopping = asyncio.Event()
                await pipeline.process(records[:batch], stopping)  # warm the model and the connection
                results = 0
                started = time.perf_counter()
                for start in range(0, len(records), batch):
                    outcome = await pipeline.process(records[start : start + batch], stopping)
                    results += outcome.results
                return len(records) / (time.perf_counter() - started), results
        finally:
            await accel_process.stop()


async def run_cs_insights_bench(options: CsInsightsBenchOptions) -> dict[str, Any]:
    """The figures of one run (see `format_report`)."""
    _progress(f"generating {options.utterances:,} utterances (personal data in {options.pii_rate:.0%} of customer turns) ...")
    records = _traffic(options)
    _progress("redaction alone ...")
    redaction = _redaction_rate(records)
    _progress(f"pipeline batches of {options.batch:,} against an accelerator process ...")
    pipeline, results = await _pipeline_rate(records, options.batch)
    return {"options": asdict(options), "redaction_per_s": redaction, "pipeline_per_s": pipeline, "insights": results}


def format_report(result: dict[str, Any]) -> str:
    """The figures as a few lines of text."""
    o = result["options"]
    return "\n".join([
        (f"cs-insights bench: {o['utterances']:,} utterances, personal data in {o['pii_rate']:.0%} of customer turns, "
         f"batches of {o['batch']:,}"),
        f"  redaction alone:       {result['redaction_per_s']:>10,.0f} utterances/s",
        f"  pipeline batch step:   {result['pipeline_per_s']:>10,.0f} utterances/s ({result['insights']:,} insights)",
    ])


def as_json(result: dict[str, Any]) -> str:
    """The figures as JSON."""
    return orjson.dumps(result, option=orjson.OPT_INDENT_2).decode()
