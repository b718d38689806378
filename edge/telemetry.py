"""OpenTelemetry set-up (traces and metrics) and W3C trace-context propagation through Kafka record headers and gRPC
metadata, so one trace follows an event from its topic through the accelerator to its result."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping, Sequence

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from edge.errors import SiteConfigError
from edge.settings import EdgeSettings

log = logging.getLogger(__name__)
_OTLP_MISSING = "EDGE_OTEL_EXPORTER=otlp needs the exporter: pip install 'sovereign-edge[otlp]'"
_PROPAGATOR = TraceContextTextMapPropagator()
KafkaHeaders = Sequence[tuple[str, bytes]]


def configure_tracing(settings: EdgeSettings, service_name: str) -> TracerProvider | None:
    """Install a tracer provider for this process as the settings ask; None when tracing is off."""
    if settings.otel_exporter == "none":
        return None
    exporter: SpanExporter
    if settings.otel_exporter == "console":
        exporter = ConsoleSpanExporter(out=sys.stderr)
    else:
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        except ImportError as exc:
            raise SiteConfigError(_OTLP_MISSING) from exc
        exporter = OTLPSpanExporter(endpoint=settings.otel_endpoint) if settings.otel_endpoint else OTLPSpanExporter()
    resource = Resource.create(
        {"service.name": service_name, "edge.region": settings.region, "edge.site_id": settings.site_id}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def configure_metrics(
    settings: EdgeSettings,
    service_name: str,
    prometheus_port: int,
    host: str = "0.0.0.0",
    *,
    serve_prometheus: bool = True,
) -> MeterProvider | None:
    """Install a meter provider: Prometheus `/metrics` on `host`:`prometheus_port` (port 0: off)
    and OTLP when the settings send telemetry to a collector. None when both are off.

    With `serve_prometheus=False` the metrics still reach prometheus_client's default registry,
    but no HTTP server is started: the caller serves that registry itself (a pipeline, on its
    `MonitoringServer` beside the kubelet's probes)."""
    readers: list[MetricReader] = []
    if prometheus_port:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        if serve_prometheus:
            from prometheus_client import start_http_server

            start_http_server(prometheus_port, addr=host)
        readers.append(PrometheusMetricReader())
    if settings.otel_exporter == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        except ImportError as exc:
            raise SiteConfigError(_OTLP_MISSING) from exc
        exporter = OTLPMetricExporter(endpoint=settings.otel_endpoint) if settings.otel_endpoint else OTLPMetricExporter()
        readers.append(PeriodicExportingMetricReader(exporter))
    if not readers:
        return None
    resource = Resource.create(
        {"service.name": service_name, "edge.region": settings.region, "edge.site_id": settings.site_id}
    )
    provider = MeterProvider(resource=resource, metric_readers=readers)
    metrics.set_meter_provider(provider)
    return provider


def kafka_headers_context(headers: KafkaHeaders | None) -> Context:
    """The trace context a Kafka record carries (an empty context when it carries none)."""
    carrier = {k: v.decode("latin-1") for k, v in headers or () if k in _PROPAGATOR.fields}
    return _PROPAGATOR.extract(carrier)


def trace_headers(headers: KafkaHeaders | None) -> list[tuple[str, bytes]]:
    """Only the trace-context headers of a record, to carry an event's trace onto its results."""
    if not headers:  # most records carry none: skip the scan, it runs once per event
        return []
    return [(k, v) for k, v in headers if k in _PROPAGATOR.fields]


def context_kafka_headers(context: Context | None = None) -> list[tuple[str, bytes]]:
    """Headers that carry the given (or current) trace context on a produced record."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=context)
    return [(k, v.encode("latin-1")) for k, v in carrier.items()]


def grpc_metadata_context(metadata: Iterable[tuple[str, str | bytes]] | None) -> Context:
    """The trace context a gRPC call's metadata carries."""
    carrier = {k: v if isinstance(v, str) else v.decode("latin-1") for k, v in metadata or () if k in _PROPAGATOR.fields}
    return _PROPAGATOR.extract(carrier)


TRACE_FIELDS = frozenset(_PROPAGATOR.fields)
"""The names that carry a trace context (W3C `traceparent`, `tracestate`)."""


def context_fields(context: Context | None = None) -> dict[str, str]:
    """The fields that carry the given (or current) trace context: none when there is none."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=context)
    return carrier


def fields_context(fields: Mapping[str, str]) -> Context:
    """The trace context `context_fields` gave (a malformed one reads as none)."""
    return _PROPAGATOR.extract({k: v for k, v in fields.items() if k in TRACE_FIELDS})
