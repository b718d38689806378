"""Train the fibre event classifier on synthetic DAS windows and ship it as ONNX.

Usage: python scripts/train_fiber_sensing.py [--out accel/model_repository] [--version 1]
Deterministic (fixed seeds), numpy only, about a minute and a half on two cores. Writes
<out>/fiber-events/{config.json,<version>/model.onnx,MODEL_CARD.md,quality.json}, and copies the
graph into the model pipelines built on it (<out>/fiber-events-classes and fiber-events-raw,
same version), which keep their own copy so that a version never changes under its clients.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.fiber_sensing.classes import CLASSES
from pipelines.fiber_sensing.features import FEATURE_NAMES, N_FEATURES
from training.fiber_sensing.dataset import generate_channels
from training.fiber_sensing.quality import evaluate, quality_table

MODEL_NAME = "fiber-events"
PIPELINES_ON_THIS_GRAPH = ("fiber-events-classes", "fiber-events-raw")
"""Model pipelines whose onnx step runs this graph; each keeps a copy in its version directory."""
LAYERS = (N_FEATURES, 64, 32, len(CLASSES))
TRAIN = {"fibers": 12, "rounds": 200, "seed": 101, "event_rate": 0.5}
HELD_OUT = {"fibers": 8, "rounds": 150, "seed": 103, "event_rate": 0.3}
L2 = 1e-4
Params = list[tuple[np.ndarray, np.ndarray]]


def forward(params: Params, x: np.ndarray) -> list[np.ndarray]:
    """Activations of every layer; the last is the softmax."""
    acts = [x]
    for i, (w, b) in enumerate(params):
        z = acts[-1] @ w + b
        if i < len(params) - 1:
            acts.append(np.maximum(z, 0))
        else:
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            acts.append(e / e.sum(axis=1, keepdims=True))
    return acts


def train_classifier(x: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> Params:
    """Mini-batch Adam on cross-entropy with L2 on the weights. Classes keep their natural
    frequencies (most channels are quiet): reweighting them toward the events raised recall a
    little and alerts on quiet fibre a lot."""
    rng = np.random.default_rng(seed)
    params = [
        (rng.normal(0, np.sqrt(2 / fan_in), (fan_in, fan_out)), np.zeros(fan_out))
        for fan_in, fan_out in itertools.pairwise(LAYERS)
    ]
    flat = [p for layer in params for p in layer]
    m = [np.zeros_like(p) for p in flat]
    v = [np.zeros_like(p) for p in flat]
    lr, beta1, beta2, eps, step, batch = 3e-3, 0.9, 0.999, 1e-8, 0, 512
    onehot = np.eye(len(CLASSES))[y]
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), batch):
            idx = order[start : start + batch]
            acts = forward(params, x[idx])
            total += float(-np.log(acts[-1][np.arange(len(idx)), y[idx]] + 1e-12).sum())
            grad = (acts[-1] - onehot[idx]) / len(idx)
            grads: list[np.ndarray] = []
            for i in reversed(range(len(params))):
                w, _ = params[i]
                grads[:0] = [acts[i].T @ grad + L2 * w, grad.sum(axis=0)]
                if i > 0:
                    grad = (grad @ w.T) * (acts[i] > 0)
            step += 1
            for j, (p, g) in enumerate(zip(flat, grads, strict=True)):
                m[j] = beta1 * m[j] + (1 - beta1) * g
                v[j] = beta2 * v[j] + (1 - beta2) * g * g
                p -= lr * (m[j] / (1 - beta1**step)) / (np.sqrt(v[j] / (1 - beta2**step)) + eps)
        lr *= 0.9
        print(f"epoch {epoch + 1}/{epochs}: cross-entropy {total / len(x):.4f}", flush=True)
    return [(w.astype(np.float32), b.astype(np.float32)) for w, b in params]


def export_onnx(params: Params, mean: np.ndarray, scale: np.ndarray, path: Path) -> None:
    """features -> standardise -> MLP -> softmax `probabilities`; class and feature names in the
    model's metadata so a mismatch with the pipeline's code can be caught."""
    inits = [
        numpy_helper.from_array(mean.astype(np.float32), "feature_mean"),
        numpy_helper.from_array(scale.astype(np.float32), "feature_scale"),
    ]
    nodes = [
        helper.make_node("Sub", ["features", "feature_mean"], ["centred"]),
        helper.make_node("Div", ["centred", "feature_scale"], ["x0"]),
    ]
    current = "x0"
    for i, (w, b) in enumerate(params):
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("Gemm", [current, f"w{i}", f"b{i}"], [f"z{i}"]))
        current = f"z{i}"
        if i < len(params) - 1:
            nodes.append(helper.make_node("Relu", [current], [f"h{i}"]))
            current = f"h{i}"
    nodes.append(helper.make_node("Softmax", [current], ["probabilities"], axis=1))
    graph = helper.make_graph(
        nodes,
        MODEL_NAME,
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", N_FEATURES])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", len(CLASSES)])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="sovereign-edge")
    model.ir_version = 9
    helper.set_model_props(model, {"classes": ",".join(CLASSES), "features": ",".join(FEATURE_NAMES)})
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "accel" / "model_repository")
    parser.add_argument("--version", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    started = time.monotonic()

    print("generating training windows ...", flush=True)
    train = generate_channels(**TRAIN)
    keep = train.labels >= 0
    x, y = train.features[keep].astype(np.float64), train.labels[keep]
    mean = x.mean(axis=0)
    scale = np.maximum(x.std(axis=0), 1e-3)
    print(f"{len(x):,} labelled channels from {len(train.windows):,} windows; training ...", flush=True)
    params = train_classifier((x - mean) / scale, y, args.epochs, seed=TRAIN["seed"])
    model_dir = args.out / MODEL_NAME
    path = model_dir / str(args.version) / "model.onnx"
    export_onnx(params, mean, scale, path)

    print("measuring on held-out windows ...", flush=True)
    report = evaluate(path, generate_channels(**HELD_OUT))
    config = {
        "backend": "onnxruntime",
        "platform": "onnxruntime_onnx",
        # One request carries every channel of every window of a pipeline batch.
        "max_batch_size": 262144,
        "max_queue_delay_us": 0,
        "execution_providers": ["CPUExecutionProvider"],
        "intra_op_threads": 1,
    }
    (model_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (model_dir / "MODEL_CARD.md").write_text(model_card(len(x), len(train.windows), report))
    (model_dir / "quality.json").write_text(json.dumps(report, indent=2) + "\n")
    for pipeline in PIPELINES_ON_THIS_GRAPH:
        copy = args.out / pipeline / str(args.version) / "model.onnx"
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
        print(f"copied the graph into {copy}")
    print(quality_table(report))
    print(f"wrote {path} in {time.monotonic() - started:.0f} s")


def model_card(train_rows: int, train_windows: int, report: dict[str, Any]) -> str:
    features = ", ".join(f"`{n}`" for n in FEATURE_NAMES)
    classes = ", ".join(f"`{c}`" for c in CLASSES)
    return f"""# Model card: fiber-events (version 1)

