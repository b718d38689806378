"""The model repository loads per version policy, and refuses broken configs by file and field."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from accel.backends.onnx import OnnxBackend
from accel.errors import InvalidInput, ModelConfigError, ModelNotFound
from accel.repository import ModelRepository, ModelState, read_config

from .conftest import write_doubler


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


async def _served_versions(repository_root: Path, config: dict[str, object]) -> list[str]:
    (repository_root / "doubler" / "config.json").write_text(json.dumps(config))
    repository = ModelRepository(repository_root)
    await repository.load("doubler")
    try:
        return repository.versions("doubler")
    finally:
        await repository.close()


@pytest.mark.parametrize(
    ("config", "served"),
    [
        ({"latest_versions": 2}, ["2", "3"]),
        ({"version_policy": {"latest": {"num_versions": 1}}}, ["3"]),
        ({"version_policy": {"all": {}}}, ["1", "2", "3"]),
        ({"version_policy": {"specific": {"versions": [1, 3]}}}, ["1", "3"]),
    ],
    ids=["latest_versions", "latest", "all", "specific"],
)
async def test_the_version_policy_decides_which_versions_are_served(
    doubler_repository: Path, config: dict[str, object], served: list[str]
) -> None:
    write_doubler(doubler_repository / "doubler" / "3" / "model.onnx")
    assert await _served_versions(doubler_repository, config) == served


async def test_only_plain_decimal_directories_are_versions(doubler_repository: Path) -> None:
    for name in ("01", "v3", "²"):
        write_doubler(doubler_repository / "doubler" / name / "model.onnx")
    assert await _served_versions(doubler_repository, {"version_policy": {"all": {}}}) == ["1", "2"]


async def test_a_missing_specific_version_fails_the_reload_and_the_served_versions_stay(
    doubler_repository: Path,
) -> None:
    repository = ModelRepository(doubler_repository)
    await repository.load_all()
    try:
        config_path = doubler_repository / "doubler" / "config.json"
        config_path.write_text(json.dumps({"version_policy": {"specific": {"versions": [2, 5]}}}))
        with pytest.raises(ModelConfigError) as caught:
            await repository.load("doubler")
        assert str(caught.value) == (
            f"{config_path}: version_policy.specific.versions: version(s) [5] have no directory in "
            f"{config_path.parent}; versions on disk: [1, 2]"
        )
        assert repository.versions("doubler") == ["1", "2"]
        assert (await repository.resolve("doubler", "1").batcher.infer({"x": np.ones((1, 4), np.float32)}))["y"][0, 0] == 2
    finally:
        await repository.close()


async def test_declared_onnx_tensors_must_be_the_graphs_own(doubler_repository: Path) -> None:
    config_path = doubler_repository / "doubler" / "config.json"
    x = {"name": "x", "datatype": "FP32", "dims": [4]}
    ok = {"inputs": [x], "outputs": [{"name": "positive", "datatype": "BOOL", "dims": [-1]}, {**x, "name": "y"}]}
    assert await _served_versions(doubler_repository, ok) == ["2"]

    repository = ModelRepository(doubler_repository)
    try:
        config_path.write_text(json.dumps({"inputs": [{**x, "dims": [5]}]}))
        with pytest.raises(ModelConfigError, match=r"config.json: inputs.0: declared FP32 \[-1, 5\], but the graph gives FP32 \[-1, 4\]"):
            await repository.load("doubler")
        config_path.write_text(json.dumps({"outputs": [{**x, "name": "y"}]}))
        with pytest.raises(ModelConfigError, match=r"config.json: outputs: declared \['y'\], but the graph has \['positive', 'y'\]"):
            await repository.load("doubler")
    finally:
        await repository.close()


async def test_remove_forgets_a_model_whose_directory_is_gone(doubler_repository: Path) -> None:
    repository = ModelRepository(doubler_repository, drain_s=5)
    await repository.load_all()
    try:
        batcher = repository.resolve("doubler").batcher
        pending = asyncio.ensure_future(batcher.infer({"x": np.ones((2, 4), np.float32)}))
        shutil.rmtree(doubler_repository / "doubler")
        await repository.remove("doubler")
        assert (await pending)["y"].shape == (2, 4)  # queued before the removal: still answered
        assert repository.index() == []
        with pytest.raises(ModelNotFound):
            repository.resolve("doubler")
        await repository.remove("doubler")  # nothing left to forget: no error
    finally:
        await repository.close()
