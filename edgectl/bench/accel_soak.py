"""`edge bench accel-soak`: an accelerator server in its own process under a bounded mix of good
requests, the hostile corpus (`edgectl.bench.hostile`, unary and inside streams) and the adversarial
probe's 60 MiB BYTES request, while a separate prober process health-checks it like a kubelet.

It reports good-request latency, what every hostile request got, the 60 MiB request's refusal
time, health-check latency and the server's resident memory before, at peak and after. The
figures are for reading; what must hold (no UNKNOWN/INTERNAL/ABORTED, every good request answered,
health always SERVING) is listed under `failures`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np

from accel.memory import rss_bytes
from accel.settings import DEFAULT_MODEL_REPOSITORY
from edge.lifecycle import terminate_child
from edgectl.accel_process import AccelProcess
from edgectl.bench.hostile import (
    BAD_STATUSES,
    HostileCase,
    RepositoryCall,
    ServedModel,
    good_request,
    hostile_cases,
    hostile_repository_calls,
    interleaved,
    large_bytes_request,
)
from edgectl.broker import free_port
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc

TEXT_MODEL, TEXT_INPUT, TEXT_OUTPUT = "text-echo", "text", "echo"
"""A model with a BYTES input, written beside the shipped ones (none of which takes BYTES), so
the BYTES limits meet a model that would parse the elements."""
LARGE_TARGETS = ((TEXT_MODEL, TEXT_INPUT, "RESOURCE_EXHAUSTED"), ("kpi-anomaly", "features", "INVALID_ARGUMENT"))
"""Where the 60 MiB BYTES request goes, in turn, and how each must refuse it: over the BYTES
element limit, and the wrong datatype."""
CALL_TIMEOUT_S = 30.0
"""Deadline of one call: a call that takes longer counts as the server being stuck."""
SETTLE_S = 4.0
"""Wait after the load before reading the memory figure: the server trims its heap a second after
large requests, and once more when they have stopped for two seconds."""
MAX_CALLS_PER_S = 2000
"""Bound on the calls one load loop makes per second of the run, whatever the server's speed."""
MAX_SAMPLES = 20
"""Unexpected answers the report quotes."""
_METHOD_MODEL_INFER = "/inference.GRPCInferenceService/ModelInfer"


