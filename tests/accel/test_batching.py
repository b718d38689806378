"""The dynamic batcher merges concurrent requests, splits outputs back, and enforces its limits."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper

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


async def test_stop_with_a_drain_answers_the_requests_already_queued(doubler_path: Path) -> None:
    policy = BatchPolicy(max_batch_size=2, max_queue_delay_us=0)
    batcher = DynamicBatcher(OnnxBackend(doubler_path, ["CPUExecutionProvider"]), policy)
    await batcher.start()
    calls = [asyncio.ensure_future(batcher.infer({"x": np.ones((2, 4), dtype=np.float32)})) for _ in range(6)]
    await asyncio.sleep(0)  # all six are queued
    await batcher.stop(drain_s=10)
    results = await asyncio.gather(*calls)
    assert all(r["y"].tolist() == [[2.0] * 4] * 2 for r in results)
    with pytest.raises(ModelNotReady):
        await batcher.infer({"x": np.ones((1, 4), dtype=np.float32)})


async def test_stop_without_a_drain_fails_queued_requests_as_not_ready(doubler_path: Path) -> None:
    batcher = DynamicBatcher(OnnxBackend(doubler_path, ["CPUExecutionProvider"]), BatchPolicy(max_batch_size=1))
    await batcher.start()
    calls = [asyncio.ensure_future(batcher.infer({"x": np.ones((1, 4), dtype=np.float32)})) for _ in range(4)]
    await asyncio.sleep(0)
    await batcher.stop()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert any(isinstance(r, ModelNotReady) for r in results)
    assert all(isinstance(r, (dict, ModelNotReady)) for r in results), results


async def test_statistics_count_rows_executions_and_failures(doubler_path: Path) -> None:
    backend = CountingBackend(doubler_path)
    async with DynamicBatcher(backend, BatchPolicy(max_batch_size=64, max_queue_delay_us=20_000)) as batcher:
        await asyncio.gather(*(batcher.infer({"x": np.ones((n, 4), dtype=np.float32)}) for n in (1, 2, 3)))
        with pytest.raises(InvalidInput):
            await batcher.infer({"x": np.ones((1, 5), dtype=np.float32)})
    stats = batcher.statistics
    assert (stats.inference_count, stats.execution_count) == (6, len(backend.batch_rows))
    assert (stats.success.count, stats.fail.count, stats.queue.count, stats.compute_infer.count) == (3, 1, 3, 3)
    assert sorted(stats.batches) == sorted(backend.batch_rows)
    assert stats.success.ns > 0 and stats.last_inference_ms > 0


class GatedBackend(CountingBackend):
    """The real ONNX backend behind a gate: computations wait until the test opens it, so that
    requests pile up in the queue (a spy, not a fake)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = threading.Event()
        self.computing = threading.Event()
        self.first_values: list[float] = []

    def run(self, inputs: dict[str, Tensor]) -> dict[str, Tensor]:
        self.computing.set()
        self.gate.wait(10)
        self.first_values.append(float(inputs["x"][0, 0]))
        return super().run(inputs)


def _row(value: float) -> dict[str, Tensor]:
    return {"x": np.full((1, 4), value, dtype=np.float32)}


async def _until_computing(backend: GatedBackend) -> None:
    """Until the first request is inside the backend, so that the next ones queue behind it."""
    while not backend.computing.is_set():
        await asyncio.sleep(0.001)


async def test_higher_priority_requests_are_taken_first(doubler_path: Path) -> None:
    backend = GatedBackend(doubler_path)
    policy = BatchPolicy(max_batch_size=1, priority_levels=3, default_priority_level=2)
    async with DynamicBatcher(backend, policy) as batcher:
        blocker = asyncio.ensure_future(batcher.infer(_row(0)))
        await _until_computing(backend)
        calls = [
            asyncio.ensure_future(batcher.infer(_row(value), priority=priority))
            for value, priority in ((31, 3), (32, 3), (20, 0), (11, 1), (21, 2), (12, 1))
        ]
        await asyncio.sleep(0)
        backend.gate.set()
        await asyncio.gather(blocker, *calls)
    assert backend.first_values == [0, 11, 12, 20, 21, 31, 32]


async def test_a_priority_outside_the_levels_names_the_limit(doubler_path: Path) -> None:
    policy = BatchPolicy(priority_levels=2, default_priority_level=2)
    async with DynamicBatcher(OnnxBackend(doubler_path, ["CPUExecutionProvider"]), policy) as batcher:
        with pytest.raises(InvalidInput, match=r"priority 3 is outside 1..2 \(the model's priority_levels"):
            await batcher.infer(_row(1), priority=3)
        assert (await batcher.infer(_row(1), priority=2))["y"].tolist() == [[2.0] * 4]


