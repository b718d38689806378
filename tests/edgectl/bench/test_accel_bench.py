"""`edge bench accel` measures every cell of its grid against our server and the bare echo server,
beside the in-process ONNX Runtime ceiling, and reports every figure as a table and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from edgectl.bench.accel import (
    INPUT_NAME,
    OUTPUT_NAME,
    REFERENCE_LAYERS,
    as_json,
    format_report,
    run_accel_bench,
    write_reference_model,
)
from edgectl.bench.echo_server import MalformedMessage, echo_response
from inference_protocol.generated import grpc_predict_v2_pb2 as pb

GRID = {"concurrencies": (1, 8), "batches": (1, 16), "modes": ("unary", "stream")}
CELL_FIGURES = ("requests_per_s", "rows_per_s", "p50_ms", "p99_ms", "server_cpu_s_per_1k_rows", "server_cores",
                "client_cores")


def test_reference_model_is_the_issues_autoencoder(tmp_path: Path) -> None:
    """The bench model maps 32 KPIs through 128-16-128 back to 32, on any batch size."""
    path = write_reference_model(tmp_path)
    assert path == tmp_path / "kpi-autoencoder" / "1" / "model.onnx"
    assert json.loads((tmp_path / "kpi-autoencoder" / "config.json").read_text())["max_queue_delay_us"] == 0
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run([OUTPUT_NAME], {INPUT_NAME: np.ones((5, REFERENCE_LAYERS[0]), dtype=np.float32)})
    assert out.shape == (5, REFERENCE_LAYERS[-1]) and np.isfinite(out).all()


def test_echo_response_turns_a_request_into_a_response_with_the_same_tensors() -> None:
    """The echo server's byte rewrite yields a ModelInferResponse whose outputs are the request's inputs."""
    raw = np.arange(64, dtype="<f4").tobytes()
    request = pb.ModelInferRequest(model_name="m", model_version="1", id="42", raw_input_contents=[raw])
    request.inputs.add(name="kpis", datatype="FP32", shape=[2, 32])
    request.outputs.add(name="ignored")
    request.parameters["priority"].uint64_param = 1
    response = pb.ModelInferResponse.FromString(echo_response(request.SerializeToString()))
    assert (response.model_name, response.model_version, response.id) == ("m", "1", "42")
    assert [(o.name, o.datatype, list(o.shape)) for o in response.outputs] == [("kpis", "FP32", [2, 32])]
    assert list(response.raw_output_contents) == [raw] and not response.parameters


def test_echo_response_refuses_bytes_that_are_not_a_message() -> None:
    """A truncated length-delimited field is refused, not echoed."""
    with pytest.raises(MalformedMessage):
        echo_response(b"\x3a\x10abc")


@pytest.mark.integration
def test_accel_bench_reports_every_cell_and_both_ceilings(tmp_path: Path) -> None:
    result = run_accel_bench(**GRID, duration_s=0.5, warmup_s=0.2)  # type: ignore[arg-type]

    expected = {(m, c, b) for m in GRID["modes"] for c in GRID["concurrencies"] for b in GRID["batches"]}
    for cells in (result["cells"], result["ceilings"]["echo"]):
        assert {(c["mode"], c["concurrency"], c["batch"]) for c in cells} == expected
        for cell in cells:
            assert cell["errors"] == 0, cell["error_samples"]
            assert cell["requests"] > 0
            for figure in CELL_FIGURES:
                assert cell[figure] is not None and cell[figure] > 0, (figure, cell)
            assert cell["rows_per_s"] == pytest.approx(cell["requests_per_s"] * cell["batch"])
            assert cell["p99_ms"] >= cell["p50_ms"]
    assert [c["batch"] for c in result["ceilings"]["onnxruntime_in_process"]] == [1, 16]
    for ceiling in result["ceilings"]["onnxruntime_in_process"]:
        assert ceiling["calls_per_s"] > 0 and ceiling["rows_per_s"] > 0 and ceiling["cpu_s_per_1k_rows"] > 0
    assert result["server"]["started_by_bench"] is True and result["server"]["pid"] > 0
    assert [t["met"] for t in result["targets"]][-1] is None  # concurrency 32 is not in this grid

    decoded = json.loads(as_json(result))
    assert set(decoded) == {"model", "server", "grid", "machine", "cells", "ceilings", "peers", "targets"}
    assert decoded["model"]["layers"] == [32, 128, 16, 128, 32]
    report = format_report(result)
    for heading in ("req/s", "rows/s", "p99 ms", "srv CPU-s/1k rows", "onnxruntime in-process", "target"):
        assert heading in report
