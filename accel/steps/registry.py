"""The step kinds a pipeline's config.json may name; adding a kind is one entry here."""

from __future__ import annotations

from collections.abc import Mapping

from accel.steps import StepKind
from accel.steps.classes import ARGMAX_STEP, TOP_K_STEP
from accel.steps.das import DAS_FEATURES_STEP
from accel.steps.onnx import ONNX_STEP

STEP_KINDS: Mapping[str, StepKind] = {
    "onnx": ONNX_STEP,
    "argmax_with_confidence": ARGMAX_STEP,
    "top_k": TOP_K_STEP,
    "das_features": DAS_FEATURES_STEP,
}
