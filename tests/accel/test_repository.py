"""The model repository loads per version policy, and refuses broken configs by file and field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from accel.backends.onnx import OnnxBackend
from accel.errors import InvalidInput, ModelConfigError, ModelNotFound
from accel.repository import ModelRepository, ModelState, read_config


async def test_the_newest_version_is_served_by_default(doubler_repository: Path) -> None:
    (doubler_repository / "doubler" / "config.json").write_text("{}")
    repository = ModelRepository(doubler_repository)
    await repository.load_all()
    try:
        assert repository.versions("doubler") == ["2"]
        assert repository.resolve("doubler").version == "2"
        with pytest.raises(ModelNotFound, match="served: \\['2'\\]"):
            repository.resolve("doubler", "1")
    finally:
        await repository.close()
        await repository.close()


def test_an_unknown_config_key_names_the_file_and_the_key(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"max_batch_sise": 8}))
    with pytest.raises(ModelConfigError, match=r"config.json: max_batch_sise: Extra inputs are not permitted"):
        read_config(tmp_path)


def test_a_negative_batch_size_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"max_batch_size": -1}))
    with pytest.raises(ModelConfigError, match="max_batch_size"):
        read_config(tmp_path)


async def test_a_broken_model_is_skipped_and_the_others_still_load(doubler_repository: Path) -> None:
    broken = doubler_repository / "broken" / "1"
    broken.mkdir(parents=True)
    (broken / "model.onnx").write_bytes(b"not onnx")
    repository = ModelRepository(doubler_repository)
    await repository.load_all()
    try:
        assert repository.names() == ["doubler"]
    finally:
        await repository.close()


def test_a_missing_execution_provider_names_the_available_ones(doubler_path: Path) -> None:
    with pytest.raises(ModelConfigError, match=r"\['NoSuchExecutionProvider'\] are not in this ONNX Runtime build; available: \["):
        OnnxBackend(doubler_path, ["NoSuchExecutionProvider"])


async def test_a_reload_swaps_batchers_and_keeps_the_statistics(doubler_repository: Path) -> None:
    repository = ModelRepository(doubler_repository, drain_s=5)
    await repository.load_all()
    try:
        before = repository.resolve("doubler", "2")
        await before.batcher.infer({"x": np.ones((3, 4), dtype=np.float32)})
        await repository.load("doubler")
        after = repository.resolve("doubler", "2")
        assert after.batcher is not before.batcher
        assert after.batcher.statistics is before.batcher.statistics
        assert after.batcher.statistics.inference_count == 3
    finally:
        await repository.close()


async def test_unload_removes_the_model_and_the_index_says_why(doubler_repository: Path) -> None:
    repository = ModelRepository(doubler_repository)
    await repository.load_all()
    try:
        await repository.unload("doubler")
        with pytest.raises(ModelNotFound):
            repository.resolve("doubler")
        assert repository.index() == [ModelState("doubler", "", "UNAVAILABLE", "unloaded")]
        assert repository.index(ready_only=True) == []
        with pytest.raises(ModelNotFound, match="not served"):
            await repository.unload("doubler")
    finally:
        await repository.close()


@pytest.mark.parametrize("name", ["", ".", "..", "../x", "a/b", ".hidden"])
async def test_a_model_name_that_is_not_a_directory_name_is_refused(doubler_repository: Path, name: str) -> None:
    repository = ModelRepository(doubler_repository)
    with pytest.raises(InvalidInput, match="must be the name of a directory inside the repository"):
        await repository.load(name)


def test_a_default_priority_above_the_levels_is_refused_by_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"priority_levels": 2, "default_priority_level": 3}))
    with pytest.raises(ModelConfigError, match="config.json: .*default_priority_level 3 is above priority_levels 2"):
        read_config(tmp_path)
