"""The checked-in protocol code is exactly what scripts/gen_protos.py generates."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _load_generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_protocol_code_matches_a_fresh_generation(tmp_path: Path) -> None:
    generated = _load_generator().generate(tmp_path)
    assert {p.name for p in generated} == {
        "grpc_predict_v2_pb2.py", "grpc_predict_v2_pb2.pyi", "grpc_predict_v2_pb2_grpc.py"
    }
    for fresh in generated:
        checked_in = ROOT / "inference_protocol" / "generated" / fresh.name
        assert checked_in.read_text() == fresh.read_text(), f"{fresh.name} is stale: run `make protos`"


def test_the_service_is_the_standard_inference_service() -> None:
    from inference_protocol.generated import grpc_predict_v2_pb2 as pb

    service = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    assert service.full_name == "inference.GRPCInferenceService"
    assert {m.name for m in service.methods} >= {
        "ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer", "ModelStreamInfer"
    }
    fields = {f.name: f.number for f in pb.ModelInferRequest.DESCRIPTOR.fields}
    assert fields == {
        "model_name": 1, "model_version": 2, "id": 3, "parameters": 4, "inputs": 5, "outputs": 6,
        "raw_input_contents": 7,
    }
    assert pb.InferParameter.DESCRIPTOR.fields_by_name["uint64_param"].number == 5
