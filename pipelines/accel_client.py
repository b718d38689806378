"""The pipelines' client of the site's accelerators: one gRPC channel balanced by gRPC itself
(round robin over healthy servers), raw tensors, deadlines, retries of UNAVAILABLE, and a
residency check of every server before the first request."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass

import grpc
from opentelemetry import metrics

from accel.grpc.servicer import declared_identity
from accel.model import Tensor
from accel.protocol import grpc_predict_v2_pb2 as pb
from accel.protocol import grpc_predict_v2_pb2_grpc as pb_grpc
from accel.server import INFERENCE_SERVICE
from accel.tensors import array_from_raw, array_to_raw
from edge.residency import ResidencyPolicy
from edge.settings import EdgeSettings
from edge.telemetry import context_grpc_metadata
from pipelines.errors import AcceleratorUnavailable, BatchAbandoned, InferenceRejected, StartupRefused

log = logging.getLogger(__name__)
_inference_latency = metrics.get_meter("sovereign_edge.pipelines").create_histogram(
    "edge_pipeline_inference_latency", unit="s", description="One ModelInfer call, by model and outcome"
)


@dataclass(frozen=True)
class InferResult:
    """Outputs of one call and the model version that computed them."""

    model_name: str
    model_version: str
    outputs: dict[str, Tensor]

_RETRIABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}


def channel_target(targets: str) -> str:
    """One gRPC target for the configured accelerators: a scheme target (`dns:///...`) as is, a
    single `host:port` as is, a list of IP `host:port`s as an `ipv4:`/`ipv6:` address list."""
    parts = [p.strip() for p in targets.split(",") if p.strip()]
    if len(parts) == 1:
        return parts[0]
    hosts = []
    for part in parts:
        host, _, port = part.rpartition(":")
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            raise StartupRefused(
                f"EDGE_ACCEL_TARGETS lists host names ({part}); list IP addresses, or give one "
                "dns:///name:port target that resolves to every accelerator"
            ) from None
        hosts.append((ip, port))
    if len({ip.version for ip, _ in hosts}) > 1:
        raise StartupRefused("EDGE_ACCEL_TARGETS mixes IPv4 and IPv6 addresses")
    scheme = "ipv4" if hosts[0][0].version == 4 else "ipv6"
    return f"{scheme}:" + ",".join(f"{ip}:{port}" if ip.version == 4 else f"[{ip}]:{port}" for ip, port in hosts)


def _service_config(attempts: int) -> str:
    return json.dumps(
        {
            "loadBalancingConfig": [{"round_robin": {}}],
            "healthCheckConfig": {"serviceName": INFERENCE_SERVICE},
            "methodConfig": [
                {
                    "name": [{"service": INFERENCE_SERVICE}],
                    "retryPolicy": {
                        "maxAttempts": max(2, min(attempts, 5)),
                        "initialBackoff": "0.05s",
                        "maxBackoff": "1s",
                        "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"],
                    },
                }
            ],
        }
    )


async def _resolve_addresses(target: str) -> list[str]:
    """Every `host:port` a target stands for, so each server's region can be checked."""
    if target.startswith(("ipv4:", "ipv6:")):
        return target.split(":", 1)[1].split(",")
    name = target.removeprefix("dns:///").removeprefix("dns:")
    host, _, port = name.rpartition(":")
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({f"[{i[4][0]}]:{port}" if i[0] == socket.AF_INET6 else f"{i[4][0]}:{port}" for i in infos})


