"""The accelerator server process: gRPC inference, health and reflection on one port, with a
graceful stop."""

from __future__ import annotations

import logging

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from accel.grpc.servicer import InferenceServicer, SiteIdentity
from accel.protocol import grpc_predict_v2_pb2 as pb
from accel.protocol import grpc_predict_v2_pb2_grpc as pb_grpc
from accel.repository import ModelRepository
from accel.settings import AccelSettings

log = logging.getLogger(__name__)
INFERENCE_SERVICE = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name


class AccelServer:
    """One accelerator server. `async with AccelServer(settings, identity) as server:` serves on
    `server.port` until the block ends."""

    def __init__(self, settings: AccelSettings, identity: SiteIdentity) -> None:
        self.settings = settings
        self.identity = identity
        self.repository = ModelRepository(settings.model_repository)
        self._servicer = InferenceServicer(self.repository, identity)
        self._health = health.aio.HealthServicer()
        self._server: grpc.aio.Server | None = None
        self.port = 0

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.port}"

    async def start(self) -> None:
        await self.repository.load_all()
        limit = self.settings.max_message_bytes
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.max_send_message_length", limit),
                ("grpc.so_reuseport", 0),
            ]
        )
        pb_grpc.add_GRPCInferenceServiceServicer_to_server(self._servicer, server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            [INFERENCE_SERVICE, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
            server,
        )
        self.port = server.add_insecure_port(f"{self.settings.host}:{self.settings.port}")
        if self.port == 0:
            raise OSError(f"cannot listen on {self.settings.host}:{self.settings.port}")
        await server.start()
        self._server = server
        self._servicer.ready = True
        for service in ("", INFERENCE_SERVICE):
            await self._health.set(service, health_pb2.HealthCheckResponse.SERVING)
        log.info(
            "accelerator serving on %s (region %s, site %s), models %s",
            self.address, self.identity.region, self.identity.site_id, self.repository.names(),
        )

    async def stop(self, grace_s: float | None = None) -> None:
        """Refuse new work, let in-flight requests finish within the grace period, then stop.
        Safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        self._servicer.ready = False
        await self._health.enter_graceful_shutdown()
        await server.stop(self.settings.grace_period_s if grace_s is None else grace_s)
        await self.repository.close()
        log.info("accelerator on %s stopped", self.address)

    async def wait_for_termination(self) -> None:
        if self._server is not None:
            await self._server.wait_for_termination()

    async def __aenter__(self) -> AccelServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
