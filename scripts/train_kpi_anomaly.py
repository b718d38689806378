"""Train the KPI anomaly autoencoder on synthetic normal traffic and ship it as ONNX.

Usage: python scripts/train_kpi_anomaly.py [--out accel/model_repository] [--version 1]
Deterministic (fixed seeds). Writes <out>/kpi-anomaly/{config.json,<version>/model.onnx,MODEL_CARD.md}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.kpi_anomaly.features import FEATURE_NAMES, N_FEATURES  # noqa: E402
from training.kpi_anomaly.dataset import generate_features  # noqa: E402
from training.kpi_anomaly.quality import evaluate, quality_table  # noqa: E402

MODEL_NAME = "kpi-anomaly"
LAYERS = (N_FEATURES, 48, 8, 48, N_FEATURES)
TRAIN = dict(cells=120, periods=2880, seed=11, anomaly_rate=0.0)
VALIDATION = dict(cells=40, periods=1440, seed=12, anomaly_rate=0.0)
HELD_OUT = dict(cells=80, periods=1440, seed=13, anomaly_rate=0.004)
THRESHOLD_QUANTILE = 0.998
"""Alarm threshold: this quantile of reconstruction error on held-out normal traffic."""


def train_autoencoder(x: np.ndarray, epochs: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Mini-batch Adam on mean squared reconstruction error; ReLU between layers, linear output."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(LAYERS[:-1], LAYERS[1:], strict=True):
        params.append([rng.normal(0, np.sqrt(2 / fan_in), (fan_in, fan_out)), np.zeros(fan_out)])
    moments = [[np.zeros_like(p) for p in layer] for layer in params]
    velocities = [[np.zeros_like(p) for p in layer] for layer in params]
    lr, beta1, beta2, eps, step = 2e-3, 0.9, 0.999, 1e-8, 0
    batch = 512
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), batch):
            xb = x[order[start : start + batch]]
            acts = [xb]
            for i, (w, b) in enumerate(params):
                z = acts[-1] @ w + b
                acts.append(z if i == len(params) - 1 else np.maximum(z, 0))
            grad = 2 * (acts[-1] - xb) / xb.size
            total += float(((acts[-1] - xb) ** 2).mean()) * len(xb)
            step += 1
            for i in reversed(range(len(params))):
                w, b = params[i]
                gw, gb = acts[i].T @ grad, grad.sum(axis=0)
                if i > 0:
                    grad = (grad @ w.T) * (acts[i] > 0)
                for j, g in enumerate((gw, gb)):
                    moments[i][j] = beta1 * moments[i][j] + (1 - beta1) * g
                    velocities[i][j] = beta2 * velocities[i][j] + (1 - beta2) * g * g
                    m_hat = moments[i][j] / (1 - beta1**step)
                    v_hat = velocities[i][j] / (1 - beta2**step)
                    params[i][j] -= lr * m_hat / (np.sqrt(v_hat) + eps)
        print(f"epoch {epoch + 1}/{epochs}: train mse {total / len(x):.4f}", flush=True)
    return [(w.astype(np.float32), b.astype(np.float32)) for w, b in params]


def export_onnx(params, mean, scale, threshold: float, path: Path) -> None:
    """features -> standardise -> autoencoder -> per-feature squared error, mean score, flag."""
    inits = [
        numpy_helper.from_array(mean.astype(np.float32), "feature_mean"),
        numpy_helper.from_array(scale.astype(np.float32), "feature_scale"),
        numpy_helper.from_array(np.array(threshold, dtype=np.float32), "threshold"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "feature_axis"),
    ]
    nodes = [
        helper.make_node("Sub", ["features", "feature_mean"], ["centred"]),
        helper.make_node("Div", ["centred", "feature_scale"], ["x0"]),
    ]
    current = "x0"
    for i, (w, b) in enumerate(params):
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        out = f"z{i}"
        nodes.append(helper.make_node("Gemm", [current, f"w{i}", f"b{i}"], [out]))
        if i < len(params) - 1:
            nodes.append(helper.make_node("Relu", [out], [f"h{i}"]))
            out = f"h{i}"
        current = out
    nodes += [
        helper.make_node("Sub", ["x0", current], ["residual"]),
        helper.make_node("Mul", ["residual", "residual"], ["contributions"]),
        helper.make_node("ReduceMean", ["contributions", "feature_axis"], ["score"], keepdims=0),
        helper.make_node("Greater", ["score", "threshold"], ["is_anomaly"]),
    ]
    graph = helper.make_graph(
        nodes,
        MODEL_NAME,
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", N_FEATURES])],
        [
            helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch"]),
            helper.make_tensor_value_info("is_anomaly", TensorProto.BOOL, ["batch"]),
            helper.make_tensor_value_info("contributions", TensorProto.FLOAT, ["batch", N_FEATURES]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="sovereign-edge")
    model.ir_version = 9
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "accel" / "model_repository")
    parser.add_argument("--version", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    started = time.monotonic()

    print("generating training data ...", flush=True)
    train = generate_features(**TRAIN)
    validation = generate_features(**VALIDATION)
    mean = train.features.mean(axis=0)
    scale = np.maximum(train.features.std(axis=0), 1e-3)
    params = train_autoencoder((train.features - mean) / scale, args.epochs, seed=TRAIN["seed"])

    def scores(features: np.ndarray) -> np.ndarray:
        x = (features - mean) / scale
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i < len(params) - 1:
                h = np.maximum(h, 0)
        return ((x - h) ** 2).mean(axis=1)

    threshold = float(np.quantile(scores(validation.features), THRESHOLD_QUANTILE))
    model_dir = args.out / MODEL_NAME
    path = model_dir / str(args.version) / "model.onnx"
    export_onnx(params, mean, scale, threshold, path)

    print("measuring on held-out labelled traffic ...", flush=True)
    held_out = generate_features(**HELD_OUT)
    report = evaluate(path, held_out)
    config = {
        "backend": "onnxruntime",
        "platform": "onnxruntime_onnx",
        "max_batch_size": 4096,
        "max_queue_delay_us": 0,
        "execution_providers": ["CPUExecutionProvider"],
        "intra_op_threads": 1,
    }
    (model_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (model_dir / "MODEL_CARD.md").write_text(model_card(threshold, len(train.features), report))
    (model_dir / "quality.json").write_text(json.dumps(report, indent=2) + "\n")
    print(quality_table(report))
    print(f"wrote {path} in {time.monotonic() - started:.0f} s")


def model_card(threshold: float, train_rows: int, report: dict) -> str:
    features = ", ".join(f"`{n}`" for n in FEATURE_NAMES)
    return f"""# Model card: kpi-anomaly (version 1)

