"""The model repository: `<root>/<model>/config.json` plus `<root>/<model>/<version>/model.onnx`,
loaded into serving batchers according to each model's version policy."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from accel.backends.onnx import OnnxBackend
from accel.batching import BatchPolicy, DynamicBatcher
from accel.errors import ModelConfigError, ModelNotFound
from accel.model import TensorSpec

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
CONFIG_FILE = "config.json"


class ModelConfig(BaseModel):
    """A model's `config.json`. Every key is optional; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["onnxruntime"] = "onnxruntime"
    """Which runtime serves the model."""
    platform: str = "onnxruntime_onnx"
    """Platform string reported in ModelMetadata."""
    max_batch_size: int = Field(4096, ge=1)
    """Most rows merged into one computation (and most rows one request may carry)."""
    max_queue_delay_us: int = Field(0, ge=0)
    """How long the batcher waits for more requests after the first, in microseconds."""
    max_queue_size: int = Field(1024, ge=1)
    """Requests allowed to wait; beyond it requests are refused with RESOURCE_EXHAUSTED."""
    execution_providers: list[str] = ["CPUExecutionProvider"]
    """ONNX Runtime execution providers in preference order."""
    intra_op_threads: int = Field(1, ge=0)
    """Threads one computation may use (0: the runtime decides)."""
    latest_versions: int = Field(1, ge=1)
    """How many of the newest numeric versions to serve."""

    def batch_policy(self) -> BatchPolicy:
        return BatchPolicy(self.max_batch_size, self.max_queue_delay_us, self.max_queue_size)


@dataclass
class ServedVersion:
    """One loaded model version and its batcher."""

    name: str
    version: str
    config: ModelConfig
    batcher: DynamicBatcher

    @property
    def inputs(self) -> list[TensorSpec]:
        return self.batcher.backend.inputs

    @property
    def outputs(self) -> list[TensorSpec]:
        return self.batcher.backend.outputs


class ModelRepository:
    """Loads every model under `root` and resolves (name, version) to a serving batcher."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._models: dict[str, dict[str, ServedVersion]] = {}

    async def load_all(self) -> None:
        """Load every model directory; a broken model is logged and skipped, never fatal."""
        if not self.root.is_dir():
            raise ModelConfigError(f"model repository {self.root} is not a directory")
        for model_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            try:
                await self.load(model_dir.name)
            except ModelConfigError as exc:
                log.error("model %s not loaded: %s", model_dir.name, exc)

    async def load(self, name: str) -> None:
        """Load (or reload) one model's versions per its version policy."""
        model_dir = self.root / name
        config = read_config(model_dir)
        versions = sorted(
            (int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit()), reverse=True
        )[: config.latest_versions]
        if not versions:
            raise ModelConfigError(f"{model_dir}: no numeric version directory with {MODEL_FILE}")
        served: dict[str, ServedVersion] = {}
        for version in versions:
            path = model_dir / str(version) / MODEL_FILE
            backend = OnnxBackend(path, config.execution_providers, config.intra_op_threads)
            batcher = DynamicBatcher(backend, config.batch_policy(), label=f"{name}:{version}")
            await batcher.start()
            served[str(version)] = ServedVersion(name, str(version), config, batcher)
        old = self._models.get(name, {})
        self._models[name] = served
        for previous in old.values():
            await previous.batcher.stop()
        log.info("model %s loaded, versions %s", name, sorted(served, key=int))

    def names(self) -> list[str]:
        return sorted(self._models)

    def versions(self, name: str) -> list[str]:
        if name not in self._models:
            raise ModelNotFound(f"unknown model {name!r}; served models: {self.names()}")
        return sorted(self._models[name], key=int)

    def resolve(self, name: str, version: str = "") -> ServedVersion:
        """The served version asked for, or the newest one when `version` is empty."""
        versions = self._models.get(name)
        if not versions:
            raise ModelNotFound(f"unknown model {name!r}; served models: {self.names()}")
        if not version:
            return versions[max(versions, key=int)]
        if version not in versions:
            raise ModelNotFound(f"model {name!r} has no served version {version!r}; served: {self.versions(name)}")
        return versions[version]

    async def close(self) -> None:
        """Stop every batcher. Safe to call twice."""
        models, self._models = self._models, {}
        for versions in models.values():
            for served in versions.values():
                await served.batcher.stop()


def read_config(model_dir: Path) -> ModelConfig:
    """Parse `<model_dir>/config.json`, naming the file and field on any error."""
    path = model_dir / CONFIG_FILE
    if not path.exists():
        return ModelConfig()
    try:
        return ModelConfig.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ModelConfigError(f"{path}: {problems}") from exc
