"""`edge bench accel`: closed-loop Open Inference Protocol load from Triton's client against an
accelerator (ours, started here, or any server URL), beside two ceilings measured in the same run.

Phases, one after another so they do not share the CPU:
1. ONNX Runtime called in-process on the same batches (one thread, as the server runs it);
2. a bare grpc.aio echo server (`edgectl.bench.echo_server`) under the same load generator: the
   floor cost of gRPC and the event loop with no model and no tensor decoding;
3. the server under test over the grid concurrency x request batch x (unary | stream).
The load generator (`edgectl.bench.accel_load`) runs in its own process; the server's CPU is read
from /proc/PID/stat at each cell's measured window, so figures per 1,000 rows are the server's
own, not the client's.

The model is the issue's reference, a KPI autoencoder (MLP 32-128-16-128-32, ONNX) with fixed
random weights, written into a temporary model repository at bench time, so the figures compare
with the issue's table of KServe, MLServer and Triton (`PEERS`).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

REFERENCE_MODEL = "kpi-autoencoder"
REFERENCE_LAYERS = (32, 128, 16, 128, 32)
INPUT_NAME, OUTPUT_NAME = "kpis", "reconstruction"
MODES = ("unary", "stream")
REGION, SITE = "kr-seoul", "BENCH-0001"

PEERS: dict[str, dict[int, float]] = {
    "KServe": {1: 2_879, 16: 39_439, 256: 730_362},
    "MLServer": {1: 2_163, 16: 29_309, 256: 262_626},
    "Triton": {1: 2_030, 16: 27_290},
}
"""The issue's rows/s of each peer server on the reference model, by request batch."""
PEER_SERVER_CORES = 1.13
"""The only server CPU figure the issue gives (KServe's); taken for every peer, which favours
the peers that were slower."""
CPU_TARGET_FACTOR = {1: 1.5, 16: 1.5, 256: 1.3}
"""Rows per server CPU-second to reach, as a multiple of the best peer's, by request batch."""
STREAM_TARGET_FACTOR = 2.0
"""Streaming requests/s at batch 1, as a multiple of the best peer's unary requests/s."""
ECHO_TARGET_SHARE = 0.7
"""Batch-256 rows/s, as a share of the bare echo server's in the same run."""
P99_TARGET_MS = 18.0
"""p99 at concurrency 32, batch 1: the best peer's (KServe)."""

SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 15.0
LOAD_STARTUP_SLACK_S = 60.0
"""Time the load generator may take beyond its cells (imports, connections, draining)."""


