"""The `das_features` step: raw DAS windows in, the per-channel features the fibre-events models were
trained on out, computed by `kernels.das_features` (the same code the fibre-sensing pipeline runs,
on the kernel `kernels` selects)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from accel.errors import InvalidInput
from accel.model import Tensor, TensorSpec
from accel.steps import Step, StepContext, TypedStepKind
from kernels.das_features import LTA_S, N_FEATURES, das_features


class DasFeaturesOptions(BaseModel):
    """Example: `{"step": "das_features", "sample_rate_hz": 1000}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sample_rate_hz: float = Field(gt=0)
    """Samples per second per channel of the windows the model is fed (the interrogator's rate,
    which the model was trained at)."""


class DasFeatures:
    """`samples` FP32 [batch, n_samples, n_channels] -> `features` FP32 [batch, n_channels, 32].

    Each window is one call of `das_features` (a window is thousands of samples, so the loop over
    windows costs nothing beside the FFTs). A window holding a non-finite sample gets NaN
    features, as `das_features` documents; other windows of the batch are unaffected.
    """

    def __init__(self, sample_rate_hz: float) -> None:
        self._sample_rate_hz = sample_rate_hz
        self.inputs = [TensorSpec("samples", "FP32", (-1, -1, -1))]
        self.outputs = [TensorSpec("features", "FP32", (-1, -1, N_FEATURES))]

    def run(self, inputs: dict[str, Tensor]) -> dict[str, Tensor]:
        windows = inputs["samples"]
        lta_samples = round(LTA_S * self._sample_rate_hz)
        if windows.shape[1] <= lta_samples or windows.shape[2] < 1:
            # Refused before the features are allocated: their size follows the channel count,
            # which a window of few samples could make huge for few bytes.
            raise InvalidInput(
                f"das_features: samples must hold more than {lta_samples} samples (the LTA window) and at least "
                f"one channel, got shape {list(windows.shape)}"
            )
        features = np.empty((windows.shape[0], windows.shape[2], N_FEATURES), dtype=np.float32)
        try:
            for i, window in enumerate(windows):
                features[i] = das_features(window, self._sample_rate_hz)
        except ValueError as exc:  # a window too short for the STA/LTA, or without channels
            raise InvalidInput(f"das_features: {exc}") from exc
        return {"features": features}

    def close(self) -> None:
        pass


def build_das_features(options: DasFeaturesOptions, context: StepContext) -> Step:
    return DasFeatures(options.sample_rate_hz)


DAS_FEATURES_STEP = TypedStepKind(DasFeaturesOptions, build_das_features)
