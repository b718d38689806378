"""The load generator of `edge bench accel`, run as its own process: closed-loop Open Inference
Protocol load from Triton's asyncio gRPC client (`tritonclient.grpc.aio`) over a grid of
concurrency x request batch x (unary | stream), one JSON object per cell on stdout.

Its own process because tritonclient and `inference_protocol.generated` register the same `inference.*`
protobuf names (this module must never import `accel`), and because a client sharing the server's
process would measure neither. Run as:

    python -m edgectl.bench.accel_load --url 127.0.0.1:8001 --model kpi-autoencoder \
        --concurrency 1,8 --batch 1,16 --mode unary,stream --duration-s 3 --server-pid PID

Each cell: the workers start, run `--warmup-s` unmeasured, then `--duration-s` measured, then
stop sending and wait (bounded) for what is in flight. Unary: N workers share one client, each
with one `infer` in flight. Stream: one `stream_infer` stream with N requests in flight. Only
requests answered inside the measured window count, and the server's CPU (`/proc/PID/stat`,
all threads) is read at the window's edges.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import grpc
import numpy as np
import tritonclient.grpc.aio as triton  # type: ignore[import-untyped]
from tritonclient.utils import InferenceServerException  # type: ignore[import-untyped]

CLIENT_TIMEOUT_S = 30.0
"""How long one request may take before it counts as an error (the server is then stuck)."""
MAX_ERROR_SAMPLES = 3
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class InputSpec:
    """The one input the load carries, e.g. `InputSpec("kpis", "FP32", (32,))` (per-row shape)."""

    name: str
    datatype: str
    row_shape: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> InputSpec:
        """`NAME:DATATYPE:D1,D2` (the per-row shape), e.g. `kpis:FP32:32`."""
        name, datatype, dims = text.split(":")
        return cls(name, datatype, tuple(int(d) for d in dims.split(",") if d))


_NUMPY_DTYPES = {"FP32": np.float32, "FP64": np.float64, "FP16": np.float16, "INT32": np.int32, "INT64": np.int64}


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of every thread of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime: fields 14 and 15


def machine_busy_s() -> float:
    """CPU seconds every core of this machine has spent busy (any process), from /proc/stat."""
    with open("/proc/stat") as fh:
        cpu = fh.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in cpu[:8])
    return (user + nice + system + irq + softirq + steal) / _CLOCK_TICKS


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CellRecorder:
    """What one cell saw: answers and errors inside the measured window, and their latencies."""

    batch: int
    window: tuple[float, float] = (float("inf"), float("inf"))
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    stopping: bool = False

    def answered(self, sent: float, response: Any) -> None:
        done = time.perf_counter()
        if not self.window[0] <= done < self.window[1]:
            return
        outputs = response.outputs
        if not outputs or not outputs[0].shape or outputs[0].shape[0] != self.batch:
            self.failed(f"response does not carry {self.batch} rows: {[list(o.shape) for o in outputs]}")
            return
        self.latencies_s.append(done - sent)

    def failed(self, message: str) -> None:
        if self.window[0] <= time.perf_counter() < self.window[1]:
            self.errors += 1
            if len(self.error_samples) < MAX_ERROR_SAMPLES and message not in self.error_samples:
                self.error_samples.append(message)


async def _unary_worker(client: Any, model: str, inputs: list[Any], recorder: CellRecorder) -> None:
    while not recorder.stopping:
        sent = time.perf_counter()
        try:
            result = await client.infer(model, inputs, client_timeout=CLIENT_TIMEOUT_S)
        except InferenceServerException as exc:
            recorder.failed(str(exc))
            continue
        recorder.answered(sent, result.get_response())


async def _stream_worker(client: Any, model: str, inputs: list[Any], in_flight: int, recorder: CellRecorder) -> None:
    """One stream, `in_flight` requests outstanding: every answer lets the next request go."""
    slots = asyncio.Semaphore(in_flight)
    sent_at: dict[str, float] = {}
    ids = itertools.count()

    async def requests() -> Any:
        while True:
            await slots.acquire()
            if recorder.stopping:
                return
            request_id = str(next(ids))
            sent_at[request_id] = time.perf_counter()
            yield {"model_name": model, "inputs": inputs, "request_id": request_id}

    responses = client.stream_infer(requests())
    try:
        async for result, error in responses:
            slots.release()
            if error is not None:
                recorder.failed(str(error))
                continue
            response = result.get_response()
            recorder.answered(sent_at.pop(response.id), response)
            if recorder.stopping:
                slots.release()  # wake the request generator so it can end the stream
    except (InferenceServerException, grpc.RpcError) as exc:
        recorder.failed(f"stream ended: {exc}")
    finally:
        responses.cancel()


async def run_cell(
    url: str, model: str, spec: InputSpec, mode: str, concurrency: int, batch: int,
    duration_s: float, warmup_s: float, server_pid: int | None, seed: int = 0,
) -> dict[str, Any]:
    """Measure one cell of the grid; the figures as one flat dict."""
    rng = np.random.default_rng(seed + batch)
    data = rng.standard_normal((batch, *spec.row_shape)).astype(_NUMPY_DTYPES[spec.datatype])
    infer_input = triton.InferInput(spec.name, list(data.shape), spec.datatype)
    infer_input.set_data_from_numpy(data)
    inputs = [infer_input]
    recorder = CellRecorder(batch)
    async with triton.InferenceServerClient(url) as client:
        if mode == "unary":
            workers = [_unary_worker(client, model, inputs, recorder) for _ in range(concurrency)]
        else:
            workers = [_stream_worker(client, model, inputs, concurrency, recorder)]
        tasks = [asyncio.create_task(w) for w in workers]
        try:
            await asyncio.sleep(warmup_s)
            server_cpu0 = process_cpu_s(server_pid) if server_pid else None
            busy0, own0 = machine_busy_s(), _own_cpu_s()
            start = time.perf_counter()
            recorder.window = (start, start + duration_s)
            await asyncio.sleep(duration_s)
            wall_s = time.perf_counter() - start
            server_cpu_s = process_cpu_s(server_pid) - server_cpu0 if server_pid and server_cpu0 is not None else None
            busy_s, own_s = machine_busy_s() - busy0, _own_cpu_s() - own0
            recorder.stopping = True
            done, _ = await asyncio.wait(tasks, timeout=CLIENT_TIMEOUT_S + 5)
            for task in done:
                if task.exception() is not None:
                    recorder.errors += 1
                    recorder.error_samples.append(repr(task.exception()))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    answered = len(recorder.latencies_s)
    rows = answered * batch
    latencies_ms = np.asarray(recorder.latencies_s) * 1e3
    return {
        "mode": mode,
        "concurrency": concurrency,
        "batch": batch,
        "seconds": round(wall_s, 3),
        "requests": answered,
        "requests_per_s": answered / wall_s,
        "rows_per_s": rows / wall_s,
        "p50_ms": float(np.percentile(latencies_ms, 50)) if answered else None,
        "p99_ms": float(np.percentile(latencies_ms, 99)) if answered else None,
        "errors": recorder.errors,
        "error_samples": recorder.error_samples,
        "server_cpu_s": server_cpu_s,
        "server_cpu_s_per_1k_rows": server_cpu_s / rows * 1000 if server_cpu_s is not None and rows else None,
        "server_cores": server_cpu_s / wall_s if server_cpu_s is not None else None,
        "client_cores": own_s / wall_s,
        # The rest of the machine (other users' load); unknown when the server's CPU is.
        "other_cores": max(busy_s - own_s - server_cpu_s, 0.0) / wall_s if server_cpu_s is not None else None,
    }


async def _model_input(url: str, model: str) -> InputSpec:
    """The model's first input, from ModelMetadata (-1 dimensions after the batch one become 1)."""
    async with triton.InferenceServerClient(url) as client:
        metadata = await client.get_model_metadata(model)
    first = metadata.inputs[0]
    return InputSpec(first.name, first.datatype, tuple(max(int(d), 1) for d in first.shape[1:]))


