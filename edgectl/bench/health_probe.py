"""A kubelet-like health prober run as its own process by `edge bench accel-soak`: `grpc.health.v1`
Check at a fixed interval, each with a deadline, for a bounded time; one JSON line of figures on
stdout. Its own process, so that what the load generator does to its own event loop (serializing
a 60 MiB request) is not mistaken for the server's latency. Run as:

    python -m edgectl.bench.health_probe --target 127.0.0.1:8001 --seconds 30
"""

from __future__ import annotations

import argparse
import json
import time

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc


def probe(target: str, seconds: float, interval_s: float, deadline_s: float) -> dict[str, float | int]:
    """Check `target` every `interval_s` for `seconds`; latencies of answered checks, and how many
    failed (deadline passed, or any status but SERVING)."""
    latencies_ms: list[float] = []
    failures = 0
    not_serving = 0
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        grpc.channel_ready_future(channel).result(timeout=10)
        until = time.monotonic() + seconds
        most = int(seconds / interval_s) + 1
        while time.monotonic() < until and len(latencies_ms) + failures < most:
            started = time.monotonic()
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=deadline_s)
            except grpc.RpcError:
                failures += 1
            else:
                latencies_ms.append((time.monotonic() - started) * 1e3)
                if reply.status != health_pb2.HealthCheckResponse.SERVING:
                    not_serving += 1
            time.sleep(max(0.0, interval_s - (time.monotonic() - started)))
    answered = np.array(latencies_ms or [0.0])
    return {
        "checks": len(latencies_ms) + failures,
        "failures": failures,
        "not_serving": not_serving,
        "p50_ms": round(float(np.percentile(answered, 50)), 2),
        "p99_ms": round(float(np.percentile(answered, 99)), 2),
        "max_ms": round(float(answered.max()), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="host:port of the server")
    parser.add_argument("--seconds", type=float, required=True, help="how long to probe")
    parser.add_argument("--interval-s", type=float, default=0.02, help="time between checks (default 0.02)")
    parser.add_argument("--deadline-s", type=float, default=1.0, help="deadline of one check (default 1, the kubelet's)")
    args = parser.parse_args()
    print(json.dumps(probe(args.target, args.seconds, args.interval_s, args.deadline_s)), flush=True)


if __name__ == "__main__":
    main()