A per-channel classifier of DAS (phase-OTDR) windows for field operations: for every channel of
a window it gives the probability of each of {classes}. The `fiber-sensing` pipeline groups
neighbouring confident channels of one class into located alerts.

## Inputs and outputs
- `features` FP32 [batch, {N_FEATURES}], one row per channel: {features}. Built by
  `pipelines/fiber_sensing/features.py` from one window: log10 band powers (1-5, 5-20, 20-50,
  50-100, 100-250 Hz), the power of the slow (quadratic) trend, total power, peak-to-peak,
  kurtosis, crest factor and the largest STA/LTA ratio (20 ms / 200 ms); then the powers relative
  to the window's median channel (`_rel`) and averaged over +-2 (`_near`) and +-8 (`_wide`)
  channels.
- `probabilities` FP32 [batch, {len(CLASSES)}]: softmax over the classes in the order above.
  The class and feature names are also in the ONNX metadata (`classes`, `features`).

## Architecture and training
Standardisation, then dense {' -> '.join(map(str, LAYERS))} with ReLU and a softmax, trained with
Adam on cross-entropy (classes at their natural frequencies) by
`scripts/train_fiber_sensing.py` (fixed seeds; numpy only) on {train_rows:,} labelled channels
of {train_windows:,} synthetic windows from `edgectl/synthetic/das.py` ({TRAIN['fibers']} fibres x
{TRAIN['rounds']} one-second windows of 64 channels at 1 kHz, seed {TRAIN['seed']}, an event
starting in {TRAIN['event_rate']:.0%} of quiet windows). A channel is labelled with the event's class
where the event reaches half its peak amplitude, background where it stays under a tenth, and is
left out of training and scoring in between.

## Measured quality (held-out windows)
Seed {HELD_OUT['seed']}, {HELD_OUT['fibers']} fibres x {HELD_OUT['rounds']} windows. Channel figures take
each channel's most likely class. Alert figures run the pipeline's own grouping
(`AlertPolicy()`: confidence 0.8 or more, gaps of one channel bridged, placed at the span's centre
of excess power).

{quality_table(report)}

The test suite re-measures these on fresh windows (another seed) and fails below the floors in
`tests/pipelines/fiber_sensing/test_model_quality.py`.

## Limits
Synthetic signatures only, at one layout (64 channels, 4 m spacing, 1 kHz, 1 s): real soil,
burial depth, cable coupling and gauge length change every signature, and the classes here are
neither exhaustive nor exclusive (two events in one window are not modelled). Retrain on the
operator's own labelled recordings before trusting the alerts; treat these figures as a check
that the pipeline works, not as field performance.
"""


if __name__ == "__main__":
    main()
