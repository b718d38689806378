"""Settings of one accelerator server, read from `ACCEL_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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
    """Directory of `<model>/config.json` and `<model>/<version>/model.onnx`; defaults to the
    models shipped with the package."""
    grace_period_s: float = Field(10.0, ge=0)
    """On SIGTERM, how long in-flight requests may finish before the server stops."""
    max_message_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    """Largest request or response message accepted; larger ones get RESOURCE_EXHAUSTED."""
