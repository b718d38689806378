"""Polling a real model repository directory: new models load, removed ones unload, changed ones
reload once the change holds still, and a load that fails leaves the served versions serving."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from accel.errors import ModelConfigError, ModelNotFound
from accel.repository import ModelRepository
from accel.repository_poller import RepositoryPoller, scan_repository

from .conftest import write_doubler


@pytest.fixture
async def repository(doubler_repository: Path) -> AsyncIterator[ModelRepository]:
    repository = ModelRepository(doubler_repository, drain_s=5)
    await repository.load_all()
    yield repository
    await repository.close()


@pytest.fixture
async def poller(repository: ModelRepository) -> AsyncIterator[RepositoryPoller]:
    """A started poller whose own interval never comes round: the tests call `poll()` themselves."""
    async with RepositoryPoller(repository, interval_s=3600) as poller:
        yield poller


async def _poll_twice(poller: RepositoryPoller) -> None:
    """A change is acted on at the first poll that sees it unchanged since the poll before."""
    await poller.poll()
    await poller.poll()


async def _doubles(repository: ModelRepository, name: str, version: str = "") -> bool:
    outputs = await repository.resolve(name, version).batcher.infer({"x": np.ones((1, 4), np.float32)})
    return bool(outputs["y"][0, 0] == 2.0)


async def test_a_new_model_directory_is_loaded(poller: RepositoryPoller, repository: ModelRepository) -> None:
    write_doubler(repository.root / "tripler" / "1" / "model.onnx")
    await poller.poll()
    assert repository.names() == ["doubler"], "a change is not acted on in the scan that first sees it"
    await poller.poll()
    assert repository.names() == ["doubler", "tripler"]
    assert await _doubles(repository, "tripler")


async def test_a_new_version_is_loaded_and_the_policy_applied(poller: RepositoryPoller, repository: ModelRepository) -> None:
    batcher_before = repository.resolve("doubler", "2").batcher
    write_doubler(repository.root / "doubler" / "3" / "model.onnx")
    await _poll_twice(poller)
    assert repository.versions("doubler") == ["2", "3"]  # latest_versions 2
    assert repository.resolve("doubler", "2").batcher is not batcher_before
    assert await _doubles(repository, "doubler", "3")


async def test_a_removed_model_directory_is_unloaded(poller: RepositoryPoller, repository: ModelRepository) -> None:
    shutil.rmtree(repository.root / "doubler")
    await _poll_twice(poller)
    with pytest.raises(ModelNotFound):
        repository.resolve("doubler")
    assert repository.index() == []


async def test_a_changed_config_reloads_the_model(poller: RepositoryPoller, repository: ModelRepository) -> None:
    (repository.root / "doubler" / "config.json").write_text(json.dumps({"version_policy": {"specific": {"versions": [1]}}}))
    await _poll_twice(poller)
    assert repository.versions("doubler") == ["1"]
    assert repository.resolve("doubler").config.max_batch_size == 4096


async def test_a_broken_change_keeps_the_served_versions_and_is_retried_only_once_changed_again(
    poller: RepositoryPoller, repository: ModelRepository, caplog: pytest.LogCaptureFixture
) -> None:
    config = repository.root / "doubler" / "config.json"
    config.write_text(json.dumps({"version_policy": {"specific": {"versions": [1, 9]}}}))
    await _poll_twice(poller)
    assert repository.versions("doubler") == ["1", "2"]
    assert await _doubles(repository, "doubler")
    assert "doubler not loaded (versions served before stay served)" in caplog.text
    assert "version(s) [9] have no directory" in caplog.text

    caplog.clear()
    await _poll_twice(poller)
    assert not [r for r in caplog.records if r.name == "accel.repository_poller"], (
        "an unchanged broken model is not loaded again on every poll"
    )

    config.write_text(json.dumps({"version_policy": {"specific": {"versions": [1]}}}))
    await _poll_twice(poller)
    assert repository.versions("doubler") == ["1"]


async def test_a_broken_new_model_is_listed_unavailable_and_the_others_serve(
    poller: RepositoryPoller, repository: ModelRepository
) -> None:
    broken = repository.root / "broken" / "1"
    broken.mkdir(parents=True)
    (broken / "model.onnx").write_bytes(b"not onnx")
    await _poll_twice(poller)
    [state] = [s for s in repository.index() if s.name == "broken"]
    assert state.state == "UNAVAILABLE" and "cannot load the model" in state.reason
    assert await _doubles(repository, "doubler")


async def test_a_model_unloaded_by_request_stays_unloaded_until_its_directory_changes(
    poller: RepositoryPoller, repository: ModelRepository
) -> None:
    await repository.unload("doubler")
    await _poll_twice(poller)
    assert repository.names() == []
    (repository.root / "doubler" / "config.json").write_text(json.dumps({"latest_versions": 1}))
    await _poll_twice(poller)
    assert repository.versions("doubler") == ["2"]


def test_the_fingerprint_sees_added_files_directories_and_rewrites(tmp_path: Path) -> None:
    write_doubler(tmp_path / "m" / "1" / "model.onnx")
    (tmp_path / ".hidden").mkdir()
    before = scan_repository(tmp_path)
    assert list(before) == ["m"]
    (tmp_path / "m" / "2").mkdir()
    with_directory = scan_repository(tmp_path)
    assert with_directory != before
    (tmp_path / "m" / "2" / "model.onnx").write_bytes((tmp_path / "m" / "1" / "model.onnx").read_bytes())
    assert scan_repository(tmp_path) != with_directory


async def test_stop_is_safe_twice_and_start_needs_a_repository_directory(tmp_path: Path) -> None:
    poller = RepositoryPoller(ModelRepository(tmp_path / "missing"), interval_s=0.01)
    with pytest.raises(ModelConfigError, match="is not a directory"):
        await poller.start()
    await poller.stop()
    with pytest.raises(ValueError, match="interval_s must be > 0"):
        RepositoryPoller(ModelRepository(tmp_path), interval_s=0)
