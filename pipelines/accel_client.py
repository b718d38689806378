"""The pipelines' client of the site's accelerators: one channel per accelerator, requests spread
round robin over those in rotation, deadlines, retries of UNAVAILABLE on another accelerator,
and a residency check on the very connection every batch is sent over.

Batches go to an accelerator on one long-lived `ModelStreamInfer` stream (`InferenceStream`).
The accelerator opens every stream with its declared region (`edge-region` initial metadata)
before it reads anything; the client reads it, and writes batches on that stream, so on that
connection, only when it names this site's region. A stream lasts as long as its connection: a
new connection is a new stream, verified again before its first batch. An accelerator that
declares another region, or none, gets nothing: it is taken out of rotation, logged, counted
(`edge_pipeline_accelerator_refusals`) and audited, and checked again every
`EDGE_ACCEL_RECHECK_S`. A pod restarted in another region or a DNS name that now points
elsewhere is caught on the first batch, before it is sent. Batches wait, as in an outage, for
an accelerator in region. A DNS target is resolved again every `EDGE_ACCEL_RESOLVE_S`, so
accelerators that come and go are followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import grpc
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from edge.settings import EdgeSettings
from edge.telemetry import context_fields
from inference_protocol.errors import MalformedTensor
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc
from inference_protocol.tensors import Tensor, array_from_raw, array_to_raw
from pipelines.errors import (
    AcceleratorUnavailable,
    BatchAbandoned,
    InferenceRejected,
    PipelineError,
    StartupRefused,
)
from pipelines.inference_stream import InferenceStream, RegionRefused, declared_region

log = logging.getLogger(__name__)
_meter = metrics.get_meter("sovereign_edge.pipelines")
_inference_latency = _meter.create_histogram(
    "edge_pipeline_inference_latency", unit="s", description="One ModelInfer call, by model and outcome"
)
_refusals = _meter.create_counter(
    "edge_pipeline_accelerator_refusals", unit="1",
    description="Accelerators taken out of rotation for declaring another region (foreign) or none (undeclared)",
)
_RETRIABLE_CODES = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"})
"""Statuses after which the same request may succeed later, here or on another accelerator."""
_MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class InferResult:
    """Outputs of one call and the model version that computed them."""

    model_name: str
    model_version: str
    outputs: dict[str, Tensor]


@dataclass(frozen=True)
class AcceleratorNotice:
    """An accelerator taken out of rotation, for the audit topic: where, and why."""

    accelerator: str
    reason: str


@dataclass
class _Accelerator:
    """One accelerator address, its channel, and where it stands."""

    address: str
    channel: grpc.aio.Channel
    stub: pb_grpc.GRPCInferenceServiceStub
    refused: str | None = None
    """Why it is out of rotation (the region it declared), or None while it is in rotation."""
    check_again_at: float = 0.0
    """While refused: when to check its declared region again (monotonic seconds)."""
    rest_until: float = 0.0
    """After it answered UNAVAILABLE: not tried again before then (monotonic seconds)."""
    in_flight: int = 0
    gone: bool = False
    """No longer among the target's addresses; closed once nothing is in flight on it."""
    stream: InferenceStream | None = None
    """The stream its batches go out on, once one is open."""
    opening: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while a stream is opened: batches that find none wait for the one being opened."""

    async def close(self) -> None:
        if self.stream is not None:
            await self.stream.close()
        await self.channel.close()


def channel_target(targets: str) -> str:
    """One gRPC target for the configured accelerators: a scheme target (`dns:///...`) as is, a
    single `host:port` as is, a list of IP `host:port`s as an `ipv4:`/`ipv6:` address list."""
    parts = [p.strip() for p in targets.split(",") if p.strip()]
    if len(parts) == 1:
        return parts[0]
    hosts = []
    for part in parts:
        host, _, port = part.rpartition(":")
        if not _is_ip(host.strip("[]")):
            raise StartupRefused(
                f"EDGE_ACCEL_TARGETS lists host names ({part}); list IP addresses, or give one "
                "dns:///name:port target that resolves to every accelerator"
            )
        hosts.append((ipaddress.ip_address(host.strip("[]")), port))
    if len({ip.version for ip, _ in hosts}) > 1:
        raise StartupRefused("EDGE_ACCEL_TARGETS mixes IPv4 and IPv6 addresses")
    scheme = "ipv4" if hosts[0][0].version == 4 else "ipv6"
    return f"{scheme}:" + ",".join(f"{ip}:{port}" if ip.version == 4 else f"[{ip}]:{port}" for ip, port in hosts)


async def _resolve_addresses(target: str) -> list[str]:
    """Every `host:port` a target stands for."""
    if target.startswith(("ipv4:", "ipv6:")):
        return target.split(":", 1)[1].split(",")
    name = target.removeprefix("dns:///").removeprefix("dns:")
    host, _, port = name.rpartition(":")
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({f"[{i[4][0]}]:{port}" if i[0] == socket.AF_INET6 else f"{i[4][0]}:{port}" for i in infos})


class AcceleratorClient:
    """Calls the site's accelerators. Use `async with AcceleratorClient(...)`.

    Args:
        timeout_s: deadline of one call.
        attempts: accelerators tried within one call when they answer UNAVAILABLE.
    """

    def __init__(self, settings: EdgeSettings, *, timeout_s: float, attempts: int) -> None:
        self._settings = settings
        self._region = settings.region
        self._timeout_s = timeout_s
        self._attempts = max(1, attempts)
        self._target = channel_target(settings.accel_targets)
        self._probe_timeout_s = min(timeout_s, 1.0)
        # Channels go to each resolved address; under TLS the certificate must still match the
        # name the operator gave (a dns:/// target or a single host name), not the bare address.
        host = self._target.removeprefix("dns:///").removeprefix("dns:").rpartition(":")[0].strip("[]")
        self._tls_name = None if self._target.startswith(("ipv4:", "ipv6:")) or _is_ip(host) else host
        self._members: dict[str, _Accelerator] = {}
        self._next = 0
        self._resolved_at = 0.0
        self._metadata: list[tuple[str, str]] = []
        if settings.accel_auth_token is not None:
            self._metadata.append(("authorization", f"Bearer {settings.accel_auth_token.get_secret_value()}"))
        self.notices: asyncio.Queue[AcceleratorNotice] = asyncio.Queue(maxsize=100)
        """Accelerators taken out of rotation, for the runtime to audit."""
        self._started = False
        _meter.create_observable_gauge(
            "edge_pipeline_accelerators", callbacks=[self._observe_members], unit="1",
            description="Accelerators known to this replica, by state (in_rotation, resting, refused)",
        )

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

    def _open(self, address: str) -> _Accelerator:
        options: list[tuple[str, str | int]] = [
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
        ]
        creds = self._credentials()
        if creds is None:
            channel = grpc.aio.insecure_channel(address, options=options)
        else:
            if self._tls_name is not None:
                options.append(("grpc.ssl_target_name_override", self._tls_name))
            channel = grpc.aio.secure_channel(address, creds, options=options)
        return _Accelerator(address, channel, pb_grpc.GRPCInferenceServiceStub(channel))  # type: ignore[no-untyped-call]

    async def start(self) -> None:
        """Find every accelerator and check its declared region. One that cannot be reached yet
        stays in rotation (each call verifies the accelerator it goes to), as long as one can.

        Raises:
            StartupRefused: an accelerator is out of region or declares none, or none can be reached.
        """
        self._started = True
        try:
            await self._follow_addresses(time.monotonic())
            unreachable = []
            for member in list(self._members.values()):
                try:
                    declared = await self._declared_region(member, self._timeout_s, wait_for_ready=True)
                except grpc.aio.AioRpcError as exc:
                    unreachable.append(f"accelerator {member.address} did not answer ({exc.code().name}: {exc.details()})")
                    continue
                if declared != self._region:
                    raise StartupRefused(
                        f"accelerator {member.address} declares region {_shown(declared)}, this site is in "
                        f"{self._region!r}; refusing to send it data"
                    )
                log.info("accelerator %s verified in region %s", member.address, self._region)
            if len(unreachable) == len(self._members):
                raise StartupRefused("; ".join(unreachable) + "; cannot verify any accelerator is in region")
            for why in unreachable:
                log.warning("%s; it is verified when it answers", why)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Close every channel (calls still on them end as cancelled). Safe to call twice."""
        members, self._members = list(self._members.values()), {}
        for member in members:
            await member.close()

    async def __aenter__(self) -> AcceleratorClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _observe_members(self, options: CallbackOptions) -> Iterable[Observation]:
        now = time.monotonic()
        counts = {"in_rotation": 0, "resting": 0, "refused": 0}
        for member in list(self._members.values()):
            if member.gone:
                continue
            state = "refused" if member.refused is not None else "resting" if member.rest_until > now else "in_rotation"
            counts[state] += 1
        return [Observation(n, {"state": state}) for state, n in counts.items()]

    async def _follow_addresses(self, now: float) -> None:
        """Resolve the target again (at start, then every `accel_resolve_s`): new addresses join,
        vanished ones leave rotation and are closed once idle."""
        if self._members and now - self._resolved_at < self._settings.accel_resolve_s:
            return
        self._resolved_at = now
        try:
            addresses = await _resolve_addresses(self._target)
        except OSError as exc:
            if not self._members:
                raise StartupRefused(f"cannot resolve EDGE_ACCEL_TARGETS {self._target}: {exc}") from exc
            log.warning("cannot resolve %s again, keeping %d accelerators: %s", self._target, len(self._members), exc)
            return
        for address in addresses:
            member = self._members.get(address)
            if member is None:
                self._members[address] = self._open(address)
                if self._started and len(self._members) > 1:
                    log.info("accelerator %s joined %s", address, self._target)
            else:
                member.gone = False
        for address, member in list(self._members.items()):
            if address not in addresses:
                member.gone = True
                if member.in_flight == 0:
                    del self._members[address]
                    await member.close()
                    log.info("accelerator %s left %s", address, self._target)

    async def _declared_region(self, member: _Accelerator, timeout_s: float, *, wait_for_ready: bool = False) -> str | None:
        """The region an accelerator declares on a stream of its own (opened and cancelled)."""
        call = member.stub.ModelStreamInfer(timeout=timeout_s, metadata=self._metadata, wait_for_ready=wait_for_ready)
        try:
            return await declared_region(call)
        finally:
            call.cancel()

    async def _check_refused_again(self, now: float) -> None:
        for member in list(self._members.values()):
            if member.refused is None or member.gone or now < member.check_again_at:
                continue
            member.check_again_at = now + self._settings.accel_recheck_s
            try:
                declared = await self._declared_region(member, self._probe_timeout_s)
            except (grpc.aio.AioRpcError, grpc.aio.UsageError):
                continue
            if declared == self._region:
                member.refused = None
                log.warning("accelerator %s declares region %s again: back in rotation", member.address, self._region)

    def _refuse(self, member: _Accelerator, declared: str | None) -> None:
        reason = "undeclared" if declared is None else "foreign"
        member.refused = declared or "none"
        member.check_again_at = time.monotonic() + self._settings.accel_recheck_s
        detail = (
            f"accelerator {member.address} declares "
            + ("no region" if declared is None else f"region {_shown(declared)}")
            + f" on a new connection, this site is in {self._region!r}: taken out of rotation, nothing sent to it"
        )
        log.warning("%s", detail)
        _refusals.add(1, {"reason": reason})
        try:
            self.notices.put_nowait(AcceleratorNotice(member.address, detail))
        except asyncio.QueueFull:
            log.warning("audit notices are not being published; dropping the notice about %s", member.address)

    def _rotation(self, now: float) -> list[_Accelerator]:
        """Accelerators to try, in round-robin order: in region and not resting."""
        members = [m for m in self._members.values() if m.refused is None and not m.gone and m.rest_until <= now]
        if not members:
            return []
        self._next = (self._next + 1) % len(members)
        return members[self._next :] + members[: self._next]

    async def infer_until_answered(
        self,
        model: str,
        inputs: Mapping[str, Tensor],
        outputs: list[str],
        stopping: asyncio.Event,
        backoff_s: float = 0.5,
        max_backoff_s: float = 5.0,
    ) -> InferResult:
        """Call until an accelerator in region answers: an outage (or accelerators out of region)
        delays the batch, it never drops it.

        Raises:
            InferenceRejected: the accelerator refused the request itself (send it to the DLQ).
            BatchAbandoned: `stopping` was set while no accelerator answered.
        """
        while True:
            try:
                return await self.infer(model, inputs, outputs)
            except PipelineError as exc:
                if not exc.retriable:
                    raise
                log.warning("inference unavailable, retrying in %.1f s: %s", backoff_s, exc)
            if stopping.is_set():
                raise BatchAbandoned("stopping while the accelerators are unavailable")
            try:
                await asyncio.wait_for(stopping.wait(), backoff_s)
            except TimeoutError:
                pass
            backoff_s = min(backoff_s * 2, max_backoff_s)

    async def infer(self, model: str, inputs: Mapping[str, Tensor], outputs: list[str]) -> InferResult:
        """One inference, on the first accelerator in rotation that answers.

        Raises:
            AcceleratorUnavailable: no accelerator in region answered within the deadline (retry later).
            InferenceRejected: the accelerator refused the request itself.
        """
        if not self._started:
            raise AcceleratorUnavailable("accelerator client is not started")
        request = pb.ModelInferRequest(model_name=model)
        for name, array in inputs.items():
            datatype, shape, raw = array_to_raw(array)
            request.inputs.add(name=name, datatype=datatype, shape=shape)
            request.raw_input_contents.append(raw)
        for name in outputs:
            request.outputs.add(name=name)
        # On a shared stream the call's metadata is the stream's: the batch's trace context, and
        # how long it may wait in the accelerator's queue, travel in the request.
        for key, value in context_fields().items():
            request.parameters[key].string_param = value
        request.parameters["timeout"].int64_param = int(self._timeout_s * 1_000_000)
        now = time.monotonic()
        await self._follow_addresses(now)
        await self._check_refused_again(now)
        unavailable: list[str] = []
        for member in self._rotation(now)[: self._attempts]:
            try:
                response = await self._infer_on(member, model, request)
            except RegionRefused as exc:
                self._refuse(member, exc.declared)
                continue
            except PipelineError as exc:
                if not exc.retriable:
                    raise
                member.rest_until = time.monotonic() + min(self._timeout_s, 1.0)
                unavailable.append(str(exc))
                continue
            return _decoded(model, member.address, response)
        why = "; ".join(unavailable) if unavailable else "no accelerator in region is in rotation"
        raise AcceleratorUnavailable(f"{model}: {why}")

    async def _stream_to(self, member: _Accelerator) -> InferenceStream:
        """The member's open stream, or a new one once it has declared this site's region."""
        stream = member.stream
        if stream is not None and stream.ended is None:
            return stream
        async with member.opening:
            stream = member.stream
            if stream is not None and stream.ended is None:
                return stream
            member.stream = None
            if stream is not None:
                await stream.close()
            member.stream = await InferenceStream.open(member.stub, self._metadata, self._region, self._timeout_s)
            return member.stream

    async def _infer_on(self, member: _Accelerator, model: str, request: pb.ModelInferRequest) -> pb.ModelInferResponse:
        """The request on the member's stream, which has declared this site's region."""
        started = time.monotonic()
        if member.gone:
            raise AcceleratorUnavailable(f"{model}: {member.address} left {self._target}")
        member.in_flight += 1
        outcome = "OK"
        try:
            stream = await self._stream_to(member)
            reply = await stream.answer(request, self._timeout_s)
            if reply.error_message:
                code = reply.infer_response.parameters["error_code"].string_param
                code = code if code in grpc.StatusCode.__members__ else "UNKNOWN"
                outcome = code
                raise _status_error(code, f"{model}: {code}: {reply.error_message}")
            answer: pb.ModelInferResponse = reply.infer_response
            return answer
        except RegionRefused:
            outcome = "REFUSED"
            raise
        except grpc.aio.AioRpcError as exc:
            outcome = exc.code().name
            raise _status_error(outcome, f"{model}: {member.address}: {outcome}: {exc.details()}") from exc
        except grpc.aio.UsageError as exc:  # its channel was closed under it: it left the target
            outcome = "UNAVAILABLE"
            raise AcceleratorUnavailable(f"{model}: {member.address}: {exc}") from exc
        finally:
            member.in_flight -= 1
            _inference_latency.record(time.monotonic() - started, {"model": model, "outcome": outcome})
            if member.gone and member.in_flight == 0 and self._members.get(member.address) is member:
                del self._members[member.address]
                await member.close()


