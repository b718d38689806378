"""The contract between the pipeline and the `cs-insights` model: its name, the width of its
input, and the classes behind each column of its two outputs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pipelines.errors import InferenceRejected

MODEL = "cs-insights"
FEATURE_DIM = 4096
"""Width of the `features` input: hashed n-gram buckets (`pipelines.cs_insights.features`)."""
INTENTS = (
    "billing_dispute", "plan_change", "roaming", "coverage_outage", "device_issue",
    "number_porting", "cancellation", "sim_esim", "fraud_security", "other",
)
"""Columns of `intent_probs`."""
EMOTIONS = ("calm", "frustrated", "angry", "satisfied")
"""Columns of `emotion_probs`."""
OUTPUTS = ["intent_probs", "emotion_probs"]


@dataclass(frozen=True)
class ClassProbabilities:
    """Per-utterance class probabilities from one inference call, rows in batch order."""

    intent: npt.NDArray[np.float32]
    emotion: npt.NDArray[np.float32]


def read_outputs(outputs: dict[str, npt.NDArray[np.generic]], rows: int) -> ClassProbabilities:
    """The two probability matrices of a response, checked against the classes this pipeline knows.

    Raises:
        InferenceRejected: an output is missing or its shape does not match (a model that is not
            this pipeline's, or of another class list).
    """
    shapes = {"intent_probs": (rows, len(INTENTS)), "emotion_probs": (rows, len(EMOTIONS))}
    arrays = {}
    for name, shape in shapes.items():
        array = outputs.get(name)
        if array is None or tuple(array.shape) != shape:
            got = None if array is None else tuple(array.shape)
            raise InferenceRejected(f"{MODEL}: output {name!r} has shape {got}, this pipeline expects {shape}")
        arrays[name] = np.asarray(array, dtype=np.float32)
    return ClassProbabilities(arrays["intent_probs"], arrays["emotion_probs"])