async def run_grid(args: argparse.Namespace) -> None:
    spec = InputSpec.parse(args.input) if args.input else await _model_input(args.url, args.model)
    for mode in args.mode:
        for batch in args.batch:
            for concurrency in args.concurrency:
                cell = await run_cell(
                    args.url, args.model, spec, mode, concurrency, batch,
                    args.duration_s, args.warmup_s, args.server_pid,
                )
                cell["label"] = args.label
                sys.stdout.write(json.dumps(cell) + "\n")
                sys.stdout.flush()
                cpu = cell["server_cpu_s_per_1k_rows"]
                sys.stderr.write(
                    f"  {args.label:<6} {mode:<6} c={concurrency:<3} b={batch:<4} "
                    f"{cell['requests_per_s']:>9,.0f} req/s {cell['rows_per_s']:>11,.0f} rows/s "
                    f"p99 {cell['p99_ms'] or 0:6.2f} ms errors {cell['errors']}"
                    + (f" server {cpu:.4f} CPU-s/1k rows" if cpu is not None else "")
                    + "\n"
                )
                sys.stderr.flush()


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="server address, host:port")
    parser.add_argument("--model", required=True, help="model name")
    parser.add_argument("--input", help="NAME:DATATYPE:per-row shape, e.g. kpis:FP32:32 (default: ask ModelMetadata)")
    parser.add_argument("--concurrency", type=_ints, default=[1, 8, 32, 64], help="comma-separated (default 1,8,32,64)")
    parser.add_argument("--batch", type=_ints, default=[1, 16, 256], help="rows per request, comma-separated")
    parser.add_argument("--mode", type=lambda t: t.split(","), default=["unary", "stream"], help="unary,stream")
    parser.add_argument("--duration-s", type=float, default=3.0, help="measured seconds per cell (default 3)")
    parser.add_argument("--warmup-s", type=float, default=0.5, help="unmeasured seconds before each cell")
    parser.add_argument("--server-pid", type=int, default=None, help="server process whose CPU to measure")
    parser.add_argument("--label", default="server", help="name of the server in the output")
    args = parser.parse_args()
    unknown = set(args.mode) - {"unary", "stream"}
    if unknown:
        parser.error(f"--mode takes unary and/or stream, got {sorted(unknown)}")
    asyncio.run(run_grid(args))


if __name__ == "__main__":
    main()