An autoencoder over per-cell KPI features. It learns what normal cells look like and scores each
sample by how badly it reconstructs it; a score above the threshold raises an alert.

## Inputs and outputs
- `features` FP32 [batch, {N_FEATURES}]: {features}. Built by
  `pipelines/kpi_anomaly/features.py`: ten KPIs derived from 3GPP TS 28.552 counters, their
  deviation from the same cell's last 12 samples, and local time of day.
- `score` FP32 [batch]: mean squared reconstruction error of the standardised features.
- `is_anomaly` BOOL [batch]: `score > {threshold:.4f}`.
- `contributions` FP32 [batch, {N_FEATURES}]: per-feature squared error (which KPIs look wrong).

## Architecture and training
Dense {' -> '.join(map(str, LAYERS))}, ReLU, trained with Adam on mean squared error by
`scripts/train_kpi_anomaly.py` (fixed seeds; numpy only) on {train_rows:,} samples of synthetic
normal traffic from `edgectl/synthetic/cell_kpi.py` ({TRAIN['cells']} cells x {TRAIN['periods']}
one-minute periods, seed {TRAIN['seed']}). The threshold is the {THRESHOLD_QUANTILE:.1%} quantile
of scores on separate normal traffic (seed {VALIDATION['seed']}).

## Measured quality (held-out labelled traffic)
Seed {HELD_OUT['seed']}, {HELD_OUT['cells']} cells x {HELD_OUT['periods']} periods, incidents
injected at {HELD_OUT['anomaly_rate']:.1%} per cell and period (outage, congestion, handover failure
storm, power spike; 3-8 periods each). A sample counts as detected when `is_anomaly` is true.

{quality_table(report)}

The test suite re-measures these on fresh traffic (another seed) and fails below the floors in
`tests/pipelines/kpi_anomaly/test_model_quality.py`.

## Limits
Synthetic data only: real cells have holidays, events and reconfigurations that this traffic
does not. Retrain on the operator's own normal traffic before trusting its thresholds.
"""


if __name__ == "__main__":
    main()
