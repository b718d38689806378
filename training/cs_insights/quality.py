"""Measured quality of a `cs-insights` model on labelled utterances: macro-F1 of intent (customer
turns, and all turns) and of emotion (customer turns only: agents' emotions are never assessed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from pipelines.cs_insights.features import hashed_ngrams
from pipelines.cs_insights.model import EMOTIONS, FEATURE_DIM, INTENTS, OUTPUTS
from training.cs_insights.dataset import LabelledUtterances


def f1_by_class(truth: npt.NDArray[np.int64], predicted: npt.NDArray[np.int64], classes: int) -> list[float]:
    """F1 of each class (0 for a class neither present nor predicted)."""
    scores = []
    for c in range(classes):
        tp = int(((predicted == c) & (truth == c)).sum())
        fp = int(((predicted == c) & (truth != c)).sum())
        fn = int(((predicted != c) & (truth == c)).sum())
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return scores


def _summary(truth: npt.NDArray[np.int64], predicted: npt.NDArray[np.int64], names: tuple[str, ...]) -> dict[str, Any]:
    present = sorted(set(truth.tolist()))
    f1 = f1_by_class(truth, predicted, len(names))
    return {
        "samples": len(truth),
        "macro_f1": float(np.mean([f1[c] for c in present])) if present else 0.0,
        "accuracy": float((truth == predicted).mean()) if len(truth) else 0.0,
        "f1_by_class": {names[c]: round(f1[c], 4) for c in present},
    }


def predict(model_path: Path, texts: list[str]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Intent and emotion probabilities of texts through the ONNX model, as the accelerator runs it."""
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    intent, emotion = session.run(OUTPUTS, {"features": hashed_ngrams(texts, FEATURE_DIM)})
    return np.asarray(intent), np.asarray(emotion)


def evaluate(model_path: Path, data: LabelledUtterances) -> dict[str, Any]:
    """Intent and emotion figures on labelled utterances."""
    intent_probs, emotion_probs = predict(model_path, data.texts)
    intent, emotion = intent_probs.argmax(axis=1), emotion_probs.argmax(axis=1)
    customer = data.customer
    report: dict[str, Any] = {
        "intent_customer": _summary(data.intents[customer], intent[customer], INTENTS),
        "intent_all_turns": _summary(data.intents, intent, INTENTS),
        "emotion_customer": _summary(data.emotions[customer], emotion[customer], EMOTIONS),
    }
    for language in ("ko", "en"):
        rows = customer & (data.languages == language)
        report[f"intent_customer_{language}_macro_f1"] = _summary(data.intents[rows], intent[rows], INTENTS)["macro_f1"]
        report[f"emotion_customer_{language}_macro_f1"] = _summary(data.emotions[rows], emotion[rows], EMOTIONS)["macro_f1"]
    return report


def quality_table(report: dict[str, Any]) -> str:
    """The report as a Markdown table."""
    lines = ["| measure | value |", "| --- | --- |"]
    for key, title in (("intent_customer", "intent, customer turns"), ("intent_all_turns", "intent, all turns"),
                       ("emotion_customer", "emotion, customer turns")):
        part = report[key]
        lines.append(f"| {title}: macro-F1 (accuracy), {part['samples']:,} utterances | "
                     f"{part['macro_f1']:.3f} ({part['accuracy']:.3f}) |")
    for language in ("ko", "en"):
        lines.append(f"| intent / emotion macro-F1, {language} customer turns | "
                     f"{report[f'intent_customer_{language}_macro_f1']:.3f} / {report[f'emotion_customer_{language}_macro_f1']:.3f} |")
    lines += [f"| F1 {name} (intent, customer) | {v:.3f} |" for name, v in report["intent_customer"]["f1_by_class"].items()]
    lines += [f"| F1 {name} (emotion, customer) | {v:.3f} |" for name, v in report["emotion_customer"]["f1_by_class"].items()]
    return "\n".join(lines)
