"""Settings of one accelerator server, read from `ACCEL_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL_REPOSITORY = Path(__file__).resolve().parent / "model_repository"


class AccelSettings(BaseSettings):
    """How the accelerator listens and where it finds its models."""

    model_config = SettingsConfigDict(env_prefix="ACCEL_", extra="ignore", use_attribute_docstrings=True)

    host: str = "127.0.0.1"
    """Address to listen on; `0.0.0.0` in a pod, loopback on a workstation."""
    port: int = Field(8001, ge=0, le=65535)
    """gRPC port (0: any free port). Health checking and reflection share it."""
    model_repository: Path = DEFAULT_MODEL_REPOSITORY
    """Directory of `<model>/config.json` and `<model>/<version>/` (`model.onnx`, `model.rbln` or a
    pipeline's files); defaults to the models shipped with the package."""
    grace_period_s: float = Field(10.0, ge=0)
    """On SIGTERM, how long in-flight requests may finish before the server stops."""
    model_poll_s: float = Field(0.0, ge=0)
    """How often to look for changes in the model repository directory, in seconds (0: never, the
    default; models change only through RepositoryModelLoad/Unload). When on, a new model
    directory is loaded, a removed one unloaded (draining its queue), and a changed config.json or
    version directory reloaded without failing requests; a change is acted on once it has held
    still for one interval, so a version being copied in is not loaded half-written."""
    model_drain_s: float = Field(30.0, ge=0)
    """On a model reload or unload, how long requests already queued on the replaced version may
    take to be answered before they fail with UNAVAILABLE."""
    stream_max_in_flight: int = Field(64, ge=1)
    """Requests one ModelStreamInfer stream may have in flight at once; beyond it the server
    reads no further request of that stream until one is answered."""
    max_message_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    """Largest request or response message accepted; larger ones get RESOURCE_EXHAUSTED."""
    max_request_bytes: int = Field(64 * 1024 * 1024, ge=1)
    """Most bytes of tensor contents one inference request may carry over all its inputs (typed
    contents counted as decoded); more gets RESOURCE_EXHAUSTED before anything is decoded. A
    model's config.json may set its own `max_request_bytes`."""
    max_bytes_elements: int = Field(1024 * 1024, ge=1)
    """Most BYTES elements one inference request may carry over all its inputs (each becomes an
    object in memory and costs parsing time); more gets RESOURCE_EXHAUSTED before any is parsed.
    A model's config.json may set its own `max_bytes_elements`."""
    memory_trim_bytes: int = Field(8 * 1024 * 1024, ge=0)
    """After a request of at least this many bytes, hand the heap memory it freed back to the
    system (glibc `malloc_trim`, at most once a second, off the event loop), so that large
    requests do not leave the process larger for good (0: never)."""
    metrics_port: int = Field(0, ge=0, le=65535)
    """HTTP port of the Prometheus `/metrics` endpoint (0: off; the Helm chart sets 9400)."""
    metrics_host: str = "0.0.0.0"
    """Address the `/metrics` endpoint listens on: every interface by default, since Prometheus
    scrapes a pod at its IP; `127.0.0.1` on a workstation (the demo sets it)."""
    health_port: int = Field(0, ge=0, le=65535)
    """Extra plaintext port that serves only `grpc.health.v1` (0: off), for kubelet probes when
    the main port requires mutual TLS."""
    health_host: str = "0.0.0.0"
    """Address the extra health port listens on: every interface by default, since the kubelet
    probes a pod at its IP; `127.0.0.1` on a workstation (the demo sets it)."""
    tls_cert_file: Path | None = None
    """Server certificate (PEM); with ACCEL_TLS_KEY_FILE it turns TLS on."""
    tls_key_file: Path | None = None
    """Private key of the server certificate (PEM)."""
    tls_client_ca_file: Path | None = None
    """CA that signs client certificates; setting it requires mutual TLS."""
    auth_token: SecretStr | None = None
    """Bearer token every inference call must carry (`authorization: Bearer <token>`); health
    checks need none."""
