"""The dynamic batcher merges concurrent requests, splits outputs back, and enforces its limits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from accel.backends.onnx import OnnxBackend
from accel.batching import BatchPolicy, DynamicBatcher
from accel.errors import DeadlineExpired, InvalidInput, ModelNotReady, QueueFull
from accel.model import Tensor


class CountingBackend:
    """The real ONNX backend, counting the computations it runs (a spy, not a fake)."""

    def __init__(self, path: Path) -> None:
        self.inner = OnnxBackend(path, ["CPUExecutionProvider"])
        self.inputs, self.outputs = self.inner.inputs, self.inner.outputs
        self.batch_rows: list[int] = []

    def run(self, inputs: dict[str, Tensor]) -> dict[str, Tensor]:
        self.batch_rows.append(len(inputs["x"]))
        return self.inner.run(inputs)

    def close(self) -> None:
        self.inner.close()


async def test_concurrent_requests_are_merged_and_each_gets_its_own_rows(doubler_path: Path) -> None:
    backend = CountingBackend(doubler_path)
    async with DynamicBatcher(backend, BatchPolicy(max_batch_size=64, max_queue_delay_us=20_000)) as batcher:
        sizes = [1, 5, 3, 7, 2]
        requests = [np.full((n, 4), float(i + 1), dtype=np.float32) for i, n in enumerate(sizes)]
        results = await asyncio.gather(*(batcher.infer({"x": r}) for r in requests))
    for request, result in zip(requests, results, strict=True):
        np.testing.assert_array_equal(result["y"], request * 2)
        assert result["positive"].dtype == bool and result["positive"].all()
    assert sum(backend.batch_rows) == sum(sizes)
    assert len(backend.batch_rows) < len(sizes), "requests queued together must share a computation"


async def test_a_batch_never_exceeds_max_batch_size(doubler_path: Path) -> None:
    backend = CountingBackend(doubler_path)
    async with DynamicBatcher(backend, BatchPolicy(max_batch_size=8, max_queue_delay_us=20_000)) as batcher:
        await asyncio.gather(*(batcher.infer({"x": np.ones((3, 4), dtype=np.float32)}) for _ in range(6)))
    assert max(backend.batch_rows) <= 8
    assert sum(backend.batch_rows) == 18


async def test_a_request_larger_than_max_batch_size_is_refused_with_the_limit(doubler_path: Path) -> None:
    async with DynamicBatcher(OnnxBackend(doubler_path, ["CPUExecutionProvider"]), BatchPolicy(max_batch_size=4)) as b:
        with pytest.raises(InvalidInput, match="request has 5 rows, max_batch_size is 4"):
            await b.infer({"x": np.ones((5, 4), dtype=np.float32)})


async def test_a_full_queue_answers_at_once(doubler_path: Path) -> None:
    policy = BatchPolicy(max_batch_size=1, max_queue_delay_us=0, max_queue_size=2)
    async with DynamicBatcher(OnnxBackend(doubler_path, ["CPUExecutionProvider"]), policy) as batcher:
        calls = [asyncio.ensure_future(batcher.infer({"x": np.ones((1, 4), dtype=np.float32)})) for _ in range(6)]
        results = await asyncio.gather(*calls, return_exceptions=True)
    refused = [r for r in results if isinstance(r, QueueFull)]
    served = [r for r in results if isinstance(r, dict)]
    assert refused and served
    assert "max_queue_size 2" in str(refused[0])


async def test_a_request_past_its_deadline_is_not_computed(doubler_path: Path) -> None:
    backend = CountingBackend(doubler_path)
    async with DynamicBatcher(backend, BatchPolicy()) as batcher:
        past = asyncio.get_running_loop().time() - 1
        with pytest.raises(DeadlineExpired):
            await batcher.infer({"x": np.ones((2, 4), dtype=np.float32)}, deadline=past)
    assert backend.batch_rows == []


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"x": np.ones((2, 4), dtype=np.float64)}, "input 'x' must be FP32, got FP64"),
        ({"x": np.ones((2, 5), dtype=np.float32)}, r"input 'x' must have shape \[-1, 4\]"),
        ({"x": np.ones(4, dtype=np.float32)}, r"must have shape \[-1, 4\] \(-1: any\), got \[4\]"),
        ({"z": np.ones((2, 4), dtype=np.float32)}, r"missing \['x'\], unknown \['z'\]"),
    ],
)
async def test_wrong_tensors_are_refused_with_the_expected_shape_and_type(
    doubler_path: Path, inputs: dict[str, Tensor], message: str
) -> None:
    async with DynamicBatcher(OnnxBackend(doubler_path, ["CPUExecutionProvider"]), BatchPolicy()) as batcher:
        with pytest.raises(InvalidInput, match=message):
            await batcher.infer(inputs)
        good = await batcher.infer({"x": np.ones((1, 4), dtype=np.float32)})
        assert good["y"].tolist() == [[2.0] * 4]


async def test_a_stopped_batcher_refuses_work_as_not_ready(doubler_path: Path) -> None:
    batcher = DynamicBatcher(OnnxBackend(doubler_path, ["CPUExecutionProvider"]), BatchPolicy())
    await batcher.start()
    await batcher.stop()
    await batcher.stop()
    with pytest.raises(ModelNotReady):
        await batcher.infer({"x": np.ones((1, 4), dtype=np.float32)})


def test_batch_policy_refuses_nonsense_limits() -> None:
    with pytest.raises(ValueError, match="max_batch_size must be >= 1"):
        BatchPolicy(max_batch_size=0)
