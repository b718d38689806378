"""The accelerator server process: gRPC inference, health and reflection on one port, with a
graceful stop."""

from __future__ import annotations

import logging
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

from accel.admission import RequestLimits
from accel.grpc.request_sizes import RequestSizeObserver
from accel.grpc.security import BearerTokenCheck, server_credentials
from accel.grpc.servicer import InferenceServicer
from accel.memory import MemoryTrimmer
from accel.metrics import AccelMetrics
from accel.repository import ModelRepository
from accel.repository_poller import RepositoryPoller
from accel.settings import AccelSettings
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc
from inference_protocol.service import INFERENCE_SERVICE, SiteIdentity

log = logging.getLogger(__name__)


class AccelServer:
    """One accelerator server. `async with AccelServer(settings, identity) as server:` serves on
    `server.port` until the block ends."""

    def __init__(self, settings: AccelSettings, identity: SiteIdentity) -> None:
        self.settings = settings
        self.identity = identity
        self.repository = ModelRepository(settings.model_repository, settings.model_drain_s)
        self.poller = RepositoryPoller(self.repository, settings.model_poll_s) if settings.model_poll_s > 0 else None
        self.metrics = AccelMetrics(self.repository)
        self.memory_trimmer = MemoryTrimmer(settings.memory_trim_bytes)
        self._servicer = InferenceServicer(
            self.repository, identity, settings.stream_max_in_flight, on_failure=self.metrics.failed,
            limits=RequestLimits(settings.max_request_bytes, settings.max_bytes_elements),
        )
        self._health = health.aio.HealthServicer()
        self._server: grpc.aio.Server | None = None
        self._health_server: grpc.aio.Server | None = None
        self.port = 0
        self.health_port = 0

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.port}"

    async def start(self) -> None:
        credentials = server_credentials(self.settings)
        if self.poller is not None:
            # the baseline is taken before loading, so a change made while loading is acted on
            await self.poller.start()
        try:
            await self.repository.load_all()
        except BaseException:
            if self.poller is not None:
                await self.poller.stop()
            raise
        limit = self.settings.max_message_bytes
        token = self.settings.auth_token
        # Sizes are observed outermost, so that requests refused for their token count too.
        interceptors: list[grpc.aio.ServerInterceptor] = [RequestSizeObserver(self.memory_trimmer.note)]
        if token:
            interceptors.append(BearerTokenCheck(token.get_secret_value()))
        server = grpc.aio.server(
            interceptors=interceptors,
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.max_send_message_length", limit),
                ("grpc.so_reuseport", 0),
            ]
        )
        pb_grpc.add_GRPCInferenceServiceServicer_to_server(self._servicer, server)  # type: ignore[no-untyped-call]
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            [INFERENCE_SERVICE, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
            server, pool=_reflected_pool(),
        )
        address = f"{self.settings.host}:{self.settings.port}"
        self.port = (
            server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
        )
        if self.port == 0:
            raise OSError(f"cannot listen on {address}")
        await server.start()
        self._server = server
        await self.memory_trimmer.start()
        if self.settings.health_port:
            await self._start_health_port()
        self._servicer.ready = True
        for service in ("", INFERENCE_SERVICE):
            await self._health.set(service, health_pb2.HealthCheckResponse.SERVING)
        log.info(
            "accelerator serving on %s (region %s, site %s), models %s",
            self.address, self.identity.region, self.identity.site_id, self.repository.names(),
        )

    async def _start_health_port(self) -> None:
        """A plaintext port with health checking only, for probes that cannot present a client
        certificate."""
        health_server = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, health_server)
        address = f"{self.settings.health_host}:{self.settings.health_port}"
        self.health_port = health_server.add_insecure_port(address)
        if self.health_port == 0:
            raise OSError(f"cannot listen on {address}")
        await health_server.start()
        self._health_server = health_server

    async def stop(self, grace_s: float | None = None) -> None:
        """Refuse new work, let in-flight requests finish within the grace period, then stop.
        Safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        if self.poller is not None:
            await self.poller.stop()
        self._servicer.drain()
        await self._health.enter_graceful_shutdown()
        await server.stop(self.settings.grace_period_s if grace_s is None else grace_s)
        health_server, self._health_server = self._health_server, None
        if health_server is not None:
            await health_server.stop(0)
        await self.repository.close()
        await self.memory_trimmer.stop()
        log.info("accelerator on %s stopped", self.address)

    async def wait_for_termination(self) -> None:
        if self._server is not None:
            await self._server.wait_for_termination()

    async def __aenter__(self) -> AccelServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _reflected_pool() -> Any:
    """What reflection describes: the inference protocol lives in a descriptor pool of its own
    (so that tritonclient's copy loads beside it), with health checking and reflection added."""
    pool = pb.DESCRIPTOR.pool  # a google.protobuf DescriptorPool
    for other in (health_pb2.DESCRIPTOR, reflection_pb2.DESCRIPTOR):
        try:
            pool.FindFileByName(other.name)
        except KeyError:
            pool.AddSerializedFile(other.serialized_pb)
    return pool
