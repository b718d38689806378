"""A model's `config.json`: which backend serves it, how its requests are batched, which of its
versions are served, and the backend's own settings; every error names the file and the field."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from accel.batching import BatchPolicy
from accel.errors import ModelConfigError
from accel.model import TensorSpec
from accel.steps.registry import STEP_KINDS
from inference_protocol.tensors import DATATYPES

CONFIG_FILE = "config.json"
BackendName = Literal["onnxruntime", "rebel", "pipeline"]
# Platform strings reported in ModelMetadata and ModelConfig when config.json sets none.
# Not Triton's "ensemble" for pipelines: clients that see "ensemble" go looking for composing models.
DEFAULT_PLATFORMS: dict[str, str] = {"onnxruntime": "onnxruntime_onnx", "rebel": "rebel_rbln", "pipeline": "pipeline"}


class LatestVersions(BaseModel):
    """Serve the `num_versions` highest-numbered versions, e.g. `{"num_versions": 2}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    num_versions: int = Field(1, ge=1)
    """How many of the newest numeric versions to serve."""


class AllVersions(BaseModel):
    """Serve every numeric version directory: `{}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SpecificVersions(BaseModel):
    """Serve exactly these versions, e.g. `{"versions": [1, 3]}`; loading fails if one is missing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    versions: list[int] = Field(min_length=1)
    """Version numbers (directory names) to serve."""

    @field_validator("versions")
    @classmethod
    def _distinct_and_not_negative(cls, versions: list[int]) -> list[int]:
        if any(v < 0 for v in versions):
            raise ValueError(f"versions are directory numbers, 0 or more; got {versions}")
        if len(set(versions)) != len(versions):
            raise ValueError(f"versions are listed more than once: {versions}")
        return versions


class VersionPolicy(BaseModel):
    """Which versions of a model are served, Triton's three policies; exactly one key is set.

    Example: `{"latest": {"num_versions": 2}}`, `{"all": {}}` or `{"specific": {"versions": [1, 3]}}`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    latest: LatestVersions | None = None
    """The newest `num_versions` versions."""
    all: AllVersions | None = None
    """Every version on disk."""
    specific: SpecificVersions | None = None
    """Exactly the versions listed."""

    @model_validator(mode="after")
    def _exactly_one_policy(self) -> VersionPolicy:
        chosen = [name for name in ("latest", "all", "specific") if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise ValueError(f"set exactly one of 'latest', 'all', 'specific'; got {chosen or 'none'}")
        return self

    def select(self, on_disk: Sequence[int], config_path: Path) -> list[int]:
        """The versions to serve among `on_disk`, ascending.

        Raises:
            ModelConfigError: a specific version is not on disk (naming the file, the field and
                the versions that are).
        """
        if self.specific is not None:
            missing = sorted(set(self.specific.versions) - set(on_disk))
            if missing:
                raise ModelConfigError(
                    f"{config_path}: version_policy.specific.versions: version(s) {missing} have no directory "
                    f"in {config_path.parent}; versions on disk: {sorted(on_disk)}"
                )
            return sorted(self.specific.versions)
        if self.all is not None:
            return sorted(on_disk)
        assert self.latest is not None
        return sorted(on_disk)[-self.latest.num_versions :]


class TensorConfig(BaseModel):
    """One model input or output as config.json declares it; `dims` leave out the batch dimension
    (Triton's convention), -1 is any size. Example: `{"name": "features", "datatype": "FP32",
    "dims": [32]}` is served as FP32 [-1, 32]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    """The tensor's name on the wire."""
    datatype: str
    """A protocol datatype: BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES, BF16."""
    dims: list[int]
    """Shape after the batch dimension; [] for one value per row."""

    @field_validator("datatype")
    @classmethod
    def _known_datatype(cls, datatype: str) -> str:
        if datatype not in DATATYPES:
            raise ValueError(f"{datatype!r} is not a protocol datatype; one of {sorted(DATATYPES)}")
        return datatype

    @field_validator("dims")
    @classmethod
    def _sizes_or_any(cls, dims: list[int]) -> list[int]:
        if any(d < -1 for d in dims):
            raise ValueError(f"dims are sizes, or -1 for any size; got {dims}")
        return dims

    def spec(self) -> TensorSpec:
        return TensorSpec(self.name, self.datatype, (-1, *self.dims))


class RebelOptions(BaseModel):
    """Settings of the Rebellions NPU runtime, e.g. `{"compiled_batch_size": 8, "device": 0}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    compiled_batch_size: int = Field(1, ge=1)
    """Rows the `.rbln` model was compiled for (NPU graphs have static shapes): each merged batch
    runs in chunks of exactly this many rows, the last one zero-padded."""
    device: int | None = Field(None, ge=0)
    """NPU device number; unset: the runtime's default (device 0)."""


class StepConfig(BaseModel):
    """One step of a pipeline: `step` names its kind, `inputs`/`outputs` bind the step's ports to
    the pipeline's tensor names (unbound ports use their own name), and every other key is an
    option of that kind, e.g. `{"step": "top_k", "k": 3, "inputs": {"scores": "probabilities"}}`."""

    model_config = ConfigDict(extra="allow", frozen=True)

    step: str
    """The kind of step, one of accel/steps/registry.py's `STEP_KINDS`."""
    inputs: dict[str, str] = {}
    """Step input port -> pipeline tensor it reads."""
    outputs: dict[str, str] = {}
    """Step output port -> pipeline tensor it writes."""

    @property
    def options(self) -> dict[str, object]:
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _known_kind_and_options(self) -> StepConfig:
        kind = STEP_KINDS.get(self.step)
        if kind is None:
            raise ValueError(f"step {self.step!r} is not a known step; known: {sorted(STEP_KINDS)}")
        kind.check(self.options)
        return self


class ModelConfig(BaseModel):
    """A model's `config.json`. Every key is optional except what its backend needs; unknown keys
    are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: BackendName = "onnxruntime"
    """Which runtime serves the model: `onnxruntime` (`<version>/model.onnx`), `rebel` (Rebellions
    NPU, `<version>/model.rbln`) or `pipeline` (the `steps`, run as one model)."""
    platform: str = "onnxruntime_onnx"
    """Platform string reported in ModelMetadata; defaults by backend."""
    max_batch_size: int = Field(4096, ge=1)
    """Most rows merged into one computation (and most rows one request may carry)."""
    max_queue_delay_us: int = Field(0, ge=0)
    """How long the batcher waits for more requests after the first, in microseconds."""
    inline_compute_max_us: int = Field(200, ge=0)
    """A model whose computations average at most this many microseconds runs on the server's
    event loop instead of a worker thread (the trip to the thread costs more); 0: never."""
    max_queue_size: int = Field(1024, ge=1)
    """Requests allowed to wait; beyond it requests are refused with RESOURCE_EXHAUSTED."""
    priority_levels: int = Field(1, ge=1)
    """Priority levels requests may ask for with the `priority` parameter, 1 the highest;
    1 means no priorities."""
    default_priority_level: int = Field(1, ge=1)
    """Level of requests that set no priority; at most `priority_levels`."""
    default_timeout_us: int = Field(0, ge=0)
    """How long a request that sets no `timeout` parameter may wait in the queue before it is
    refused with DEADLINE_EXCEEDED, in microseconds (0: as long as its gRPC deadline allows)."""
    max_request_bytes: int | None = Field(None, ge=1)
    """Most bytes of tensor contents one request to this model may carry; unset: the server's
    ACCEL_MAX_REQUEST_BYTES."""
    max_bytes_elements: int | None = Field(None, ge=1)
    """Most BYTES elements one request to this model may carry; unset: the server's
    ACCEL_MAX_BYTES_ELEMENTS."""
    execution_providers: list[str] = ["CPUExecutionProvider"]
    """ONNX Runtime execution providers in preference order (onnxruntime models and pipelines'
    `onnx` steps)."""
    intra_op_threads: int = Field(1, ge=0)
    """Threads one ONNX Runtime computation may use (0: the runtime decides)."""
    latest_versions: int | None = Field(None, ge=1)
    """Shorthand for `version_policy: {"latest": {"num_versions": N}}`."""
    version_policy: VersionPolicy | None = None
    """Which versions are served: `latest`, `all` or `specific`; default the newest one."""
    warmup_batch_sizes: list[int] = []
    """Row counts of the warm-up computations run on every load and reload of a version before
    it is served (zero-filled inputs of the model's input shapes, any other -1 dimension taken as
    1): the first requests at each size then find the runtime's allocations made. A warm-up that
    fails fails the load, and the versions served before stay served. Empty: no warm-up, except
    for an NPU (`rebel`) model, warmed up at its compiled batch size."""
    inputs: list[TensorConfig] | None = None
    """The model's inputs: required for `rebel` (a compiled model cannot be read here); for the
    other backends, checked against what the model declares when loaded."""
    outputs: list[TensorConfig] | None = None
    """The model's outputs: required for `rebel`; for `pipeline`, which pipeline tensors are
    returned (default: the last step's outputs); for `onnxruntime`, checked against the graph."""
    steps: list[StepConfig] | None = None
    """The pipeline's steps in order (backend `pipeline` only)."""
    rebel: RebelOptions | None = None
    """Rebellions NPU runtime settings (backend `rebel` only)."""

    @model_validator(mode="before")
    @classmethod
    def _platform_follows_backend(cls, data: object) -> object:
        if isinstance(data, dict) and "platform" not in data:
            backend = data.get("backend", "onnxruntime")
            if isinstance(backend, str) and backend in DEFAULT_PLATFORMS:
                return {**data, "platform": DEFAULT_PLATFORMS[backend]}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ModelConfig:
        if self.default_priority_level > self.priority_levels:
            raise ValueError(
                f"default_priority_level {self.default_priority_level} is above priority_levels {self.priority_levels}"
            )
        for rows in self.warmup_batch_sizes:
            if not 1 <= rows <= self.max_batch_size:
                raise ValueError(f"warmup_batch_sizes: {rows} rows is outside 1 to max_batch_size ({self.max_batch_size})")
        if self.latest_versions is not None and self.version_policy is not None:
            raise ValueError("set latest_versions or version_policy, not both (latest_versions is its shorthand)")
        for field in ("inputs", "outputs"):
            tensors: list[TensorConfig] = getattr(self, field) or []
            names = [t.name for t in tensors]
            if len(set(names)) != len(names):
                raise ValueError(f"{field}: tensor names are repeated: {names}")
        self._check_backend_keys()
        return self

    def _check_backend_keys(self) -> None:
        """Keys that only one backend reads are refused elsewhere, so that a typo of `backend`
        does not silently serve the model another way."""
        only_for: dict[str, tuple[str, ...]] = {
            "steps": ("pipeline",),
            "rebel": ("rebel",),
            "execution_providers": ("onnxruntime", "pipeline"),
            "intra_op_threads": ("onnxruntime", "pipeline"),
        }
        for key, backends in only_for.items():
            if key in self.model_fields_set and self.backend not in backends:
                raise ValueError(f"{key}: only for backend {' or '.join(map(repr, backends))}, not {self.backend!r}")
        if self.backend == "rebel":
            for key in ("inputs", "outputs"):
                if not getattr(self, key):
                    raise ValueError(
                        f"{key}: required for backend 'rebel' (a compiled .rbln model cannot be inspected here), "
                        'e.g. [{"name": "x", "datatype": "FP32", "dims": [32]}]'
                    )
        if self.backend == "pipeline" and not self.steps:
            raise ValueError('steps: required for backend \'pipeline\', e.g. [{"step": "onnx", "model": "model.onnx"}]')

    def effective_version_policy(self) -> VersionPolicy:
        """The version policy, with `latest_versions` (or the default, the newest one) spelled out."""
        if self.version_policy is not None:
            return self.version_policy
        return VersionPolicy(latest=LatestVersions(num_versions=self.latest_versions or 1))

    def warm_up_sizes(self) -> list[int]:
        """The row counts warmed up on load: `warmup_batch_sizes`, or, for an NPU model that
        declares none, its one compiled batch size (its graph's only shape)."""
        if self.warmup_batch_sizes or self.backend != "rebel":
            return list(self.warmup_batch_sizes)
        return [self.rebel.compiled_batch_size if self.rebel is not None else 1]

    def batch_policy(self) -> BatchPolicy:
        return BatchPolicy(
            self.max_batch_size, self.max_queue_delay_us, self.max_queue_size,
            self.priority_levels, self.default_priority_level, self.default_timeout_us,
            self.inline_compute_max_us,
        )


def read_config(model_dir: Path) -> ModelConfig:
    """Parse `<model_dir>/config.json` (defaults when absent), naming the file and field on any error."""
    path = model_dir / CONFIG_FILE
    if not path.exists():
        return ModelConfig.model_validate({})
    try:
        return ModelConfig.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise ModelConfigError(f"{path}: {describe_errors(exc)}") from exc


def describe_errors(exc: ValidationError) -> str:
    """Pydantic's errors as `field.path: message` joined by `; `."""
    problems = []
    for error in exc.errors():
        where = ".".join(map(str, error["loc"]))
        message = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)
