"""The `das_features` step computes, window by window, exactly the features of
`kernels.das_features.das_features`, refuses windows too short by name, and keeps one bad window
from spoiling the others."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from accel.errors import InvalidInput, ModelConfigError
from accel.model import TensorSpec
from accel.steps import Step, StepContext
from accel.steps.das import DAS_FEATURES_STEP
from kernels.das_features import das_features


def _step(tmp_path: Path, sample_rate_hz: float = 1000.0) -> Step:
    return DAS_FEATURES_STEP.build({"sample_rate_hz": sample_rate_hz}, StepContext("config.json: steps.0", tmp_path))


def _windows(batch: int, n_samples: int = 1000, n_channels: int = 24) -> np.ndarray:
    return np.random.default_rng(batch).normal(size=(batch, n_samples, n_channels)).astype(np.float32)


def test_each_window_gets_the_features_of_das_features(tmp_path: Path) -> None:
    step = _step(tmp_path)
    assert step.inputs == [TensorSpec("samples", "FP32", (-1, -1, -1))]
    assert step.outputs == [TensorSpec("features", "FP32", (-1, -1, 32))]
    windows = _windows(3)
    features = step.run({"samples": windows})["features"]
    assert features.shape == (3, 24, 32) and features.dtype == np.float32
    for window, got in zip(windows, features, strict=True):
        np.testing.assert_array_equal(got, das_features(window, 1000.0))


def test_a_window_shorter_than_the_lta_is_refused_with_the_limit(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"das_features: samples must hold more than 200 samples"):
        _step(tmp_path).run({"samples": _windows(2, n_samples=150)})


def test_short_windows_with_huge_channel_counts_are_refused_before_features_are_allocated(tmp_path: Path) -> None:
    """One sample per channel would make the features 32 times the input: refused by shape first."""
    huge = np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), shape=(1, 1, 10**12), strides=(0, 0, 0))
    with pytest.raises(InvalidInput, match=r"more than 200 samples .* got shape \[1, 1, 1000000000000\]"):
        _step(tmp_path).run({"samples": huge})


def test_a_window_with_a_non_finite_sample_spoils_only_itself(tmp_path: Path) -> None:
    windows = _windows(2)
    windows[1, 10, 5] = np.nan
    features = _step(tmp_path).run({"samples": windows})["features"]
    assert np.isfinite(features[0]).all()
    assert np.isnan(features[1]).any()


def test_the_sample_rate_is_required_and_positive(tmp_path: Path) -> None:
    context = StepContext("config.json: steps.0", tmp_path)
    with pytest.raises(ModelConfigError, match="steps.0: option 'sample_rate_hz': Field required"):
        DAS_FEATURES_STEP.build({}, context)
    with pytest.raises(ModelConfigError, match="steps.0: option 'sample_rate_hz': Input should be greater than 0"):
        DAS_FEATURES_STEP.build({"sample_rate_hz": 0}, context)
