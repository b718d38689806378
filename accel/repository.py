"""The model repository: `<root>/<model>/config.json` plus `<root>/<model>/<version>/` (the model
file of its backend), loaded into serving batchers according to each model's version policy,
reloaded and unloaded without failing requests already in flight."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from accel.backends import Backend
from accel.backends.loading import open_backend
from accel.batching import DynamicBatcher
from accel.errors import InvalidInput, ModelConfigError, ModelNotFound, ModelNotReady
from accel.model import TensorSpec
from accel.model_config import CONFIG_FILE, ModelConfig, read_config
from accel.names import check_model_name, preview
from accel.statistics import ModelStatistics
from inference_protocol.tensors import FIXED_DTYPES, Tensor

__all__ = ["ModelConfig", "ModelRepository", "ModelState", "ServedVersion", "read_config"]

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class ModelState:
    """One entry of the repository index: a served version (`READY`), or a model directory that is
    not served (`UNAVAILABLE`, version empty) with the reason."""

    name: str
    version: str
    state: Literal["READY", "UNAVAILABLE"]
    reason: str = ""


class ModelRepository:
    """Loads every model under `root` and resolves (name, version) to a serving batcher.

    Args:
        root: the repository directory.
        drain_s: on reload or unload, how long requests already queued on the replaced batchers
            may take to be answered before they fail.
    """

    def __init__(self, root: Path, drain_s: float = 30.0) -> None:
        self.root = root
        self.drain_s = drain_s
        self._models: dict[str, dict[str, ServedVersion]] = {}
        self._statistics: dict[tuple[str, str], ModelStatistics] = {}
        self._not_served: dict[str, str] = {}
        self._unavailable: dict[str, str] = {}
        """Models refused because their runtime is missing here: requests get UNAVAILABLE with this."""
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.load_failures: Counter[str] = Counter()
        """Loads and reloads that failed, by model (`edge_accel_model_load_failures`)."""

    async def load_all(self) -> None:
        """Load every model directory; a broken model is logged and skipped, never fatal."""
        if not self.root.is_dir():
            raise ModelConfigError(f"model repository {self.root} is not a directory")
        for model_dir in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            try:
                await self.load(model_dir.name)
            except ModelConfigError as exc:
                log.error("model %s not loaded: %s", model_dir.name, exc)

    async def load(self, name: str) -> None:
        """Load (or reload) one model's versions per its version policy.

        The new versions are loaded beside the served ones, swapped in at once, and the replaced
        batchers drain: requests already queued on them are still answered. If loading fails,
        the versions served before stay served.
        """
        model_dir = self._model_dir(name)
        async with self._locks[name]:
            try:
                served = await self._load_versions(name, model_dir)
            except Exception as exc:
                self.load_failures[name] += 1
                if isinstance(exc, ModelConfigError) and name not in self._models:
                    self._not_served[name] = str(exc)
                    if exc.retriable:
                        self._unavailable[name] = str(exc)
                raise
            old = self._models.get(name, {})
            self._models[name] = served
            self._not_served.pop(name, None)
            self._unavailable.pop(name, None)
            log.info("model %s loaded, versions %s", name, sorted(served, key=int))
            await self._drain(old.values())

    async def unload(self, name: str) -> None:
        """Stop serving a model; requests already queued on it are still answered. The model's
        directory may already be gone."""
        check_model_name(name)
        if name not in self._models and name not in self._locks:
            # refused before a lock is made for it: names that were never models leave nothing behind
            raise ModelNotFound(f"model {preview(name)} is not served; served models: {self.names()}")
        async with self._locks[name]:
            old = self._models.pop(name, None)
            if old is None:
                raise ModelNotFound(f"model {preview(name)} is not served; served models: {self.names()}")
            self._not_served[name] = "unloaded"
            log.info("model %s unloading", name)
            await self._drain(old.values())

    async def remove(self, name: str) -> None:
        """Forget a model whose directory is gone: unload it if served (draining what is queued),
        and drop why it was not served."""
        check_model_name(name)
        async with self._locks[name]:
            old = self._models.pop(name, None)
            self._not_served.pop(name, None)
            self._unavailable.pop(name, None)
            if old is not None:
                log.info("model %s removed from the repository, unloading", name)
                await self._drain(old.values())

    async def _load_versions(self, name: str, model_dir: Path) -> dict[str, ServedVersion]:
        config_path = model_dir / CONFIG_FILE
        config = read_config(model_dir)
        on_disk = version_numbers(model_dir)
        if not on_disk:
            raise ModelConfigError(f"{model_dir}: no numeric version directory (e.g. {model_dir / '1'})")
        versions = config.effective_version_policy().select(on_disk, config_path)
        served: dict[str, ServedVersion] = {}
        try:
            for version in map(str, versions):
                # Building a session can take seconds; keep the event loop serving meanwhile.
                backend = await asyncio.to_thread(open_backend, config, model_dir / version, config_path)
                statistics = self._statistics.setdefault((name, version), ModelStatistics(name, version))
                await _warm_up(backend, config.warm_up_sizes(), f"{config_path} version {version}")
                batcher = DynamicBatcher(backend, config.batch_policy(), f"{name}:{version}", statistics)
                await batcher.start()
                served[version] = ServedVersion(name, version, config, batcher)
        except BaseException:
            await self._drain(served.values(), drain_s=0)
            raise
        return served

    async def _drain(self, versions: Iterable[ServedVersion], drain_s: float | None = None) -> None:
        wait_s = self.drain_s if drain_s is None else drain_s
        await asyncio.gather(*(v.batcher.stop(wait_s) for v in versions))

    def _model_dir(self, name: str) -> Path:
        """The directory of model `name`, refusing names that are not one plain directory name."""
        check_model_name(name)
        model_dir = self.root / name
        if not model_dir.is_dir():
            raise ModelNotFound(
                f"no model directory {preview(name)} in the repository; models there: {self.model_directories()}"
            )
        return model_dir

    def index(self, ready_only: bool = False) -> list[ModelState]:
        """Every served version, then (unless `ready_only`) every model directory not served."""
        states = [
            ModelState(name, version, "READY")
            for name in self.names()
            for version in self.versions(name)
        ]
        if not ready_only:
            for name in self.model_directories():
                if name not in self._models:
                    states.append(ModelState(name, "", "UNAVAILABLE", self._not_served.get(name, "not loaded")))
        return sorted(states, key=lambda s: (s.name, s.version))

    def statistics(self, name: str = "", version: str = "") -> list[ModelStatistics]:
        """Counters of every served version, of one model's versions, or of one version."""
        if not name:
            if version:
                raise InvalidInput(f"statistics for version {version!r} need a model name")
            return [v.batcher.statistics for n in self.names() for v in self._served(n)]
        if version:
            return [self.resolve(name, version).batcher.statistics]
        return [v.batcher.statistics for v in self._served(name)]

    def _served(self, name: str) -> list[ServedVersion]:
        return [self._models[name][v] for v in self.versions(name)]

    def names(self) -> list[str]:
        return sorted(self._models)

    def model_directories(self) -> list[str]:
        """The model directories of the repository by name, served or not (hidden ones left out)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def versions(self, name: str) -> list[str]:
        if name not in self._models:
            raise ModelNotFound(f"unknown model {preview(name)}; served models: {self.names()}")
        return sorted(self._models[name], key=int)

    def resolve(self, name: str, version: str = "") -> ServedVersion:
        """The served version asked for, or the newest one when `version` is empty."""
        versions = self._models.get(name)
        if not versions:
            if name in self._unavailable:
                raise ModelNotReady(f"model {name!r} is UNAVAILABLE: {self._unavailable[name]}")
            raise ModelNotFound(f"unknown model {preview(name)}; served models: {self.names()}")
        if not version:
            return versions[max(versions, key=int)]
        if version not in versions:
            raise ModelNotFound(
                f"model {preview(name)} has no served version {preview(version)}; served: {self.versions(name)}"
            )
        return versions[version]

    async def close(self) -> None:
        """Stop every batcher, answering what is already queued within the drain period. Safe to
        call twice."""
        models, self._models = self._models, {}
        await self._drain([served for versions in models.values() for served in versions.values()])



def version_numbers(model_dir: Path) -> list[int]:
    """The versions on disk: subdirectories named by a plain decimal number (`1`, `12`, not `01`)."""
    return sorted(
        int(p.name)
        for p in model_dir.iterdir()
        if p.is_dir() and p.name.isascii() and p.name.isdigit() and p.name == str(int(p.name))
    )


async def _warm_up(backend: Backend, batch_sizes: list[int], where: str) -> None:
    """Run one zero-filled computation per batch size on a version not yet served.

    Raises:
        ModelConfigError: a computation failed (the version is not served).
    """
    for rows in batch_sizes:
        inputs = {spec.name: warm_up_tensor(spec, rows) for spec in backend.inputs}
        started = time.monotonic()
        try:
            await asyncio.to_thread(backend.run, inputs)
        except Exception as exc:  # whatever the runtime raises, the load fails with it named
            raise ModelConfigError(f"{where}: warm-up with {rows} rows failed: {exc}") from exc
        log.info("%s warmed up with %d rows in %.1f ms", where, rows, (time.monotonic() - started) * 1000)


def warm_up_tensor(spec: TensorSpec, rows: int) -> Tensor:
    """A zero-filled input of `rows` rows for `spec` (any other -1 dimension taken as 1)."""
    shape = (rows, *(1 if d < 0 else d for d in spec.shape[1:]))
    if spec.datatype == "BYTES":
        return np.full(shape, b"", dtype=object)
    # BF16 travels as its 16 raw bits.
    return np.zeros(shape, dtype=FIXED_DTYPES.get(spec.datatype, np.dtype("<u2")))