class AcceleratorClient:
    """Calls ModelInfer on the site's accelerators. Use `async with AcceleratorClient(...)`."""

    def __init__(self, settings: EdgeSettings, *, timeout_s: float, attempts: int) -> None:
        self._settings = settings
        self._policy = ResidencyPolicy(settings.region)
        self._timeout_s = timeout_s
        self._attempts = attempts
        self._target = channel_target(settings.accel_targets)
        self._channel: grpc.aio.Channel | None = None
        self._stub: pb_grpc.GRPCInferenceServiceStub | None = None
        self._metadata: list[tuple[str, str]] = []
        if settings.accel_auth_token is not None:
            self._metadata.append(("authorization", f"Bearer {settings.accel_auth_token.get_secret_value()}"))

    def _credentials(self) -> grpc.ChannelCredentials | None:
        s = self._settings
        if s.accel_tls_ca_file is None:
            return None

        def read(path: str | None) -> bytes | None:
            if path is None:
                return None
            with open(path, "rb") as fh:
                return fh.read()

        return grpc.ssl_channel_credentials(read(s.accel_tls_ca_file), read(s.accel_tls_key_file), read(s.accel_tls_cert_file))

    def _open(self, target: str, balanced: bool) -> grpc.aio.Channel:
        options: list[tuple[str, str | int]] = [
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ]
        if balanced:
            options += [("grpc.service_config", _service_config(self._attempts)), ("grpc.enable_retries", 1)]
        creds = self._credentials()
        if creds is None:
            return grpc.aio.insecure_channel(target, options=options)
        return grpc.aio.secure_channel(target, creds, options=options)

    async def start(self) -> None:
        """Check every accelerator's declared region, then open the balanced channel.

        Raises:
            StartupRefused: an accelerator is out of region or cannot be reached.
        """
        for address in await _resolve_addresses(self._target):
            await self._verify_region(address)
        self._channel = self._open(self._target, balanced=True)
        self._stub = pb_grpc.GRPCInferenceServiceStub(self._channel)  # type: ignore[no-untyped-call]

    async def _verify_region(self, address: str) -> None:
        channel = self._open(address, balanced=False)
        try:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)  # type: ignore[no-untyped-call]
            meta = await stub.ServerMetadata(
                pb.ServerMetadataRequest(), timeout=self._timeout_s, metadata=self._metadata, wait_for_ready=True
            )
        except grpc.aio.AioRpcError as exc:
            raise StartupRefused(
                f"accelerator {address} did not answer ServerMetadata ({exc.code().name}: {exc.details()}); "
                "cannot verify it is in region"
            ) from exc
        finally:
            await channel.close()
        try:
            self._policy.require_accelerator(address, declared_identity(list(meta.extensions)).get("region"))
        except Exception as exc:
            raise StartupRefused(str(exc)) from exc
        log.info("accelerator %s verified in region %s", address, self._settings.region)

    async def stop(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None:
            await channel.close()

    async def __aenter__(self) -> AcceleratorClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def infer_until_answered(
        self,
        model: str,
        inputs: Mapping[str, Tensor],
        outputs: list[str],
        stopping: asyncio.Event,
        backoff_s: float = 0.5,
        max_backoff_s: float = 5.0,
    ) -> InferResult:
        """Call until an accelerator answers: an outage delays the batch, it never drops it.

        Raises:
            InferenceRejected: the accelerator refused the request itself (send it to the DLQ).
            BatchAbandoned: `stopping` was set while no accelerator answered.
        """
        while True:
            try:
                return await self.infer(model, inputs, outputs)
            except AcceleratorUnavailable as exc:
                log.warning("inference unavailable, retrying in %.1f s: %s", backoff_s, exc)
            if stopping.is_set():
                raise BatchAbandoned("stopping while the accelerators are unavailable")
            try:
                await asyncio.wait_for(stopping.wait(), backoff_s)
            except TimeoutError:
                pass
            backoff_s = min(backoff_s * 2, max_backoff_s)

    async def infer(self, model: str, inputs: Mapping[str, Tensor], outputs: list[str]) -> InferResult:
        """One ModelInfer call with raw tensors.

        Raises:
            AcceleratorUnavailable: no accelerator answered within the deadline (retry later).
            InferenceRejected: the accelerator refused the request itself.
        """
        if self._stub is None:
            raise AcceleratorUnavailable("accelerator client is not started")
        request = pb.ModelInferRequest(model_name=model)
        for name, array in inputs.items():
            datatype, shape, raw = array_to_raw(array)
            request.inputs.add(name=name, datatype=datatype, shape=shape)
            request.raw_input_contents.append(raw)
        for name in outputs:
            request.outputs.add(name=name)
        started = time.monotonic()
        try:
            response = await self._stub.ModelInfer(
                request, timeout=self._timeout_s, metadata=self._metadata + context_grpc_metadata(), wait_for_ready=True
            )
        except grpc.aio.AioRpcError as exc:
            _inference_latency.record(time.monotonic() - started, {"model": model, "outcome": exc.code().name})
            message = f"{model}: {exc.code().name}: {exc.details()}"
            if exc.code() in _RETRIABLE:
                raise AcceleratorUnavailable(message) from exc
            raise InferenceRejected(message) from exc
        _inference_latency.record(time.monotonic() - started, {"model": model, "outcome": "OK"})
        decoded = {
            tensor.name: array_from_raw(tensor.name, tensor.datatype, list(tensor.shape), raw)
            for tensor, raw in zip(response.outputs, response.raw_output_contents, strict=True)
        }
        return InferResult(response.model_name, response.model_version, decoded)