async def test_a_request_still_queued_at_its_timeout_is_refused_without_waiting_for_the_batch(
    doubler_path: Path,
) -> None:
    backend = GatedBackend(doubler_path)
    async with DynamicBatcher(backend, BatchPolicy(max_batch_size=1)) as batcher:
        blocker = asyncio.ensure_future(batcher.infer(_row(0)))
        await _until_computing(backend)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(DeadlineExpired, match="passed after .* ms in the queue"):
            await batcher.infer(_row(1), timeout_us=20_000)
        assert loop.time() - started < 5, "refused at its deadline, not after the blocking batch"
        patient = asyncio.ensure_future(batcher.infer(_row(2), timeout_us=60_000_000))
        backend.gate.set()
        await asyncio.gather(blocker, patient)
    assert backend.first_values == [0, 2]


async def test_the_earlier_of_timeout_and_deadline_applies_and_the_default_timeout_fills_in(
    doubler_path: Path,
) -> None:
    backend = GatedBackend(doubler_path)
    async with DynamicBatcher(backend, BatchPolicy(max_batch_size=1, default_timeout_us=10_000)) as batcher:
        blocker = asyncio.ensure_future(batcher.infer(_row(0)))
        await _until_computing(backend)
        loop = asyncio.get_running_loop()
        with pytest.raises(DeadlineExpired):
            await batcher.infer(_row(1))  # the model's default timeout
        with pytest.raises(DeadlineExpired):
            await batcher.infer(_row(2), deadline=loop.time() + 0.01, timeout_us=60_000_000)
        backend.gate.set()
        await blocker
    assert batcher.statistics.fail.count == 2


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"priority_levels": 0}, "priority_levels must be >= 1"),
        ({"priority_levels": 2, "default_priority_level": 3}, r"default_priority_level must be within 1..2"),
        ({"default_timeout_us": -1}, "default_timeout_us must be >= 0"),
    ],
)
def test_batch_policy_refuses_inconsistent_priorities_and_timeouts(policy: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BatchPolicy(**policy)


def _write_any_width_doubler(path: Path) -> None:
    """`y = 2 * x` over FP32 [batch, width] with the width free too."""
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["y"])],
        "any_width_doubler",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "width"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "width"])],
        [two],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    path.write_bytes(model.SerializeToString())


async def test_requests_of_different_sizes_after_the_batch_dimension_are_computed_apart(tmp_path: Path) -> None:
    path = tmp_path / "any_width.onnx"
    _write_any_width_doubler(path)
    backend = CountingBackend(path)
    async with DynamicBatcher(backend, BatchPolicy(max_batch_size=64, max_queue_delay_us=20_000)) as batcher:
        widths = [3, 3, 5, 3, 5]
        requests = [np.full((2, w), float(i), dtype=np.float32) for i, w in enumerate(widths)]
        results = await asyncio.gather(*(batcher.infer({"x": r}) for r in requests))
    for request, result in zip(requests, results, strict=True):
        np.testing.assert_array_equal(result["y"], request * 2)
    assert sum(backend.batch_rows) == 10
    assert len(backend.batch_rows) < len(widths), "requests of the same size still share a computation"


class ThreadRecordingBackend(CountingBackend):
    """The real ONNX backend, recording which thread ran each computation and optionally slowed
    down to stand for a larger model (a spy, not a fake)."""

    def __init__(self, path: Path, extra_s: float = 0.0) -> None:
        super().__init__(path)
        self.extra_s = extra_s
        self.threads: list[int] = []

    def run(self, inputs: dict[str, Tensor]) -> dict[str, Tensor]:
        self.threads.append(threading.get_ident())
        if self.extra_s:
            threading.Event().wait(self.extra_s)
        return super().run(inputs)


async def _serve_one_by_one(backend: ThreadRecordingBackend, policy: BatchPolicy, requests: int) -> None:
    async with DynamicBatcher(backend, policy) as batcher:
        for _ in range(requests):
            result = await batcher.infer({"x": np.ones((2, 4), dtype=np.float32)})
            np.testing.assert_array_equal(result["y"], np.full((2, 4), 2.0, dtype=np.float32))


async def test_a_model_cheaper_than_the_thread_hop_runs_on_the_event_loop_after_its_first_batch(
    doubler_path: Path,
) -> None:
    backend = ThreadRecordingBackend(doubler_path)
    await _serve_one_by_one(backend, BatchPolicy(inline_compute_max_us=50_000), 5)
    loop_thread = threading.get_ident()
    assert backend.threads[0] != loop_thread, "nothing is known of a model before its first computation"
    assert backend.threads[1:] == [loop_thread] * 4


async def test_a_slow_model_and_a_zero_limit_keep_computations_off_the_event_loop(doubler_path: Path) -> None:
    loop_thread = threading.get_ident()
    slow = ThreadRecordingBackend(doubler_path, extra_s=0.005)
    await _serve_one_by_one(slow, BatchPolicy(inline_compute_max_us=1_000), 4)
    never = ThreadRecordingBackend(doubler_path)
    await _serve_one_by_one(never, BatchPolicy(inline_compute_max_us=0), 4)
    assert loop_thread not in slow.threads and loop_thread not in never.threads


def test_a_negative_inline_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="inline_compute_max_us must be >= 0"):
        BatchPolicy(inline_compute_max_us=-1)