def write_text_echo_model(repository: Path) -> Path:
    """Write `text-echo` (BYTES `text` [batch] -> BYTES `echo` [batch], an ONNX Identity) into
    `repository`; needs the `onnx` package (`pip install 'sovereign-edge[train]'`)."""
    try:
        from onnx import TensorProto, helper
    except ImportError as exc:
        raise SystemExit("edge bench accel-soak builds a model with onnx: pip install 'sovereign-edge[train]'") from exc
    graph = helper.make_graph(
        [helper.make_node("Identity", [TEXT_INPUT], [TEXT_OUTPUT])], TEXT_MODEL,
        [helper.make_tensor_value_info(TEXT_INPUT, TensorProto.STRING, ["batch"])],
        [helper.make_tensor_value_info(TEXT_OUTPUT, TensorProto.STRING, ["batch"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="edge-bench")
    model.ir_version = 8
    path = repository / TEXT_MODEL / "1" / "model.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    (repository / TEXT_MODEL / "config.json").write_text(json.dumps({"max_batch_size": 64}) + "\n")
    return path


def soak_repository(root: Path) -> Path:
    """A model repository of the shipped models plus `text-echo`, at `root`."""
    for model_dir in sorted(p for p in DEFAULT_MODEL_REPOSITORY.iterdir() if p.is_dir()):
        shutil.copytree(model_dir, root / model_dir.name)
    write_text_echo_model(root)
    return root


async def served_models(stub: pb_grpc.GRPCInferenceServiceStub) -> list[ServedModel]:
    """Every ready model as the server describes it (ModelMetadata and ModelConfig)."""
    index = await stub.RepositoryIndex(pb.RepositoryIndexRequest(ready=True))
    models = []
    for name in sorted({m.name for m in index.models}):
        metadata = await stub.ModelMetadata(pb.ModelMetadataRequest(name=name))
        config = await stub.ModelConfig(pb.ModelConfigRequest(name=name))
        models.append(ServedModel.from_proto(metadata, config.config))
    return models


def status_of(error: grpc.aio.AioRpcError) -> str:
    return str(error.code().name)


def _stream_status(response: pb.ModelStreamInferResponse) -> str:
    if not response.error_message:
        return "OK"
    code = response.infer_response.parameters.get("error_code")
    return code.string_param if code is not None else "UNKNOWN"


class Soak:
    """One run's load loops and what they saw; every loop stops at `until` or at its call bound."""

    def __init__(self, channel: grpc.aio.Channel, models: list[ServedModel], until: float, max_calls: int) -> None:
        self.stub = pb_grpc.GRPCInferenceServiceStub(channel)  # type: ignore[no-untyped-call]
        self.raw_infer = channel.unary_unary(_METHOD_MODEL_INFER, response_deserializer=pb.ModelInferResponse.FromString)
        self.models = models
        self.until = until
        self.max_calls = max_calls
        self.good_ms: list[float] = []
        self.good_errors: Counter[str] = Counter()
        self.hostile: Counter[str] = Counter()
        """Statuses of the unary hostile requests."""
        self.in_streams: Counter[str] = Counter()
        """Statuses of every answer in streams, good requests' included."""
        self.unexpected = 0
        self.unexpected_samples: list[str] = []
        self.large: list[tuple[str, str, float]] = []
        self.stream_requests = 0
        self.streams = 0
        self.stream_good_missing = 0

    def _running(self, calls: int) -> bool:
        return asyncio.get_running_loop().time() < self.until and calls < self.max_calls

    def _saw(self, seen: Counter[str], label: str, status: str, expected: frozenset[str]) -> None:
        seen[status] += 1
        if status not in expected:
            self.unexpected += 1
            if len(self.unexpected_samples) < MAX_SAMPLES:
                self.unexpected_samples.append(f"{label}: {status} (expected {sorted(expected)})")

    async def good_loop(self, offset: int) -> None:
        loop = asyncio.get_running_loop()
        models = itertools.islice(itertools.cycle(self.models), offset, None)
        calls = 0
        while self._running(calls):
            calls += 1
            started = loop.time()
            try:
                await self.stub.ModelInfer(good_request(next(models)), timeout=CALL_TIMEOUT_S)
            except grpc.aio.AioRpcError as exc:
                self.good_errors[status_of(exc)] += 1
            else:
                self.good_ms.append((loop.time() - started) * 1e3)

    async def hostile_loop(self) -> None:
        cases: list[HostileCase | RepositoryCall] = [case for model in self.models for case in hostile_cases(model)]
        cases += hostile_repository_calls(self.models[0].name)
        for calls_made, case in enumerate(itertools.cycle(cases)):
            if not self._running(calls_made):
                return
            label, expected = case.label, case.expected
            call = self.stub.ModelInfer if isinstance(case, HostileCase) else getattr(self.stub, case.method)
            try:
                await call(case.request, timeout=CALL_TIMEOUT_S)
                status = "OK"
            except grpc.aio.AioRpcError as exc:
                status = status_of(exc)
            self._saw(self.hostile, label, status, expected)

    async def large_loop(self, every_s: float) -> None:
        """The 60 MiB BYTES request every `every_s`, serialized once: the client's own cost of
        serializing it is not the server's refusal time."""
        loop = asyncio.get_running_loop()
        payloads = [
            (model, large_bytes_request(model, input_name).SerializeToString(), expected)
            for model, input_name, expected in LARGE_TARGETS
        ]
        for calls, (model, payload, expected) in enumerate(itertools.cycle(payloads)):
            if not self._running(calls):
                return
            started = loop.time()
            try:
                await self.raw_infer(payload, timeout=CALL_TIMEOUT_S)
                status = "OK"
            except grpc.aio.AioRpcError as exc:
                status = status_of(exc)
            self.large.append((model, status, (loop.time() - started) * 1e3))
            self._saw(Counter(), f"{model}: 60 MiB BYTES", status, frozenset({expected}))
            await asyncio.sleep(max(0.0, min(every_s, self.until - loop.time())))

    async def stream_loop(self) -> None:
        """Streams of hostile requests with good ones between them; every good one must come back
        answered and every hostile one refused in band, and each stream must end OK."""
        cases = {case.request.id: case for case in interleaved(self.models, good_every=4)}
        while self._running(self.stream_requests):

            async def requests() -> AsyncIterator[pb.ModelInferRequest]:
                for case in cases.values():
                    yield case.request

            answered: set[str] = set()
            self.streams += 1
            try:
                async for response in self.stub.ModelStreamInfer(requests(), timeout=CALL_TIMEOUT_S * 4):
                    case = cases.get(response.infer_response.id)
                    if case is None:
                        unknown_id = f"stream answer to unknown id {response.infer_response.id[:40]!r}"
                        self._saw(self.in_streams, unknown_id, "UNKNOWN", frozenset())
                        continue
                    answered.add(case.request.id)
                    self._saw(self.in_streams, f"stream {case.label}", _stream_status(response), case.expected)
            except grpc.aio.AioRpcError as exc:
                self._saw(self.in_streams, "stream itself", status_of(exc), frozenset({"OK"}))
            self.stream_requests += len(cases)
            self.stream_good_missing += sum(1 for i in cases if i.startswith("good-") and i not in answered)


async def _sample_rss(pid: int, until: float, peak: list[int]) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        peak[0] = max(peak[0], rss_bytes(pid))
        await asyncio.sleep(0.1)


def _server_env(repository: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCEL_")}
    return env | {
        "EDGE_REGION": "kr-seoul", "EDGE_SITE_ID": "SOAK-0001", "EDGE_OTEL_EXPORTER": "none",
        "EDGE_LOG_LEVEL": "WARNING", "ACCEL_HOST": "127.0.0.1", "ACCEL_PORT": str(port),
        "ACCEL_MODEL_REPOSITORY": str(repository), "ACCEL_METRICS_PORT": "0", "ACCEL_HEALTH_PORT": "0",
    }


async def run_accel_soak(seconds: float, large_every_s: float = 1.0, good_concurrency: int = 2) -> dict[str, Any]:
    """Run the soak for `seconds` against a fresh server process; the figures (see the module)."""
    if seconds <= 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    with tempfile.TemporaryDirectory(prefix="edge-bench-soak-") as tmp:
        workdir = Path(tmp)
        repository = soak_repository(workdir / "models")
        port = free_port()
        server = AccelProcess(_server_env(repository, port), workdir)
        await server.start(timeout_s=60)
        try:
            assert server.pid is not None
            return await _soak(server.pid, f"127.0.0.1:{port}", seconds, large_every_s, good_concurrency, workdir)
        finally:
            await server.stop()


async def _soak(
    pid: int, target: str, seconds: float, large_every_s: float, good_concurrency: int, workdir: Path
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    options = [("grpc.max_send_message_length", 64 * 2**20), ("grpc.max_receive_message_length", 64 * 2**20)]
    async with grpc.aio.insecure_channel(target, options=options) as channel:
        models = await served_models(pb_grpc.GRPCInferenceServiceStub(channel))  # type: ignore[no-untyped-call]
        warm = Soak(channel, models, loop.time() + 60, max_calls=len(models))
        await warm.good_loop(0)  # every model once, so that first-call costs are not counted
        await asyncio.sleep(SETTLE_S)
        rss_before = rss_bytes(pid)
        prober = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "edgectl.bench.health_probe", "--target", target, "--seconds", str(seconds + 1.0),
            stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
        )
        try:
            await asyncio.sleep(0.5)  # the prober's first checks come before the load
            until = loop.time() + seconds
            soak = Soak(channel, models, until, max_calls=int(seconds * MAX_CALLS_PER_S) + 1)
            peak = [rss_before]
            async with asyncio.TaskGroup() as group:
                for i in range(good_concurrency):
                    group.create_task(soak.good_loop(i))
                group.create_task(soak.hostile_loop())
                group.create_task(soak.large_loop(large_every_s))
                group.create_task(soak.stream_loop())
                group.create_task(_sample_rss(pid, until, peak))
            output, _ = await asyncio.wait_for(prober.communicate(), timeout=30)
        finally:
            await terminate_child(prober, 5)
        await asyncio.sleep(SETTLE_S)
        rss_after = rss_bytes(pid)
    health = json.loads(output.decode().strip().splitlines()[-1])
    return _figures(soak, seconds, health, rss_before, max(peak[0], rss_after), rss_after, workdir)


def _figures(
    soak: Soak, seconds: float, health: dict[str, Any], rss_before: int, rss_peak: int, rss_after: int, workdir: Path
) -> dict[str, Any]:
    good = np.array(soak.good_ms or [0.0])
    large_ms = np.array([ms for _, _, ms in soak.large] or [0.0])
    log = workdir / "accel.log"
    tracebacks = log.read_text(errors="replace").count("Traceback") if log.exists() else 0
    failures = []
    every = soak.hostile + soak.in_streams + Counter(status for _, status, _ in soak.large)
    bad = sum(n for status, n in every.items() if status in BAD_STATUSES)
    if bad:
        failures.append(f"{bad} requests got {sorted(BAD_STATUSES & set(every))}")
    if soak.unexpected:
        failures.append(f"{soak.unexpected} requests got a status other than expected")
    if soak.good_errors:
        failures.append(f"good requests failed: {dict(soak.good_errors)}")
    if soak.stream_good_missing:
        failures.append(f"{soak.stream_good_missing} good requests in streams went unanswered")
    if health["failures"] or health["not_serving"]:
        failures.append(f"health checks failed {health['failures']} times, NOT_SERVING {health['not_serving']} times")
    if tracebacks:
        failures.append(f"the server logged {tracebacks} tracebacks")
    return {
        "seconds": seconds,
        "good": {"requests": len(soak.good_ms), "errors": dict(soak.good_errors),
                 "p50_ms": round(float(np.percentile(good, 50)), 2), "p99_ms": round(float(np.percentile(good, 99)), 2)},
        "hostile": {"requests": sum(soak.hostile.values()), "by_status": dict(sorted(soak.hostile.items())),
                    "unexpected": soak.unexpected, "unexpected_samples": soak.unexpected_samples},
        "streams": {"streams": soak.streams, "requests": soak.stream_requests, "good_missing": soak.stream_good_missing,
                    "by_status": dict(sorted(soak.in_streams.items()))},
        "large_bytes": {"requests": len(soak.large), "by_status": dict(Counter(f"{m} {s}" for m, s, _ in soak.large)),
                        "refusal_p50_ms": round(float(np.percentile(large_ms, 50)), 1),
                        "refusal_max_ms": round(float(large_ms.max()), 1)},
        "health": health,
        "server_rss_mb": {"before": round(rss_before / 2**20, 1), "peak": round(rss_peak / 2**20, 1),
                          "after": round(rss_after / 2**20, 1), "growth": round((rss_after - rss_before) / 2**20, 1)},
        "failures": failures,
    }


def soak_from_cli(seconds: float, json_path: Path | None) -> None:
    """`edge bench accel-soak`: run, print the report (and the JSON figures to `json_path`), and
    exit with status 1 when something that must hold did not."""
    if not 0 < seconds <= 3600:
        raise SystemExit(f"--seconds must be within (0, 3600], got {seconds}")
    figures = asyncio.run(run_accel_soak(seconds))
    print(format_report(figures), flush=True)
    if json_path is not None:
        json_path.write_text(json.dumps(figures, indent=2) + "\n")
    if figures["failures"]:
        raise SystemExit(1)


def format_report(figures: dict[str, Any]) -> str:
    """The figures as a few lines of text."""
    good, hostile, large = figures["good"], figures["hostile"], figures["large_bytes"]
    health, rss, streams = figures["health"], figures["server_rss_mb"], figures["streams"]
    lines = [
        f"accel soak, {figures['seconds']:g} s against a server process on loopback",
        (f"  good requests   {good['requests']} answered, p50 {good['p50_ms']} ms, p99 {good['p99_ms']} ms,"
         f" errors {good['errors'] or 'none'}"),
        f"  hostile unary   {hostile['requests']} refused or answered: {hostile['by_status']}",
        (f"  streams         {streams['streams']} streams of {streams['requests']} requests (good and hostile):"
         f" {streams['by_status']}, good ones unanswered {streams['good_missing']}"),
        (f"  60 MiB BYTES    {large['requests']} sent, refused p50 {large['refusal_p50_ms']} ms,"
         f" max {large['refusal_max_ms']} ms: {large['by_status']}"),
        (f"  health checks   {health['checks']} (every 20 ms, 1 s deadline): p50 {health['p50_ms']} ms,"
         f" p99 {health['p99_ms']} ms, max {health['max_ms']} ms, failed {health['failures']},"
         f" not serving {health['not_serving']}"),
        (f"  server RSS      before {rss['before']} MB, peak {rss['peak']} MB, after {rss['after']} MB"
         f" (growth {rss['growth']} MB)"),
    ]
    lines += [f"  FAILED: {failure}" for failure in figures["failures"]] or ["  no failures"]
    lines += [f"    {sample}" for sample in hostile["unexpected_samples"]]
    return "\n".join(lines)
