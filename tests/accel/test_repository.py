"""The model repository loads per version policy, and refuses broken configs by file and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accel.backends.onnx import OnnxBackend
from accel.errors import ModelConfigError, ModelNotFound
from accel.repository import ModelRepository, read_config


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
