"""Model warm-up: a version whose config declares `warmup_batch_sizes` runs one zero-filled
computation per size before it is served, so it is not ready (nor routed to) until warm-up has
passed; a warm-up that fails fails the load and the version served before keeps serving."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from accel import repository as repository_module
from accel.errors import ModelConfigError
from accel.model_config import ModelConfig
from accel.repository import ModelRepository

from .conftest import write_doubler


class _Recording:
    """Wraps a real backend: records each computation's input shapes; the first may be held."""

    def __init__(self, backend: Any, hold: threading.Event | None = None, fail: bool = False) -> None:
        self.backend, self.hold, self.fail = backend, hold, fail
        self.inputs = backend.inputs
        self.outputs = backend.outputs
        self.shapes: list[tuple[int, ...]] = []

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.shapes.append(inputs["x"].shape)
        if self.hold is not None:
            assert self.hold.wait(30)
        if self.fail:
            raise RuntimeError("the runtime could not allocate")
        return self.backend.run(inputs)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)


def _repository(tmp_path: Path, **config: Any) -> Path:
    write_doubler(tmp_path / "doubler" / "1" / "model.onnx")
    (tmp_path / "doubler" / "config.json").write_text(json.dumps({"max_batch_size": 64, **config}), encoding="utf-8")
    return tmp_path


async def test_a_version_is_not_ready_until_its_warm_up_has_run_at_each_batch_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hold = threading.Event()
    made: list[_Recording] = []
    real = repository_module.open_backend

    def recording(*args: Any) -> _Recording:
        made.append(_Recording(real(*args), hold))
        return made[-1]

    monkeypatch.setattr(repository_module, "open_backend", recording)
    repository = ModelRepository(_repository(tmp_path, warmup_batch_sizes=[64, 1]))
    load = asyncio.create_task(repository.load("doubler"))
    while not made or not made[0].shapes:
        await asyncio.sleep(0.01)
    assert repository.names() == [], "not served (ModelReady false) while warming up"
    hold.set()
    await load
    assert repository.names() == ["doubler"]
    assert made[0].shapes == [(64, 4), (1, 4)], "one zero-filled computation per declared size, in order"
    served = repository.resolve("doubler")
    outputs = await served.batcher.infer({"x": np.ones((2, 4), dtype=np.float32)})
    assert outputs["y"].tolist() == [[2.0] * 4] * 2
    assert served.batcher.statistics.success.count == 1, "warm-up is not counted as a request"
    await repository.unload("doubler")


async def test_a_failing_warm_up_fails_the_reload_and_the_served_version_keeps_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repository(tmp_path)
    repository = ModelRepository(root)
    await repository.load("doubler")
    before = repository.resolve("doubler")
    real = repository_module.open_backend
    monkeypatch.setattr(repository_module, "open_backend", lambda *args: _Recording(real(*args), fail=True))
    (root / "doubler" / "config.json").write_text(json.dumps({"max_batch_size": 64, "warmup_batch_sizes": [8]}))
    with pytest.raises(ModelConfigError, match=r"version 1: warm-up with 8 rows failed: the runtime could not allocate"):
        await repository.load("doubler")
    assert repository.resolve("doubler") is before
    outputs = await before.batcher.infer({"x": np.ones((1, 4), dtype=np.float32)})
    assert outputs["y"].tolist() == [[2.0] * 4]
    assert repository.load_failures["doubler"] == 1
    await repository.unload("doubler")


@pytest.mark.parametrize("sizes", [[0], [65], [1, 100]])
def test_a_warm_up_size_outside_the_models_batch_limit_is_refused_naming_it(sizes: list[int]) -> None:
    with pytest.raises(ValueError, match="warmup_batch_sizes"):
        ModelConfig(max_batch_size=64, warmup_batch_sizes=sizes)
