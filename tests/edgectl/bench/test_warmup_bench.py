"""`edge bench warmup` loads each shipped model with and without warm-up and reports the first
and second request's latency."""

from __future__ import annotations

import asyncio

from edgectl.bench.warmup import MODELS, format_table, run_warmup_bench


def test_the_warmup_bench_reports_both_requests_of_each_model_with_and_without_warm_up() -> None:
    results = asyncio.run(run_warmup_bench(trials=1))
    assert [(r["model"], r["warmup"]) for r in results] == [(m, w) for m, _ in MODELS for w in (False, True)]
    assert all(r["first_ms"] > 0 and r["second_ms"] > 0 and len(r["first_runs_ms"]) == 1 for r in results)
    table = format_table(results)
    assert table.count("\n") == len(results) and "kpi-anomaly" in table and "first request" in table
