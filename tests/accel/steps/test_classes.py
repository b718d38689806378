"""`argmax_with_confidence` and `top_k` agree with a row-by-row reference, break ties to the lowest
index, turn logits into probabilities, and keep any leading dimensions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from accel.errors import ModelConfigError
from accel.model import TensorSpec
from accel.steps import Step, StepContext
from accel.steps.classes import ARGMAX_STEP, TOP_K_STEP


def _build(kind: str, options: dict[str, object], scores: TensorSpec, tmp_path: Path) -> Step:
    context = StepContext("config.json: steps.1", tmp_path, upstream={"p": scores}, bindings={"scores": "p"})
    return (ARGMAX_STEP if kind == "argmax" else TOP_K_STEP).build(options, context)


def _softmax_rows(logits: np.ndarray) -> np.ndarray:
    rows = [np.exp(row - row.max()) / np.exp(row - row.max()).sum() for row in logits.astype(np.float64)]
    return np.array(rows)


def test_argmax_gives_each_rows_most_likely_class_and_its_probability(tmp_path: Path) -> None:
    step = _build("argmax", {}, TensorSpec("p", "FP32", (-1, 6)), tmp_path)
    assert step.outputs == [TensorSpec("class_index", "INT64", (-1,)), TensorSpec("confidence", "FP32", (-1,))]
    p = np.random.default_rng(0).dirichlet(np.ones(6), size=500).astype(np.float32)
    outputs = step.run({"scores": p})
    assert outputs["class_index"].dtype == np.int64 and outputs["confidence"].dtype == np.float32
    assert outputs["class_index"].tolist() == [int(np.argmax(row)) for row in p]
    assert outputs["confidence"].tolist() == [float(row.max()) for row in p]


def test_argmax_breaks_ties_to_the_lowest_index(tmp_path: Path) -> None:
    step = _build("argmax", {}, TensorSpec("p", "FP32", (-1, 4)), tmp_path)
    outputs = step.run({"scores": np.array([[0.1, 0.4, 0.4, 0.1], [0.25, 0.25, 0.25, 0.25]], np.float32)})
    assert outputs["class_index"].tolist() == [1, 0]


def test_argmax_of_logits_gives_the_softmax_probability(tmp_path: Path) -> None:
    step = _build("argmax", {"scores": "logits"}, TensorSpec("p", "FP64", (-1, 5)), tmp_path)
    logits = np.random.default_rng(1).normal(0, 4, size=(100, 5))
    outputs = step.run({"scores": logits})
    assert outputs["class_index"].tolist() == np.argmax(logits, axis=1).tolist()
    np.testing.assert_allclose(outputs["confidence"], _softmax_rows(logits).max(axis=1), rtol=1e-6)


def test_leading_dimensions_are_kept(tmp_path: Path) -> None:
    step = _build("argmax", {}, TensorSpec("p", "FP32", (-1, 64, 6)), tmp_path)
    assert [s.shape for s in step.outputs] == [(-1, 64), (-1, 64)]
    p = np.random.default_rng(2).random((3, 64, 6)).astype(np.float32)
    outputs = step.run({"scores": p})
    assert outputs["class_index"].shape == (3, 64)
    assert outputs["class_index"][2, 17] == np.argmax(p[2, 17])


def test_top_k_gives_the_k_most_likely_classes_in_order(tmp_path: Path) -> None:
    step = _build("top_k", {"k": 3}, TensorSpec("p", "FP32", (-1, 6)), tmp_path)
    assert step.outputs == [TensorSpec("indices", "INT64", (-1, 3)), TensorSpec("values", "FP32", (-1, 3))]
    p = np.random.default_rng(3).dirichlet(np.ones(6), size=200).astype(np.float32)
    outputs = step.run({"scores": p})
    expected = [sorted(range(6), key=lambda i, row=row: (-row[i], i))[:3] for row in p]
    assert outputs["indices"].tolist() == expected
    np.testing.assert_array_equal(outputs["values"], np.take_along_axis(p, outputs["indices"], axis=1))


def test_top_k_breaks_ties_to_the_lowest_index_and_softmaxes_logits(tmp_path: Path) -> None:
    step = _build("top_k", {"k": 2, "scores": "logits"}, TensorSpec("p", "FP32", (-1, 4)), tmp_path)
    outputs = step.run({"scores": np.array([[1.0, 3.0, 3.0, 3.0]], np.float32)})
    assert outputs["indices"].tolist() == [[1, 2]]
    np.testing.assert_allclose(outputs["values"], _softmax_rows(np.array([[1.0, 3.0, 3.0, 3.0]]))[:, 1:3], rtol=1e-6)


@pytest.mark.parametrize(
    ("kind", "options", "scores", "message"),
    [
        ("argmax", {}, TensorSpec("p", "INT64", (-1, 6)), r"steps.1.inputs.scores: .* got INT64 \[-1, 6\]"),
        ("argmax", {}, TensorSpec("p", "FP32", (-1,)), r"needs floating-point scores \[batch, ..., n_classes\], got FP32 \[-1\]"),
        ("top_k", {"k": 7}, TensorSpec("p", "FP32", (-1, 6)), "steps.1.k: 7 is more than the 6 classes scored"),
        ("top_k", {"k": -1}, TensorSpec("p", "FP32", (-1, 6)), "steps.1: option 'k': Input should be greater than or equal to 1"),
    ],
    ids=["integer-scores", "no-class-axis", "k-too-large", "k-negative"],
)
def test_bad_scores_or_options_are_refused_at_build(
    tmp_path: Path, kind: str, options: dict[str, object], scores: TensorSpec, message: str
) -> None:
    with pytest.raises(ModelConfigError, match=message):
        _build(kind, options, scores, tmp_path)


def test_scores_must_come_from_an_earlier_step(tmp_path: Path) -> None:
    context = StepContext("config.json: steps.0", tmp_path, upstream={"y": TensorSpec("y", "FP32", (-1, 4))})
    with pytest.raises(ModelConfigError, match=r"reads tensor 'scores', which no earlier step writes; written so far: \['y'\]"):
        ARGMAX_STEP.build({}, context)
