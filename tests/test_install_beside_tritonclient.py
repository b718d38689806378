"""The package installs beside the clients operators use: `pip install sovereign-edge
'tritonclient[grpc]'` into one fresh environment resolves to a protobuf both accept, prints no
deprecation warning of ours, imports, and that environment's Triton client infers from our server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import start_accel_process

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[1]

CLIENT_CALL = """
import sys
import numpy as np
import tritonclient.grpc as grpcclient
import google.protobuf
import accel.server, pipelines.runtime, inference_protocol.generated.grpc_predict_v2_pb2  # our code imports
with grpcclient.InferenceServerClient(sys.argv[1]) as client:
    assert client.is_model_ready("kpi-anomaly")
    features = grpcclient.InferInput("features", [3, 22], "FP32")
    features.set_data_from_numpy(np.zeros((3, 22), dtype=np.float32))
    result = client.infer("kpi-anomaly", [features])
    print("protobuf", google.protobuf.__version__, "scores", result.as_numpy("score").shape)
"""


def test_the_package_and_tritonclient_install_into_one_environment_and_talk(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", str(REPO_ROOT), "tritonclient[grpc]"],
        capture_output=True, text=True, timeout=900, check=False,
    )
    output = install.stdout + install.stderr
    assert install.returncode == 0, output[-3000:]
    assert "ResolutionImpossible" not in output and "conflict" not in output.lower()
    for warning in ("SetuptoolsDeprecationWarning", "project.license", "License classifiers are deprecated"):
        assert warning not in output, f"the install warns: {warning}"
    accel, port = start_accel_process(tmp_path)
    try:
        call = subprocess.run([str(python), "-W", "error", "-c", CLIENT_CALL, f"127.0.0.1:{port}"],
                              capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)
    finally:
        accel.terminate()
        accel.wait(30)
    assert call.returncode == 0, call.stdout + call.stderr
    assert "scores (3,)" in call.stdout or "scores (3, 1)" in call.stdout, call.stdout
