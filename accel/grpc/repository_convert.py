"""Protobuf <-> domain conversion for the model configuration, statistics and repository RPCs
(Triton's extensions), so that the repository and batcher stay free of protocol types."""

from __future__ import annotations

from collections.abc import Mapping

from accel.errors import InvalidInput, Unsupported
from accel.model import TensorSpec
from accel.model_config import VersionPolicy
from accel.repository import ModelState, ServedVersion
from accel.statistics import Duration, ModelStatistics
from inference_protocol.generated import grpc_predict_v2_pb2 as pb

# Protocol datatype names -> Triton's DataType enum (BYTES is Triton's TYPE_STRING).
DATA_TYPES: dict[str, int] = {
    "BOOL": pb.TYPE_BOOL,
    "UINT8": pb.TYPE_UINT8,
    "UINT16": pb.TYPE_UINT16,
    "UINT32": pb.TYPE_UINT32,
    "UINT64": pb.TYPE_UINT64,
    "INT8": pb.TYPE_INT8,
    "INT16": pb.TYPE_INT16,
    "INT32": pb.TYPE_INT32,
    "INT64": pb.TYPE_INT64,
    "FP16": pb.TYPE_FP16,
    "FP32": pb.TYPE_FP32,
    "FP64": pb.TYPE_FP64,
    "BYTES": pb.TYPE_STRING,
    "BF16": pb.TYPE_BF16,
}
# Load parameters Triton's clients send that this server cannot honour: models change by
# editing the repository on disk, never by shipping a config or files over the wire.
_OVERRIDES = ("config", "file:")
UNLOAD_PARAMETERS = frozenset({"unload_dependents"})  # no model here has dependents


def _dims(spec: TensorSpec) -> list[int]:
    """Triton's dims leave out the batch dimension when max_batch_size > 0, as it always is here."""
    return list(spec.shape[1:])


def config_to_proto(served: ServedVersion) -> pb.ModelConfig:
    """The Triton ModelConfig of a served version: what perf_analyzer and similar tools read."""
    config = served.config
    message = pb.ModelConfig(
        name=served.name,
        platform=config.platform,
        backend=config.backend,
        max_batch_size=config.max_batch_size,
        version_policy=_version_policy(config.effective_version_policy()),
        dynamic_batching=pb.ModelDynamicBatching(
            max_queue_delay_microseconds=config.max_queue_delay_us,
            # Triton reads priority_levels 0 as "no priorities", which is our single level.
            priority_levels=config.priority_levels if config.priority_levels > 1 else 0,
            default_priority_level=config.default_priority_level if config.priority_levels > 1 else 0,
            default_queue_policy=pb.ModelQueuePolicy(
                timeout_action=pb.ModelQueuePolicy.REJECT,
                default_timeout_microseconds=config.default_timeout_us,
                allow_timeout_override=True,
                max_queue_size=config.max_queue_size,
            ),
        ),
    )
    for spec in served.inputs:
        message.input.add(name=spec.name, data_type=DATA_TYPES.get(spec.datatype, pb.TYPE_INVALID), dims=_dims(spec))
    for spec in served.outputs:
        message.output.add(name=spec.name, data_type=DATA_TYPES.get(spec.datatype, pb.TYPE_INVALID), dims=_dims(spec))
    return message


def _version_policy(policy: VersionPolicy) -> pb.ModelVersionPolicy:
    if policy.specific is not None:
        return pb.ModelVersionPolicy(specific=pb.ModelVersionPolicy.Specific(versions=policy.specific.versions))
    if policy.all is not None:
        return pb.ModelVersionPolicy(all=pb.ModelVersionPolicy.All())
    assert policy.latest is not None
    return pb.ModelVersionPolicy(latest=pb.ModelVersionPolicy.Latest(num_versions=policy.latest.num_versions))


def _duration(duration: Duration) -> pb.StatisticDuration:
    return pb.StatisticDuration(count=duration.count, ns=duration.ns)


def statistics_to_proto(statistics: ModelStatistics) -> pb.ModelStatistics:
    message = pb.ModelStatistics(
        name=statistics.name,
        version=statistics.version,
        last_inference=statistics.last_inference_ms,
        inference_count=statistics.inference_count,
        execution_count=statistics.execution_count,
        inference_stats=pb.InferStatistics(
            success=_duration(statistics.success),
            fail=_duration(statistics.fail),
            queue=_duration(statistics.queue),
            compute_input=_duration(statistics.compute_input),
            compute_infer=_duration(statistics.compute_infer),
            compute_output=_duration(statistics.compute_output),
        ),
    )
    for rows, batch in sorted(statistics.batches.items()):
        message.batch_stats.add(
            batch_size=rows,
            compute_input=_duration(batch.compute_input),
            compute_infer=_duration(batch.compute_infer),
            compute_output=_duration(batch.compute_output),
        )
    return message


def index_to_proto(states: list[ModelState]) -> pb.RepositoryIndexResponse:
    message = pb.RepositoryIndexResponse()
    for state in states:
        message.models.add(name=state.name, version=state.version, state=state.state, reason=state.reason)
    return message


def check_repository_name(repository_name: str) -> None:
    """This server has one repository, addressed by the empty name."""
    if repository_name:
        raise InvalidInput(
            f"repository_name {repository_name!r}: this server serves one model repository; leave it empty"
        )


def check_load_parameters(parameters: Mapping[str, pb.ModelRepositoryParameter]) -> None:
    """Refuse config and file overrides (UNIMPLEMENTED) and unknown parameters (INVALID_ARGUMENT)."""
    for key in parameters:
        if key.startswith(_OVERRIDES):
            raise Unsupported(
                f"load parameter {key!r}: this server loads models only from its repository on disk; "
                "change <model>/config.json or add a version directory, then load again"
            )
        raise InvalidInput(f"unknown load parameter {key!r}; this server takes none")


def check_unload_parameters(parameters: Mapping[str, pb.ModelRepositoryParameter]) -> None:
    unknown = sorted(set(parameters) - UNLOAD_PARAMETERS)
    if unknown:
        raise InvalidInput(f"unknown unload parameter(s) {unknown}; known: {sorted(UNLOAD_PARAMETERS)}")
