"""Measured quality of a KPI anomaly model on labelled traffic: detection rate per incident
kind, false-alarm rate on normal samples, precision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from edgectl.synthetic.cell_kpi import ANOMALY_KINDS
from training.kpi_anomaly.dataset import LabelledFeatures


def evaluate(model_path: Path, data: LabelledFeatures) -> dict[str, Any]:
    """Run the ONNX model over labelled features and report detection figures."""
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    (flags,) = session.run(["is_anomaly"], {"features": data.features})
    flags = np.asarray(flags, dtype=bool)
    normal = data.labels == ""
    anomalous = ~normal
    report: dict[str, Any] = {
        "samples": int(len(flags)),
        "anomalous_samples": int(anomalous.sum()),
        "recall": float(flags[anomalous].mean()) if anomalous.any() else 0.0,
        "false_positive_rate": float(flags[normal].mean()),
        "precision": float(anomalous[flags].mean()) if flags.any() else 0.0,
        "recall_by_kind": {
            kind: float(flags[data.labels == kind].mean()) for kind in ANOMALY_KINDS if (data.labels == kind).any()
        },
    }
    return report


def quality_table(report: dict[str, Any]) -> str:
    """The report as a Markdown table."""
    lines = [
        "| measure | value |",
        "| --- | --- |",
        f"| samples (anomalous) | {report['samples']:,} ({report['anomalous_samples']:,}) |",
        f"| detection rate (recall), all incidents | {report['recall']:.3f} |",
    ]
    lines += [f"| detection rate, {kind} | {value:.3f} |" for kind, value in report["recall_by_kind"].items()]
    lines += [
        f"| false-positive rate on normal samples | {report['false_positive_rate']:.4f} |",
        f"| precision of alerts | {report['precision']:.3f} |",
    ]
    return "\n".join(lines)
