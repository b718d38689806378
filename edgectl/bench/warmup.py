"""`edge bench warmup`: the first request after a model is loaded, with and without warm-up.

For each shipped model, a fresh repository holding a copy of it is loaded, with no
`warmup_batch_sizes` and then with the request's size, alternately, `trials` times each; the
first request's latency (through the model's batcher, on random inputs of its shapes) and the
second's are taken in milliseconds, and their medians reported."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from accel.repository import ModelRepository, warm_up_tensor
from accel.settings import DEFAULT_MODEL_REPOSITORY

MODELS = (("kpi-anomaly", 4000), ("load-forecast", 1000), ("cs-insights", 1000))
"""Each model with the rows of one full pipeline batch."""


def _inputs(backend: Any, rows: int, rng: np.random.Generator) -> dict[str, Any]:
    inputs = {}
    for spec in backend.inputs:
        zeros = warm_up_tensor(spec, rows)
        inputs[spec.name] = rng.random(zeros.shape).astype(zeros.dtype) if zeros.dtype.kind == "f" else zeros
    return inputs


async def _trial(model: str, rows: int, warm: bool, rng: np.random.Generator) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="edge-warmup-") as tmp:
        root = Path(tmp)
        shutil.copytree(DEFAULT_MODEL_REPOSITORY / model, root / model)
        config_path = root / model / "config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["warmup_batch_sizes"] = [rows] if warm else []
        config_path.write_text(json.dumps(config), encoding="utf-8")
        repository = ModelRepository(root)
        await repository.load(model)
        served = repository.resolve(model)
        inputs = _inputs(served.batcher.backend, rows, rng)
        timings = []
        for _ in range(2):
            started = time.perf_counter()
            await served.batcher.infer(inputs)
            timings.append((time.perf_counter() - started) * 1000)
        await repository.unload(model)
    return timings[0], timings[1]


async def run_warmup_bench(trials: int = 3) -> list[dict[str, Any]]:
    """Median first and second request latency per model, without and with warm-up."""
    rng = np.random.default_rng(0)
    results = []
    for model, rows in MODELS:
        runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for i in range(2 * trials):
            warm = i % 2 == 1
            runs[warm].append(await _trial(model, rows, warm, rng))
        for warm in (False, True):
            results.append({
                "model": model, "rows": rows, "warmup": warm,
                "first_ms": float(np.median([f for f, _ in runs[warm]])),
                "second_ms": float(np.median([s for _, s in runs[warm]])),
                "first_runs_ms": [round(f, 2) for f, _ in runs[warm]],
            })
    return results


def format_table(results: list[dict[str, Any]]) -> str:
    lines = [f"{'model':<15}{'rows':>6}  {'warm-up':<8}{'first request':>15}{'second':>10}"]
    for r in results:
        lines.append(f"{r['model']:<15}{r['rows']:>6}  {'yes' if r['warmup'] else 'no':<8}"
                     f"{r['first_ms']:>12.1f} ms{r['second_ms']:>7.1f} ms")
    return "\n".join(lines)
