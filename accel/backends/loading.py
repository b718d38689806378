"""The one place that turns a model version's directory and config.json into a running backend."""

from __future__ import annotations

import logging
from pathlib import Path

from accel.backends import Backend
from accel.backends.onnx import OnnxBackend
from accel.backends.pipeline import build_pipeline
from accel.backends.rebel import MODEL_FILE as REBEL_MODEL_FILE
from accel.backends.rebel import RebelBackend
from accel.errors import AccelError, ModelConfigError
from accel.model import TensorSpec
from accel.model_config import ModelConfig, TensorConfig

log = logging.getLogger(__name__)
ONNX_MODEL_FILE = "model.onnx"


def open_backend(config: ModelConfig, version_dir: Path, config_path: Path) -> Backend:
    """Load one version with the backend config.json names. Blocking (a session can take
    seconds to build): call it from a worker thread.

    Raises:
        ModelConfigError: naming the file (and field) that is wrong; RuntimeUnavailable when the
            backend's runtime is not installed. Anything else a runtime raises while loading is
            turned into a ModelConfigError too, so one model never stops the others loading.
    """
    try:
        return _open(config, version_dir, config_path)
    except AccelError:
        raise
    except Exception as exc:  # a runtime's or step's own failure while loading
        log.exception("loading %s failed", version_dir)
        raise ModelConfigError(f"{version_dir}: backend {config.backend!r} failed to load this version: {exc!r}") from exc


def _open(config: ModelConfig, version_dir: Path, config_path: Path) -> Backend:
    if config.backend == "pipeline":
        return build_pipeline(config, version_dir, config_path)
    if config.backend == "rebel":
        assert config.inputs and config.outputs
        options = config.rebel
        return RebelBackend(
            version_dir / REBEL_MODEL_FILE,
            [t.spec() for t in config.inputs],
            [t.spec() for t in config.outputs],
            options.compiled_batch_size if options else 1,
            options.device if options else None,
        )
    backend = OnnxBackend(version_dir / ONNX_MODEL_FILE, config.execution_providers, config.intra_op_threads)
    try:
        _check_declared(config_path, "inputs", config.inputs, backend.inputs)
        _check_declared(config_path, "outputs", config.outputs, backend.outputs)
    except ModelConfigError:
        backend.close()
        raise
    return backend


def _check_declared(config_path: Path, field: str, declared: list[TensorConfig] | None, graph: list[TensorSpec]) -> None:
    """Tensors config.json declares for an ONNX graph must be the graph's own, so the config
    documents the model truthfully."""
    if declared is None:
        return
    by_name = {spec.name: spec for spec in graph}
    names = sorted(t.name for t in declared)
    if names != sorted(by_name):
        raise ModelConfigError(f"{config_path}: {field}: declared {names}, but the graph has {sorted(by_name)}")
    for i, tensor in enumerate(declared):
        spec = tensor.spec()
        if not by_name[spec.name].accepts(spec):
            raise ModelConfigError(
                f"{config_path}: {field}.{i}: declared {spec.describe()}, but the graph gives {by_name[spec.name].describe()}"
            )