def _status_error(code: str, message: str) -> PipelineError:
    """The one place an accelerator's status becomes a pipeline error: a retriable one
    (`AcceleratorUnavailable`: the batch waits and is sent again) or the refusal of the request
    (`InferenceRejected`: the batch goes to the DLQ)."""
    return AcceleratorUnavailable(message) if code in _RETRIABLE_CODES else InferenceRejected(message)


def _decoded(model: str, address: str, response: pb.ModelInferResponse) -> InferResult:
    """The outputs of an answer as arrays.

    Raises:
        InferenceRejected: an output whose raw contents do not fit its datatype and shape.
    """
    try:
        outputs = {
            tensor.name: array_from_raw(tensor.name, tensor.datatype, list(tensor.shape), raw)
            for tensor, raw in zip(response.outputs, response.raw_output_contents, strict=True)
        }
    except (MalformedTensor, ValueError) as exc:  # ValueError: fewer raw contents than outputs
        raise InferenceRejected(f"{model}: {address} answered outputs this client cannot read: {exc}") from exc
    return InferResult(response.model_name, response.model_version, outputs)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _shown(declared: str | None) -> str:
    """A declared region as logs and audit records show it: quoted, and cut short (it comes
    from the accelerator, which may send anything)."""
    return repr(declared if declared is None or len(declared) <= 64 else declared[:64] + "...")
