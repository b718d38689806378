"""A real accelerator process exposes Prometheus metrics: requests by outcome and reason, rows,
executions by batch size, queue and compute time, pending requests."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import numpy as np
import pytest

from accel.settings import DEFAULT_MODEL_REPOSITORY
from edgectl.broker import free_port
from inference_protocol.generated import grpc_predict_v2_pb2 as pb
from inference_protocol.generated import grpc_predict_v2_pb2_grpc as pb_grpc


def _sample(exposition: str, name: str, *labels: str) -> float:
    total = 0.0
    for line in exposition.splitlines():
        if line.startswith(f"{name}{{") or line.startswith(f"{name} "):
            if all(label in line for label in labels):
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_accelerator_metrics_count_requests_rows_failures_and_batch_sizes(tmp_path: Path) -> None:
    grpc_port, metrics_port = free_port(), free_port()
    ready = tmp_path / "ready"
    repository = tmp_path / "models"
    shutil.copytree(DEFAULT_MODEL_REPOSITORY / "kpi-anomaly", repository / "kpi-anomaly")
    (repository / "broken" / "1").mkdir(parents=True)
    (repository / "broken" / "config.json").write_text("{", encoding="utf-8")
    env = os.environ | {"EDGE_REGION": "kr-seoul", "EDGE_SITE_ID": "S1", "ACCEL_PORT": str(grpc_port),
                        "ACCEL_METRICS_PORT": str(metrics_port), "ACCEL_METRICS_HOST": "127.0.0.1",
                        "ACCEL_MODEL_REPOSITORY": str(repository)}
    with subprocess.Popen([sys.executable, "-m", "edgectl", "accel", "serve", "--ready-file", str(ready)], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as process:
        try:
            until = time.monotonic() + 60
            while not ready.exists() and time.monotonic() < until and process.poll() is None:
                time.sleep(0.05)
            assert ready.exists(), "accelerator did not start"
            with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
                stub = pb_grpc.GRPCInferenceServiceStub(channel)
                for rows in (3, 5):
                    request = pb.ModelInferRequest(model_name="kpi-anomaly")
                    request.inputs.add(name="features", datatype="FP32", shape=[rows, 22])
                    request.raw_input_contents.append(np.zeros((rows, 22), dtype=np.float32).tobytes())
                    stub.ModelInfer(request)
                with pytest.raises(grpc.RpcError):
                    stub.ModelInfer(pb.ModelInferRequest(model_name="kpi-anomaly"))
                with pytest.raises(grpc.RpcError):
                    stub.ModelInfer(pb.ModelInferRequest(model_name="no-such-model"))
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as reply:
                text = reply.read().decode()
            with pytest.raises(ConnectionRefusedError):  # ACCEL_METRICS_HOST keeps it on 127.0.0.1
                socket.create_connection(("127.0.0.2", metrics_port), timeout=2)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(20)
    model = 'model="kpi-anomaly"'
    assert _sample(text, "edge_accel_request_success_total", model) == 2
    assert _sample(text, "edge_accel_inference_rows_total", model) == 8
    assert _sample(text, "edge_accel_executions_total", model) == 2
    assert _sample(text, "edge_accel_request_failure_total", model, 'reason="INVALID_ARGUMENT"') == 1
    # A name no model has is no label of its own: hostile names would grow the metrics for ever.
    assert "no-such-model" not in text
    assert _sample(text, "edge_accel_request_failure_total", 'model="unknown"', 'reason="NOT_FOUND"') == 1
    assert _sample(text, "edge_accel_executions_by_batch_size_total", model, 'le="4"') == 1
    assert _sample(text, "edge_accel_executions_by_batch_size_total", model, 'le="+Inf"') == 2
    assert "edge_accel_pending_requests" in text and "edge_accel_queue_seconds_total" in text
    assert _sample(text, "edge_accel_compute_seconds_total", model) > 0
    # A model that fails to load is counted, and every model reports, so an alert sees a series.
    assert _sample(text, "edge_accel_model_load_failures_total", 'model="broken"') == 1
    assert re.search(r'^edge_accel_model_load_failures_total\{[^}]*model="kpi-anomaly"[^}]*\} 0(\.0)?$', text, re.M)