def _progress(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def write_reference_model(repository: Path, name: str = REFERENCE_MODEL, seed: int = 0) -> Path:
    """Write the reference KPI autoencoder into `repository/<name>/1/model.onnx` with its
    `config.json` (dynamic batching, no queue delay, one thread); return the model file.

    Needs the `onnx` package (`pip install 'sovereign-edge[train]'`).
    """
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as exc:
        raise SystemExit("edge bench accel builds its model with onnx: pip install 'sovereign-edge[train]'") from exc
    rng = np.random.default_rng(seed)
    nodes: list[Any] = []
    initializers: list[Any] = []
    previous = INPUT_NAME
    layers = list(itertools.pairwise(REFERENCE_LAYERS))
    for i, (fan_in, fan_out) in enumerate(layers):
        weight = (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        bias = (rng.standard_normal(fan_out) * 0.01).astype(np.float32)
        initializers += [numpy_helper.from_array(weight, f"w{i}"), numpy_helper.from_array(bias, f"b{i}")]
        last = i == len(layers) - 1
        out = OUTPUT_NAME if last else f"h{i}"
        nodes.append(helper.make_node("Gemm", [previous, f"w{i}", f"b{i}"], [out if last else f"z{i}"]))
        if not last:
            nodes.append(helper.make_node("Relu", [f"z{i}"], [out]))
        previous = out
    graph = helper.make_graph(
        nodes, REFERENCE_MODEL,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", REFERENCE_LAYERS[0]])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", REFERENCE_LAYERS[-1]])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="edge-bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    version_dir = repository / name / "1"
    version_dir.mkdir(parents=True, exist_ok=True)
    path = version_dir / "model.onnx"
    path.write_bytes(model.SerializeToString())
    config = {"max_batch_size": 4096, "max_queue_delay_us": 0, "intra_op_threads": 1}
    (repository / name / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return path


def _batch_data(batch: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed + batch).standard_normal((batch, REFERENCE_LAYERS[0])).astype(np.float32)


def ort_ceiling(model_path: Path, batches: Sequence[int], duration_s: float) -> list[dict[str, Any]]:
    """ONNX Runtime in this process on one thread (as the server runs it): calls/s and rows/s
    of `session.run` on each batch size, each measured for `duration_s`."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
    results = []
    for batch in batches:
        feed = {INPUT_NAME: _batch_data(batch)}
        for _ in range(20):
            session.run(None, feed)
        calls = 0
        cpu0, started = time.process_time(), time.perf_counter()
        until = started + duration_s
        while time.perf_counter() < until:
            for _ in range(10):
                session.run(None, feed)
            calls += 10
        wall_s = time.perf_counter() - started
        cpu_s = time.process_time() - cpu0
        results.append({
            "batch": batch,
            "calls_per_s": calls / wall_s,
            "rows_per_s": calls * batch / wall_s,
            "us_per_call": wall_s / calls * 1e6,
            "cpu_s_per_1k_rows": cpu_s / (calls * batch) * 1000,
        })
        _progress(f"  onnxruntime in-process b={batch:<4} {calls / wall_s:>11,.0f} calls/s "
                  f"{calls * batch / wall_s:>12,.0f} rows/s")
    return results


@dataclass
class ChildServer:
    """A server process on loopback that writes its bound port to a ready file."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextmanager
def child_server(command: list[str], env: dict[str, str], workdir: Path, label: str) -> Iterator[ChildServer]:
    """Start `command` (which must accept `--ready-file`), wait for its port, and SIGTERM it
    (SIGKILL after `SERVER_STOP_TIMEOUT_S`) when the block ends, whatever happened in it."""
    ready = workdir / f"{label}.port"
    log = workdir / f"{label}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*command, "--ready-file", str(ready)], env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        until = time.monotonic() + SERVER_START_TIMEOUT_S
        while not (ready.exists() and ready.read_text().strip()):
            if process.poll() is not None or time.monotonic() > until:
                raise RuntimeError(f"{label} server did not start; its log:\n{log.read_text()[-3000:]}")
            time.sleep(0.05)
        yield ChildServer(process, int(ready.read_text()), log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(SERVER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass(frozen=True)
class LoadGrid:
    """The cells one load-generator run measures, e.g. `LoadGrid((1, 8), (1, 16), ("unary",), 3.0, 0.5)`:
    every mode x batch x concurrency, each `warmup_s` unmeasured then `duration_s` measured."""

    concurrencies: tuple[int, ...]
    batches: tuple[int, ...]
    modes: tuple[str, ...]
    duration_s: float
    warmup_s: float

    def __post_init__(self) -> None:
        unknown = set(self.modes) - set(MODES)
        if unknown or not self.modes:
            raise ValueError(f"modes must be among {MODES}, got {list(self.modes)}")
        if not self.concurrencies or min(self.concurrencies) < 1 or not self.batches or min(self.batches) < 1:
            raise ValueError(f"concurrencies and batches must be >= 1, got {self.concurrencies}, {self.batches}")
        if self.duration_s <= 0 or self.warmup_s < 0:
            raise ValueError(f"duration_s must be > 0 and warmup_s >= 0, got {self.duration_s}, {self.warmup_s}")

    @property
    def seconds(self) -> float:
        """Measured plus warm-up time of the whole grid, without start-up and draining."""
        cells = len(self.concurrencies) * len(self.batches) * len(self.modes)
        return cells * (self.duration_s + self.warmup_s)

    def arguments(self) -> list[str]:
        """The grid as `edgectl.bench.accel_load` arguments."""
        return [
            "--concurrency", ",".join(map(str, self.concurrencies)), "--batch", ",".join(map(str, self.batches)),
            "--mode", ",".join(self.modes), "--duration-s", str(self.duration_s), "--warmup-s", str(self.warmup_s),
        ]


def run_load(
    url: str, model: str, label: str, server_pid: int | None, grid: LoadGrid, input_spec: str | None
) -> list[dict[str, Any]]:
    """Run the load generator process over the grid; one dict per cell."""
    command = [
        sys.executable, "-m", "edgectl.bench.accel_load", "--url", url, "--model", model, "--label", label,
        *grid.arguments(),
    ]
    if input_spec:
        command += ["--input", input_spec]
    if server_pid:
        command += ["--server-pid", str(server_pid)]
    cells = len(grid.concurrencies) * len(grid.batches) * len(grid.modes)
    budget_s = grid.seconds + cells * 2.0 + LOAD_STARTUP_SLACK_S
    result = subprocess.run(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=budget_s, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"load generator against {label} exited with {result.returncode}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _server_env(repository: Path, stream_in_flight: int) -> dict[str, str]:
    """Our server's environment: no inherited ACCEL_* (a token or TLS would change what is
    measured), no tracing export, warnings only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCEL_")}
    return env | {
        "EDGE_REGION": REGION, "EDGE_SITE_ID": SITE, "EDGE_OTEL_EXPORTER": "none", "EDGE_LOG_LEVEL": "WARNING",
        "ACCEL_HOST": "127.0.0.1", "ACCEL_PORT": "0", "ACCEL_MODEL_REPOSITORY": str(repository),
        "ACCEL_METRICS_PORT": "0", "ACCEL_HEALTH_PORT": "0", "ACCEL_STREAM_MAX_IN_FLIGHT": str(stream_in_flight),
    }


def run_accel_bench(
    url: str | None = None,
    model: str | None = None,
    *,
    server_pid: int | None = None,
    concurrencies: Sequence[int] = (1, 8, 32, 64),
    batches: Sequence[int] = (1, 16, 256),
    duration_s: float = 3.0,
    warmup_s: float = 0.5,
    modes: Sequence[str] = MODES,
    server_profile: Path | None = None,
) -> dict[str, Any]:
    """Measure the grid against a server, beside the ONNX Runtime and echo ceilings; the figures.

    Args:
        url: `host:port` of a server to measure; None starts `edge accel serve` here on a
            temporary repository holding the reference model, and measures its CPU.
        model: model name at `url` (default the reference model, which that server must serve:
            `write_reference_model` writes it); its first input is read from ModelMetadata.
        server_pid: with `url`, the server's process id on this machine, to measure its CPU.
        duration_s: measured seconds per cell (after `warmup_s` unmeasured).
        server_profile: run our server under cProfile, writing the profile here (measurement aid;
            it slows the server down, so its figures are not the server's).
    """
    grid = LoadGrid(tuple(concurrencies), tuple(batches), tuple(modes), duration_s, warmup_s)
    reference_input = f"{INPUT_NAME}:FP32:{REFERENCE_LAYERS[0]}"
    loadavg_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="edge-bench-accel-") as tmp:
        workdir = Path(tmp)
        model_path = write_reference_model(workdir / "models")
        _progress(f"reference model {REFERENCE_MODEL} (MLP {'-'.join(map(str, REFERENCE_LAYERS))}); "
                  f"onnxruntime in-process ceiling, {duration_s:g} s per batch")
        ort = ort_ceiling(model_path, grid.batches, duration_s)

        _progress("bare grpc.aio echo server (ceiling), same load generator:")
        echo_command = [sys.executable, "-m", "edgectl.bench.echo_server", "--port", "0"]
        with child_server(echo_command, dict(os.environ), workdir, "echo") as echo:
            echo_cells = run_load(echo.url, REFERENCE_MODEL, "echo", echo.pid, grid, reference_input)

        if url is None:
            command = [sys.executable, "-m", "edgectl", "accel", "serve"]
            if server_profile is not None:
                command = [sys.executable, "-m", "cProfile", "-o", str(server_profile), "-m", "edgectl", "accel", "serve"]
            env = _server_env(workdir / "models", max(64, *grid.concurrencies))
            with child_server(command, env, workdir, "accel") as accel:
                _progress(f"edge accel serve (pid {accel.pid}) on {accel.url}:")
                cells = run_load(accel.url, REFERENCE_MODEL, "accel", accel.pid, grid, reference_input)
            server = {"url": accel.url, "started_by_bench": True, "pid": accel.pid, "model": REFERENCE_MODEL}
        else:
            name = model or REFERENCE_MODEL
            _progress(f"server at {url}, model {name}" + (f" (pid {server_pid})" if server_pid else " (CPU: n/a)"))
            cells = run_load(url, name, "server", server_pid, grid, None)
            server = {"url": url, "started_by_bench": False, "pid": server_pid, "model": name}
    result: dict[str, Any] = {
        "model": {"name": REFERENCE_MODEL, "layers": list(REFERENCE_LAYERS), "input": reference_input,
                  "output": OUTPUT_NAME},
        "server": server,
        "grid": asdict(grid),
        "machine": {"cpus": os.cpu_count(), "loadavg_before": [round(v, 2) for v in loadavg_before],
                    "loadavg_after": [round(v, 2) for v in os.getloadavg()]},
        "cells": cells,
        "ceilings": {"onnxruntime_in_process": ort, "echo": echo_cells},
        "peers": {"rows_per_s": {k: {str(b): v for b, v in by.items()} for k, by in PEERS.items()},
                  "server_cores": PEER_SERVER_CORES},
    }
    result["targets"] = evaluate_targets(result)
    return result


def _rows_per_cpu_s(cell: dict[str, Any]) -> float | None:
    cpu = cell.get("server_cpu_s_per_1k_rows")
    return 1000 / cpu if cpu else None


def _best(cells: list[dict[str, Any]], key: str, **where: Any) -> dict[str, Any] | None:
    chosen = [c for c in cells if all(c[k] == v for k, v in where.items()) and c.get(key) is not None]
    return max(chosen, key=lambda c: c[key], default=None)


def _where(cell: dict[str, Any] | None) -> str:
    return f"{cell['mode']} c={cell['concurrency']} b={cell['batch']}" if cell else "not measured"


def evaluate_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets against this run: goal, measured value, the cell it came from, met."""
    cells = [c | {"rows_per_cpu_s": _rows_per_cpu_s(c)} for c in result["cells"]]
    targets: list[dict[str, Any]] = []

    def add(name: str, goal: float, cell: dict[str, Any] | None, key: str, higher_is_better: bool = True) -> None:
        measured = cell[key] if cell is not None else None
        met = None if measured is None else (measured >= goal if higher_is_better else measured <= goal)
        targets.append({"target": name, "goal": goal, "measured": measured, "cell": _where(cell), "met": met})

    for batch, factor in CPU_TARGET_FACTOR.items():
        best_peer = max((by[batch] for by in PEERS.values() if batch in by), default=0.0) / PEER_SERVER_CORES
        add(f"rows per server CPU-second, batch {batch} (>= {factor}x best peer's {best_peer:,.0f})",
            factor * best_peer, _best(cells, "rows_per_cpu_s", mode="unary", batch=batch), "rows_per_cpu_s")
    best_unary_b1 = max(by[1] for by in PEERS.values())
    add(f"stream requests/s, batch 1 (>= {STREAM_TARGET_FACTOR}x best peer unary {best_unary_b1:,})",
        STREAM_TARGET_FACTOR * best_unary_b1, _best(cells, "requests_per_s", mode="stream", batch=1), "requests_per_s")
    echo = _best(result["ceilings"]["echo"], "rows_per_s", batch=256)
    ours = _best(cells, "rows_per_s", batch=256)
    if echo is not None and ours is not None:
        ours = ours | {"share_of_echo": ours["rows_per_s"] / echo["rows_per_s"]}
    add(f"rows/s at batch 256 / bare echo's ({echo['rows_per_s']:,.0f} rows/s, {_where(echo)})" if echo else
        "rows/s at batch 256 / bare echo's", ECHO_TARGET_SHARE, ours if echo else None, "share_of_echo")
    p99 = next((c for c in cells if c["mode"] == "unary" and c["concurrency"] == 32 and c["batch"] == 1), None)
    add(f"p99 ms, unary concurrency 32 batch 1 (<= best peer's {P99_TARGET_MS:g} ms)", P99_TARGET_MS, p99, "p99_ms",
        higher_is_better=False)
    return targets


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _table(rows: Sequence[Sequence[str]], left: int) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            for r in rows]


def format_report(result: dict[str, Any]) -> str:
    """The grid, the ceilings and the targets as plain-text tables."""
    header = ("server", "mode", "conc", "batch", "req/s", "rows/s", "p50 ms", "p99 ms", "errors",
              "srv CPU-s/1k rows", "srv cores", "client cores", "other cores")
    rows = [header]
    for cell in [*result["cells"], *result["ceilings"]["echo"]]:
        rows.append((
            cell["label"], cell["mode"], str(cell["concurrency"]), str(cell["batch"]),
            f"{cell['requests_per_s']:,.0f}", f"{cell['rows_per_s']:,.0f}", _fmt(cell["p50_ms"], ".2f"),
            _fmt(cell["p99_ms"], ".2f"), str(cell["errors"]), _fmt(cell["server_cpu_s_per_1k_rows"], ".4f"),
            _fmt(cell["server_cores"], ".2f"), _fmt(cell["client_cores"], ".2f"), _fmt(cell["other_cores"], ".2f"),
        ))
    lines = _table(rows, 2)
    lines.append("")
    ort_rows = [("onnxruntime in-process (1 thread)", "batch", "calls/s", "rows/s", "us/call", "CPU-s/1k rows")]
    for c in result["ceilings"]["onnxruntime_in_process"]:
        ort_rows.append(("", str(c["batch"]), f"{c['calls_per_s']:,.0f}", f"{c['rows_per_s']:,.0f}",
                         f"{c['us_per_call']:.1f}", f"{c['cpu_s_per_1k_rows']:.4f}"))
    lines += _table(ort_rows, 1)
    lines.append("")
    target_rows = [("target", "goal", "measured", "cell", "")]
    for t in result["targets"]:
        spec = ".2f" if t["goal"] < 100 else ",.0f"
        target_rows.append((t["target"], format(t["goal"], spec), _fmt(t["measured"], spec), t["cell"],
                            {None: "n/a", True: "met", False: "MISSED"}[t["met"]]))
    lines += _table(target_rows, 1)
    machine = result["machine"]
    lines.append(
        f"machine: {machine['cpus']} CPUs, load average {machine['loadavg_before'][0]:.2f} before, "
        f"{machine['loadavg_after'][0]:.2f} after; client and server share them (other cores: the rest of the machine)"
    )
    return "\n".join(lines)


def as_json(result: dict[str, Any]) -> str:
    return orjson.dumps(result, option=orjson.OPT_INDENT_2).decode()
