"""Measured quality of a fibre event classifier on labelled windows: per-channel macro-F1 and
per-class recall, and, through the pipeline's own alert logic, how often an event is reported
with the right class at the right place and how often a quiet window raises an alert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from pipelines.fiber_sensing.alerts import AlertPolicy, detect_spans
from pipelines.fiber_sensing.classes import CLASSES
from pipelines.fiber_sensing.features import excess_power
from training.fiber_sensing.dataset import LabelledChannels

LOCATION_TOLERANCE_CHANNELS = 2
"""An alert is in the right place within this many channels of the event's true centre."""


def predict(model_path: Path, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Class probabilities from the ONNX model, `[rows, len(CLASSES)]`."""
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(["probabilities"], {"features": features})
    return np.asarray(probabilities, dtype=np.float32)


def channel_scores(labels: npt.NDArray[np.int64], predicted: npt.NDArray[np.int64]) -> dict[str, Any]:
    """Per-class precision, recall and F1 over the labelled channels, and their macro-F1."""
    keep = labels >= 0
    truth, guess = labels[keep], predicted[keep]
    recall, precision, f1 = {}, {}, {}
    for index, name in enumerate(CLASSES):
        hits = float(np.sum((truth == index) & (guess == index)))
        actual, claimed = float(np.sum(truth == index)), float(np.sum(guess == index))
        recall[name] = hits / actual if actual else 0.0
        precision[name] = hits / claimed if claimed else 0.0
        both = recall[name] + precision[name]
        f1[name] = 2 * recall[name] * precision[name] / both if both else 0.0
    return {
        "channels": int(keep.sum()),
        "macro_f1": float(np.mean(list(f1.values()))),
        "recall_by_class": recall,
        "precision_by_class": precision,
        "f1_by_class": f1,
    }


def evaluate(model_path: Path, data: LabelledChannels, policy: AlertPolicy | None = None) -> dict[str, Any]:
    """Run the ONNX model over labelled windows and report channel and alert figures."""
    policy = policy or AlertPolicy()
    probabilities = predict(model_path, data.features)
    report = channel_scores(data.labels, np.argmax(probabilities, axis=1))
    located: dict[str, list[bool]] = {name: [] for name in CLASSES[1:]}
    quiet_with_alert, quiet, alerts, true_alerts = 0, 0, 0, 0
    for window in data.windows:
        rows = slice(window.start, window.start + window.n_channels)
        spans = detect_spans(probabilities[rows], excess_power(data.features[rows]), policy)
        alerts += len(spans)
        truth = window.truth
        if truth is None:
            quiet += 1
            quiet_with_alert += bool(spans)
            continue
        located[truth.kind].append(any(
            s.event_class == truth.kind
            and abs(window.first_channel + s.channel - truth.channel) <= LOCATION_TOLERANCE_CHANNELS
            for s in spans
        ))
        true_alerts += sum(
            s.event_class == truth.kind
            and window.first_channel + s.first <= truth.reach[1]
            and window.first_channel + s.last >= truth.reach[0]
            for s in spans
        )
    events = [hit for hits in located.values() for hit in hits]
    report.update(
        event_windows=len(events),
        localisation_rate=float(np.mean(events)) if events else 0.0,
        localisation_rate_by_class={k: float(np.mean(v)) for k, v in located.items() if v},
        quiet_windows=quiet,
        false_alert_window_rate=quiet_with_alert / quiet if quiet else 0.0,
        alerts=alerts,
        alert_precision=true_alerts / alerts if alerts else 0.0,
    )
    return report


def quality_table(report: dict[str, Any]) -> str:
    """The report as a Markdown table."""
    lines = [
        "| measure | value |",
        "| --- | --- |",
        f"| labelled channels | {report['channels']:,} |",
        f"| macro-F1 over the six classes, per channel | {report['macro_f1']:.3f} |",
    ]
    lines += [
        f"| {name}: recall / precision, per channel | {report['recall_by_class'][name]:.3f} / "
        f"{report['precision_by_class'][name]:.3f} |"
        for name in CLASSES
    ]
    lines.append(
        f"| event windows reported with the right class within +-{LOCATION_TOLERANCE_CHANNELS} channels "
        f"({report['event_windows']:,}) | {report['localisation_rate']:.3f} |"
    )
    lines += [
        f"| ... of which {name} | {rate:.3f} |" for name, rate in report["localisation_rate_by_class"].items()
    ]
    lines += [
        f"| quiet windows raising any alert ({report['quiet_windows']:,}) | {report['false_alert_window_rate']:.4f} |",
        f"| alerts matching a real event (class and place) | {report['alert_precision']:.3f} |",
    ]
    return "\n".join(lines)
