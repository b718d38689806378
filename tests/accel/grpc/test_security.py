"""TLS, mutual TLS and bearer tokens on the accelerator, from the server's and the pipelines' side."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import SecretStr

from accel.grpc.security import TlsConfigError, server_credentials
from accel.server import AccelServer
from accel.settings import AccelSettings
from edge.settings import EdgeSettings
from edgectl.broker import free_port
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc
from inference_protocol.service import SiteIdentity
from pipelines.accel_client import AcceleratorClient

IDENTITY = SiteIdentity("kr-seoul", "SEL-GN-0042")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost, one for the name localhost
    only, and a client certificate."""
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "2", "-subj", "/CN=edge-test-ca", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    (d / "named.ext").write_text("subjectAltName=DNS:localhost\n")
    for name, ext in (("server", ["-extfile", "server.ext"]), ("named", ["-extfile", "named.ext"]), ("client", [])):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "2", *ext, cwd=d)
    return d


def _request() -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name="doubler")
    request.inputs.add(name="x", datatype="FP32", shape=[1, 4])
    request.raw_input_contents.append(np.ones((1, 4), dtype=np.float32).tobytes())
    return request


def _client_credentials(pki: Path, with_cert: bool) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        (pki / "ca.crt").read_bytes(),
        (pki / "client.key").read_bytes() if with_cert else None,
        (pki / "client.crt").read_bytes() if with_cert else None,
    )


@pytest.fixture
async def mtls_server(pki: Path, doubler_repository: Path) -> AsyncIterator[AccelServer]:
    settings = AccelSettings(
        port=0, model_repository=doubler_repository, health_port=free_port(), health_host="127.0.0.1",
        tls_cert_file=pki / "server.crt", tls_key_file=pki / "server.key", tls_client_ca_file=pki / "ca.crt",
        auth_token=SecretStr("t0ken"),
    )
    async with AccelServer(settings, IDENTITY) as server:
        yield server


async def test_mutual_tls_serves_clients_with_a_certificate_and_the_token(pki: Path, mtls_server: AccelServer) -> None:
    creds = _client_credentials(pki, with_cert=True)
    async with grpc.aio.secure_channel(f"127.0.0.1:{mtls_server.port}", creds) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        response = await stub.ModelInfer(_request(), metadata=[("authorization", "Bearer t0ken")])
        assert np.frombuffer(response.raw_output_contents[0], dtype="<f4").tolist() == [2.0] * 4


async def test_mutual_tls_refuses_a_client_without_a_certificate(pki: Path, mtls_server: AccelServer) -> None:
    creds = _client_credentials(pki, with_cert=False)
    async with grpc.aio.secure_channel(f"127.0.0.1:{mtls_server.port}", creds) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await pb_grpc.GRPCInferenceServiceStub(channel).ServerLive(pb.ServerLiveRequest(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_wrong_or_missing_token_is_unauthenticated(pki: Path, mtls_server: AccelServer) -> None:
    creds = _client_credentials(pki, with_cert=True)
    async with grpc.aio.secure_channel(f"127.0.0.1:{mtls_server.port}", creds) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        for metadata in ([], [("authorization", "Bearer nope")]):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.ModelInfer(_request(), metadata=metadata)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "bearer token" in (caught.value.details() or "")


async def test_the_plaintext_health_port_answers_probes_without_certificate_or_token(mtls_server: AccelServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{mtls_server.health_port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await pb_grpc.GRPCInferenceServiceStub(channel).ModelInfer(_request())
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED, "the health port serves health only"


async def test_the_health_port_listens_on_its_own_host_only(mtls_server: AccelServer) -> None:
    """ACCEL_HEALTH_HOST=127.0.0.1: answered there, refused on another loopback address."""
    socket.create_connection(("127.0.0.1", mtls_server.health_port), timeout=2).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", mtls_server.health_port), timeout=2)


async def test_pipelines_reach_a_mutual_tls_accelerator_with_their_settings(pki: Path, mtls_server: AccelServer) -> None:
    edge = EdgeSettings(
        region="kr-seoul", site_id="SEL-GN-0042", accel_targets=f"127.0.0.1:{mtls_server.port}",
        accel_tls_ca_file=str(pki / "ca.crt"), accel_tls_cert_file=str(pki / "client.crt"),
        accel_tls_key_file=str(pki / "client.key"), accel_auth_token=SecretStr("t0ken"),
    )
    async with AcceleratorClient(edge, timeout_s=5, attempts=2) as client:
        result = await client.infer("doubler", {"x": np.ones((2, 4), dtype=np.float32)}, ["y"])
    assert result.outputs["y"].tolist() == [[2.0] * 4] * 2


def test_half_a_tls_configuration_is_refused_by_name(pki: Path) -> None:
    with pytest.raises(TlsConfigError, match="both ACCEL_TLS_CERT_FILE and ACCEL_TLS_KEY_FILE"):
        server_credentials(AccelSettings(tls_cert_file=pki / "server.crt"))
    with pytest.raises(TlsConfigError, match="ACCEL_TLS_CLIENT_CA_FILE needs"):
        server_credentials(AccelSettings(tls_client_ca_file=pki / "ca.crt"))
    with pytest.raises(TlsConfigError, match="ACCEL_TLS_KEY_FILE=/nope.key"):
        server_credentials(AccelSettings(tls_cert_file=pki / "server.crt", tls_key_file=Path("/nope.key")))


def test_no_certificate_means_plaintext() -> None:
    assert server_credentials(AccelSettings()) is None


async def test_under_tls_an_accelerator_found_by_name_is_checked_against_that_name(pki: Path, doubler_repository: Path) -> None:
    """The client connects to each address the name resolves to; the certificate, issued to the
    name alone, must still be checked against the name."""
    settings = AccelSettings(
        port=0, model_repository=doubler_repository,
        tls_cert_file=pki / "named.crt", tls_key_file=pki / "named.key",
    )
    async with AccelServer(settings, SiteIdentity("kr-seoul", "SEL-GN-0042")) as server:
        edge = EdgeSettings(
            region="kr-seoul", site_id="SEL-GN-0042", accel_targets=f"dns:///localhost:{server.port}",
            accel_tls_ca_file=str(pki / "ca.crt"),
        )
        async with AcceleratorClient(edge, timeout_s=5, attempts=2) as client:
            result = await client.infer("doubler", {"x": np.ones((1, 4), dtype=np.float32)}, ["y"])
    assert result.outputs["y"].tolist() == [[2.0] * 4]
