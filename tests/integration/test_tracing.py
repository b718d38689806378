"""Trace context flows from an event's Kafka headers through the batch span and the gRPC call to
the accelerator, and onto the result's headers."""

from __future__ import annotations

import asyncio

import grpc
import numpy as np
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from accel.server import AccelServer
from accel.settings import AccelSettings
from edge.settings import EdgeSettings
from edge.telemetry import context_fields, context_kafka_headers, kafka_headers_context
from edge.topics import SiteTopics
from edgectl.broker import create_topics
from edgectl.synthetic.cell_kpi import CellKpiGenerator
from edgectl.traffic import encode
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc
from inference_protocol.service import SiteIdentity
from inference_protocol.tensors import array_to_raw
from pipelines.accel_client import AcceleratorClient
from pipelines.kpi_anomaly.pipeline import KpiAnomalyPipeline
from pipelines.main import run_until_stopped
from pipelines.runtime import PipelineRuntime
from pipelines.settings import PipelineSettings

from .kafka_io import produce, read_topic

pytestmark = pytest.mark.integration
EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def tracer_provider() -> None:
    """One in-memory tracer provider for this process (OpenTelemetry allows setting it once)."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(provider)


async def test_an_events_trace_continues_through_inference_onto_its_score(broker: str) -> None:
    EXPORTER.clear()  # the spans of this run only (it runs once per broker)
    topics = SiteTopics("kr-seoul")
    await create_topics(broker, topics.all(), partitions=1)
    traced, untraced = CellKpiGenerator("kr-seoul", "SEL-GN-0042", cells=2, seed=5).next_round()
    with trace.get_tracer("test").start_as_current_span("collector publish") as producer_span:
        headers = context_kafka_headers()
    key, value, _ = encode(traced)
    key2, value2, _ = encode(untraced)
    await produce(broker, topics.kpi, [(key, value, headers), (key2, value2, [])])

    async with AccelServer(AccelSettings(port=0), SiteIdentity("kr-seoul", "SEL-GN-0042")) as server:
        edge = EdgeSettings(region="kr-seoul", site_id="SEL-GN-0042", kafka_bootstrap_servers=broker,
                            kafka_enable_idempotence=broker.idempotent, accel_targets=server.address)
        async with AcceleratorClient(edge, timeout_s=5, attempts=2) as accel:
            runtime = PipelineRuntime(KpiAnomalyPipeline("kr-seoul", "SEL-GN-0042", accel), edge,
                                      PipelineSettings(session_timeout_ms=6000))
            async with runtime:
                stop = asyncio.Event()
                task = asyncio.create_task(run_until_stopped(runtime, stop, 5))
                for _ in range(300):
                    if runtime.stats.events_in >= 2:
                        break
                    await asyncio.sleep(0.1)
                stop.set()
                await task

    spans = EXPORTER.get_finished_spans()
    batch = next(s for s in spans if s.name == "kpi-anomaly batch")
    infer = next(s for s in spans if s.name == "accel.ModelInfer")
    assert infer.parent is not None and infer.parent.span_id == batch.context.span_id, "gRPC call continues the batch"
    linked = {link.context.trace_id for link in batch.links}
    assert producer_span.get_span_context().trace_id in linked, "the batch links the event's trace"

    scores = {r.key: r for r in await read_topic(broker, topics.kpi_scores)}
    traced_ctx = trace.get_current_span(kafka_headers_context(scores[key].headers)).get_span_context()
    assert traced_ctx.trace_id == producer_span.get_span_context().trace_id, "the score continues the event's trace"
    untraced_ctx = trace.get_current_span(kafka_headers_context(scores[key2].headers)).get_span_context()
    assert untraced_ctx.trace_id == batch.context.trace_id, "an untraced event's score joins the batch trace"


async def test_the_accelerator_continues_a_trace_from_request_parameters_else_from_call_metadata() -> None:
    """Requests on a shared stream carry their trace context as parameters; other clients' calls
    carry it as metadata. A malformed one is read as none, and the request is still answered."""
    EXPORTER.clear()
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("sent in parameters") as in_parameters:
        parameters = context_fields()
    with tracer.start_as_current_span("sent in metadata") as in_metadata:
        metadata = list(context_fields().items())

    def request(**carried: str) -> pb.ModelInferRequest:
        datatype, shape, raw = array_to_raw(np.zeros((1, 22), dtype=np.float32))
        built = pb.ModelInferRequest(model_name="kpi-anomaly")
        built.inputs.add(name="features", datatype=datatype, shape=shape)
        built.raw_input_contents.append(raw)
        for key, value in carried.items():
            built.parameters[key].string_param = value
        return built

    async with (
        AccelServer(AccelSettings(port=0), SiteIdentity("kr-seoul", "S1")) as server,
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        await stub.ModelInfer(request(**parameters))
        await stub.ModelInfer(request(), metadata=metadata)
        await stub.ModelInfer(request(traceparent="00-" + "z" * 32 + "-" + "1" * 16 + "-01"))
        await stub.ModelInfer(request(traceparent="00-" + "a" * 32 + "-" + "1" * 16 + "-01" + " " * 100_000))
        not_text = request()
        not_text.parameters["traceparent"].int64_param = 7  # not a string: ignored, the metadata read instead
        await stub.ModelInfer(not_text, metadata=metadata)
    first, second, malformed, padded, typed = [s for s in EXPORTER.get_finished_spans() if s.name == "accel.ModelInfer"]
    assert first.parent is not None and first.parent.span_id == in_parameters.get_span_context().span_id
    assert second.parent is not None and second.parent.span_id == in_metadata.get_span_context().span_id
    assert malformed.parent is None and padded.parent is None, "a malformed trace context starts a trace of its own"
    assert typed.parent is not None and typed.parent.span_id == in_metadata.get_span_context().span_id
