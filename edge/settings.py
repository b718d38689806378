"""Site-wide settings shared by every component, read from `EDGE_*` environment variables."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REGION_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
SITE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"


class EdgeSettings(BaseSettings):
    """Where this site is and how it reaches Kafka, its accelerators and its telemetry collector."""

    model_config = SettingsConfigDict(env_prefix="EDGE_", extra="ignore", use_attribute_docstrings=True)

    region: str = Field(pattern=REGION_PATTERN)
    """The site's region (e.g. `kr-seoul`). Every topic is prefixed with it; data never leaves it."""
    site_id: str = Field(pattern=SITE_ID_PATTERN)
    """The edge site's identifier (e.g. `SEL-GN-0042`), stamped on every result."""
    served_site_ids: str = ""
    """Comma-separated ids of the sites whose events this site's pipelines process (e.g.
    `SEL-GN-0042,SEL-GN-0043` when one site serves a neighbour's cells); empty: its own only.
    An event of any other site is refused with reason `residency` and audited."""

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    """Comma-separated `host:port` list of the region's Kafka brokers."""
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    """How clients talk to Kafka."""
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    """SASL mechanism when the security protocol is SASL_*."""
    kafka_sasl_username: str | None = None
    """SASL user name."""
    kafka_sasl_password: SecretStr | None = None
    """SASL password (mount it from a Secret)."""
    kafka_ssl_cafile: str | None = None
    """CA bundle that signs the brokers' certificates."""
    kafka_ssl_certfile: str | None = None
    """Client certificate for mutual TLS with the brokers."""
    kafka_ssl_keyfile: str | None = None
    """Private key of the client certificate."""
    kafka_enable_idempotence: bool = True
    """Use Kafka's idempotent producer (needs acks=all). Only the embedded test broker, whose
    InitProducerId does not answer aiokafka's request version, runs without it."""

    accel_targets: str = "127.0.0.1:8001"
    """Where pipelines find accelerators: a comma-separated `host:port` list, or one gRPC target
    such as `dns:///accel-headless.edge.svc.cluster.local:8001` that resolves to many."""
    accel_tls_ca_file: str | None = None
    """CA that signs the accelerators' certificates; setting it turns TLS on for pipeline calls."""
    accel_tls_cert_file: str | None = None
    """Client certificate for mutual TLS with the accelerators."""
    accel_tls_key_file: str | None = None
    """Private key of that client certificate."""
    accel_auth_token: SecretStr | None = None
    """Bearer token sent to accelerators that require one."""
    accel_recheck_s: float = Field(10.0, gt=0)
    """How often an accelerator taken out of rotation (it declared another region, or none) is
    asked its region again; it returns to rotation once it declares this site's."""
    accel_resolve_s: float = Field(30.0, gt=0)
    """How often a `dns:///` accelerator target is resolved again, so accelerators that come
    and go are followed."""

    otel_exporter: Literal["none", "console", "otlp"] = "none"
    """Where traces go: nowhere, standard error, or an OTLP collector (needs the `otlp` extra)."""
    otel_endpoint: str | None = None
    """OTLP collector endpoint (e.g. `http://otel-collector.monitoring:4317`); must be in-region."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Log verbosity."""

    @field_validator("served_site_ids")
    @classmethod
    def _site_ids(cls, value: str) -> str:
        for site in (s.strip() for s in value.split(",") if s.strip()):
            if re.fullmatch(SITE_ID_PATTERN, site) is None:
                raise ValueError(f"site id {site!r} must match {SITE_ID_PATTERN}")
        return value.strip()

    @field_validator("kafka_bootstrap_servers", "accel_targets")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name at least one host:port")
        return value.strip()

    def served_sites(self) -> frozenset[str]:
        """The site ids whose events are processed here: `served_site_ids`, or this site's own."""
        listed = frozenset(s.strip() for s in self.served_site_ids.split(",") if s.strip())
        return listed or frozenset((self.site_id,))

    def bootstrap_list(self) -> list[str]:
        """The Kafka bootstrap servers as a list."""
        return [s.strip() for s in self.kafka_bootstrap_servers.split(",") if s.strip()]
