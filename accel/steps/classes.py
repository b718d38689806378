"""Post-processing steps that turn class scores into decisions: `argmax_with_confidence` (the most
likely class and its probability) and `top_k` (the k most likely), whole-array NumPy throughout.

Both read one port, `scores`, of shape [batch, ..., n_classes] written by an earlier step, holding
probabilities or (with `"scores": "logits"`) logits, which are turned into probabilities by a
softmax over the last axis. Ties go to the lowest class index.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from accel.errors import BackendFailure, ModelConfigError
from accel.model import Tensor, TensorSpec
from accel.steps import Step, StepContext, TypedStepKind

ScoreKind = Literal["probabilities", "logits"]
_FLOAT_DATATYPES = ("FP16", "FP32", "FP64")


class ArgmaxOptions(BaseModel):
    """Example: `{"step": "argmax_with_confidence", "inputs": {"scores": "probabilities"}}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scores: ScoreKind = "probabilities"
    """What the `scores` port holds: probabilities, or logits to be softmaxed."""


class TopKOptions(BaseModel):
    """Example: `{"step": "top_k", "k": 3, "inputs": {"scores": "probabilities"}}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k: int = Field(ge=1)
    """How many classes to return per row, the most likely first."""
    scores: ScoreKind = "probabilities"
    """What the `scores` port holds: probabilities, or logits to be softmaxed."""


def _scores_spec(context: StepContext, step: str) -> TensorSpec:
    spec = context.input_spec("scores")
    if spec is None:
        raise ModelConfigError(
            f"{context.where}.inputs.scores: {step} reads tensor {context.tensor_name('scores')!r}, which no "
            f"earlier step writes; written so far: {sorted(context.upstream)}"
        )
    if spec.datatype not in _FLOAT_DATATYPES or len(spec.shape) < 2:
        raise ModelConfigError(
            f"{context.where}.inputs.scores: {step} needs floating-point scores [batch, ..., n_classes], "
            f"got {spec.describe()}"
        )
    return TensorSpec("scores", spec.datatype, spec.shape)


def _probabilities(scores: Tensor, kind: ScoreKind) -> Tensor:
    if kind == "probabilities":
        return scores
    shifted = np.exp(np.subtract(scores, np.max(scores, axis=-1, keepdims=True)))
    probabilities: Tensor = shifted / np.sum(shifted, axis=-1, keepdims=True)
    return probabilities


class ArgmaxWithConfidence:
    """Per row (and any further leading position), `class_index` INT64 of the highest score and
    `confidence` FP32, that class's probability."""

    def __init__(self, scores: TensorSpec, kind: ScoreKind) -> None:
        self._kind = kind
        self.inputs = [scores]
        self.outputs = [
            TensorSpec("class_index", "INT64", scores.shape[:-1]),
            TensorSpec("confidence", "FP32", scores.shape[:-1]),
        ]

    def run(self, inputs: dict[str, Tensor]) -> dict[str, Tensor]:
        scores = inputs["scores"]
        index = np.argmax(scores, axis=-1)
        if self._kind == "probabilities":
            confidence = np.take_along_axis(scores, index[..., np.newaxis], axis=-1)[..., 0]
        else:
            # softmax of the largest logit, without building the whole probability array
            top = np.take_along_axis(scores, index[..., np.newaxis], axis=-1)
            confidence = 1.0 / np.sum(np.exp(np.subtract(scores, top)), axis=-1)
        return {"class_index": index.astype(np.int64), "confidence": confidence.astype(np.float32)}

    def close(self) -> None:
        pass


class TopK:
    """Per row, `indices` INT64 [..., k] of the k most likely classes, most likely first, and their
    probabilities `values` FP32 [..., k]."""

    def __init__(self, scores: TensorSpec, k: int, kind: ScoreKind) -> None:
        self._k = k
        self._kind = kind
        self.inputs = [scores]
        self.outputs = [
            TensorSpec("indices", "INT64", (*scores.shape[:-1], k)),
            TensorSpec("values", "FP32", (*scores.shape[:-1], k)),
        ]

    def run(self, inputs: dict[str, Tensor]) -> dict[str, Tensor]:
        probabilities = _probabilities(inputs["scores"], self._kind)
        n_classes = probabilities.shape[-1]
        if self._k > n_classes:
            raise BackendFailure(f"top_k: k {self._k} is more than the {n_classes} classes given")
        # a stable sort of the negated scores: highest first, ties by lowest index
        order = np.argsort(np.negative(probabilities), axis=-1, kind="stable")[..., : self._k]
        values = np.take_along_axis(probabilities, order, axis=-1)
        return {"indices": order.astype(np.int64), "values": values.astype(np.float32)}

    def close(self) -> None:
        pass


def build_argmax(options: ArgmaxOptions, context: StepContext) -> Step:
    return ArgmaxWithConfidence(_scores_spec(context, "argmax_with_confidence"), options.scores)


def build_top_k(options: TopKOptions, context: StepContext) -> Step:
    scores = _scores_spec(context, "top_k")
    if scores.shape[-1] != -1 and options.k > scores.shape[-1]:
        raise ModelConfigError(f"{context.where}.k: {options.k} is more than the {scores.shape[-1]} classes scored")
    return TopK(scores, options.k, options.scores)


ARGMAX_STEP = TypedStepKind(ArgmaxOptions, build_argmax)
TOP_K_STEP = TypedStepKind(TopKOptions, build_top_k)
