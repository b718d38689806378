"""The GRPCInferenceService servicer: protocol messages in, repository and batchers underneath."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import grpc
from opentelemetry import trace

from accel import __name__ as _pkg
from accel.admission import RequestLimits, admit, admit_counts
from accel.errors import AccelError, ModelNotFound, ModelNotReady
from accel.grpc.convert import (
    decodes_inline,
    request_from_proto,
    requested_outputs,
    response_to_proto,
    tensor_headers,
)
from accel.grpc.repository_convert import (
    check_load_parameters,
    check_repository_name,
    check_unload_parameters,
    config_to_proto,
    index_to_proto,
    statistics_to_proto,
)
from accel.grpc.status import classify, translate_errors
from accel.grpc.streaming import answer_concurrently, requests_until
from accel.model import InferenceRequest, InferenceResponse
from accel.names import check_model_name, check_model_version
from accel.repository import ModelRepository, ServedVersion
from edge import __version__
from edge.telemetry import TRACE_FIELDS, fields_context, grpc_metadata_context
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc
from inference_protocol.service import SiteIdentity

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(_pkg)

SERVER_NAME = "sovereign-edge-accel"
MAX_ECHOED_CHARS = 255
"""How much of a refused request's model name and version a stream's in-band error echoes."""
# Protocol extensions this server implements, as ServerMetadata lists them (Triton's names).
EXTENSIONS = [
    "binary_tensor_data", "model_repository", "model_configuration", "statistics", "schedule_policy", "parameters",
]


class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):
    """Answers every protocol RPC from the model repository."""

    def __init__(
        self,
        repository: ModelRepository,
        identity: SiteIdentity,
        stream_max_in_flight: int = 64,
        on_failure: Callable[[str, str], None] | None = None,
        limits: RequestLimits | None = None,
    ) -> None:
        self._repository = repository
        self._limits = limits or RequestLimits(max_request_bytes=64 * 2**20, max_bytes_elements=2**20)
        self._on_failure = on_failure
        self._identity = identity
        self._stream_max_in_flight = stream_max_in_flight
        self.ready = False
        self._draining = asyncio.Event()

    def drain(self) -> None:
        """The server is stopping: every stream answers the requests it has read and ends."""
        self.ready = False
        self._draining.set()

    async def ServerLive(self, request: pb.ServerLiveRequest, context: grpc.aio.ServicerContext) -> pb.ServerLiveResponse:
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request: pb.ServerReadyRequest, context: grpc.aio.ServicerContext) -> pb.ServerReadyResponse:
        return pb.ServerReadyResponse(ready=self.ready)

    async def ModelReady(self, request: pb.ModelReadyRequest, context: grpc.aio.ServicerContext) -> pb.ModelReadyResponse:
        try:
            self._repository.resolve(request.name, request.version)
        except (ModelNotFound, ModelNotReady):
            return pb.ModelReadyResponse(ready=False)
        return pb.ModelReadyResponse(ready=self.ready)

    async def ServerMetadata(
        self, request: pb.ServerMetadataRequest, context: grpc.aio.ServicerContext
    ) -> pb.ServerMetadataResponse:
        return pb.ServerMetadataResponse(
            name=SERVER_NAME, version=__version__, extensions=EXTENSIONS + self._identity.extensions()
        )

    @translate_errors
    async def ModelMetadata(
        self, request: pb.ModelMetadataRequest, context: grpc.aio.ServicerContext
    ) -> pb.ModelMetadataResponse:
        check_model_name(request.name, "name")
        check_model_version(request.version, "version")
        served = self._repository.resolve(request.name, request.version)
        message = pb.ModelMetadataResponse(
            name=served.name, versions=self._repository.versions(served.name), platform=served.config.platform
        )
        for spec in served.inputs:
            message.inputs.add(name=spec.name, datatype=spec.datatype, shape=spec.shape)
        for spec in served.outputs:
            message.outputs.add(name=spec.name, datatype=spec.datatype, shape=spec.shape)
        return message

    @translate_errors
    async def ModelConfig(self, request: pb.ModelConfigRequest, context: grpc.aio.ServicerContext) -> pb.ModelConfigResponse:
        check_model_name(request.name, "name")
        check_model_version(request.version, "version")
        served = self._repository.resolve(request.name, request.version)
        return pb.ModelConfigResponse(config=config_to_proto(served))

    @translate_errors
    async def ModelStatistics(
        self, request: pb.ModelStatisticsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ModelStatisticsResponse:
        if request.name:
            check_model_name(request.name, "name")
        check_model_version(request.version, "version")
        statistics = self._repository.statistics(request.name, request.version)
        return pb.ModelStatisticsResponse(model_stats=[statistics_to_proto(s) for s in statistics])

    @translate_errors
    async def RepositoryIndex(
        self, request: pb.RepositoryIndexRequest, context: grpc.aio.ServicerContext
    ) -> pb.RepositoryIndexResponse:
        check_repository_name(request.repository_name)
        return index_to_proto(self._repository.index(ready_only=request.ready))

    @translate_errors
    async def RepositoryModelLoad(
        self, request: pb.RepositoryModelLoadRequest, context: grpc.aio.ServicerContext
    ) -> pb.RepositoryModelLoadResponse:
        check_repository_name(request.repository_name)
        check_model_name(request.model_name)
        check_load_parameters(request.parameters)
        await self._repository.load(request.model_name)
        return pb.RepositoryModelLoadResponse()

    @translate_errors
    async def RepositoryModelUnload(
        self, request: pb.RepositoryModelUnloadRequest, context: grpc.aio.ServicerContext
    ) -> pb.RepositoryModelUnloadResponse:
        check_repository_name(request.repository_name)
        check_model_name(request.model_name)
        check_unload_parameters(request.parameters)
        await self._repository.unload(request.model_name)
        return pb.RepositoryModelUnloadResponse()

    @translate_errors
    async def ModelInfer(self, request: pb.ModelInferRequest, context: grpc.aio.ServicerContext) -> pb.ModelInferResponse:
        return await self._traced_infer(request, context)

    async def _traced_infer(self, request: pb.ModelInferRequest, context: grpc.aio.ServicerContext) -> pb.ModelInferResponse:
        """One inference in an `accel.ModelInfer` span that continues the caller's trace, whether
        it came alone or on a stream: read from the request's `traceparent`/`tracestate` string
        parameters (a stream shared by many requests has one call metadata for them all), else
        from the call's metadata."""
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            # Tracing is off in this process: no span to make, no caller context to read.
            return await self._infer(request, context)
        carried = {
            key: value.string_param for key, value in request.parameters.items()
            if key in TRACE_FIELDS and value.WhichOneof("parameter_choice") == "string_param"
        }
        parent = fields_context(carried) if carried else grpc_metadata_context(context.invocation_metadata())
        with _tracer.start_as_current_span(
            "accel.ModelInfer", context=parent, kind=trace.SpanKind.SERVER,
            attributes={"model.name": request.model_name, "model.version": request.model_version},
        ):
            return await self._infer(request, context)

    async def _infer(self, request: pb.ModelInferRequest, context: grpc.aio.ServicerContext) -> pb.ModelInferResponse:
        try:
            return await self._infer_unchecked(request, context)
        except AccelError as exc:
            if self._on_failure is not None:
                self._on_failure(request.model_name, exc.status)
            raise

    async def _infer_unchecked(
        self, request: pb.ModelInferRequest, context: grpc.aio.ServicerContext
    ) -> pb.ModelInferResponse:
        # Up to the second `admit`, only what the request declares and the lengths of its contents
        # are read: a request the model cannot take is refused before a tensor is built or an
        # element parsed.
        check_model_name(request.model_name)
        check_model_version(request.model_version)
        served = self._repository.resolve(request.model_name, request.model_version)
        started_ns = time.monotonic_ns()
        try:
            decoded = await self._admit_and_decode(request, served)
        except AccelError:
            # counted as the model's failure, as one the batcher refuses would be
            served.batcher.statistics.record_failure(time.monotonic_ns() - started_ns)
            raise
        remaining = context.time_remaining()
        deadline = None
        if remaining is not None:
            deadline = asyncio.get_running_loop().time() + remaining
        outputs = await served.batcher.infer(decoded.inputs, deadline, decoded.priority, decoded.timeout_us)
        response = InferenceResponse(served.name, served.version, outputs, decoded.request_id)
        return response_to_proto(response, decoded.requested_outputs)

    async def _admit_and_decode(self, request: pb.ModelInferRequest, served: ServedVersion) -> InferenceRequest:
        label = f"{served.name}:{served.version}"
        produced = [spec.name for spec in served.outputs]
        admit_counts(
            label, served.inputs, produced, len(request.inputs), len(request.raw_input_contents),
            len(request.outputs), len(request.parameters),
        )
        requested_outputs(request, produced, label)
        limits = self._limits.overridden(served.config.max_request_bytes, served.config.max_bytes_elements)
        # Twice: first on what the inputs declare, then with the raw lengths, since reading the
        # raw contents copies them (60 MiB: tens of milliseconds on the event loop).
        admit(label, served.inputs, tensor_headers(request), limits, served.config.max_batch_size)
        raw = list(request.raw_input_contents)
        headers = tensor_headers(request, raw)
        admit(label, served.inputs, headers, limits, served.config.max_batch_size)
        if decodes_inline(headers):
            return request_from_proto(request, raw)
        # BYTES elements or typed values to walk one by one: keep the event loop serving meanwhile
        return await asyncio.to_thread(request_from_proto, request, raw)

    async def ModelStreamInfer(
        self, request_iterator: AsyncIterator[pb.ModelInferRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ModelStreamInferResponse]:
        """Up to `stream_max_in_flight` requests of one stream are computed at once (and can share
        a batch); responses come in completion order, each with its request's id. A request that
        fails gets its error in band (`error_message`, and its status name in the response's
        `error_code` parameter) and the stream goes on with the requests behind it.

        The server's identity goes out as initial metadata before any request is read. Once the
        server is stopping, a stream reads no further request: it answers those it has and ends."""
        await context.send_initial_metadata(self._identity.stream_metadata())

        async def answer(request: pb.ModelInferRequest) -> pb.ModelStreamInferResponse:
            try:
                return pb.ModelStreamInferResponse(infer_response=await self._traced_infer(request, context))
            except Exception as exc:  # noqa: BLE001 (one request's failure, in band; classify logs the unknown)
                code, details = classify(exc, "ModelStreamInfer")
                refused = pb.ModelInferResponse(
                    model_name=request.model_name[:MAX_ECHOED_CHARS],
                    model_version=request.model_version[:MAX_ECHOED_CHARS],
                    id=request.id,
                )
                refused.parameters["error_code"].string_param = code.name
                return pb.ModelStreamInferResponse(error_message=details, infer_response=refused)

        requests = requests_until(request_iterator, self._draining)
        async for response in answer_concurrently(requests, answer, self._stream_max_in_flight):
            yield response
