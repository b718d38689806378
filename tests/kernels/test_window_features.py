"""`window_features` computes the documented features, whichever implementation runs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from kernels import KernelSet

WindowArgs = Callable[..., dict[str, Any]]


def one_cell(window_args: WindowArgs, kpis: list[list[float]], **overrides: Any) -> dict[str, Any]:
    """Arguments sending every row of `kpis` (one KPI column each value) to cell 0."""
    rows = np.array(kpis, dtype=np.float64).reshape(len(kpis), -1)
    args = window_args(rows=len(rows), cells=1, n_kpis=rows.shape[1], n_hours=1)
    args.update(
        slots=np.zeros(len(rows), dtype=np.int64), kpis=rows, hours=np.zeros((len(rows), 1))
    )
    args.update(overrides)
    return args


def test_an_empty_batch_changes_nothing(kernels: KernelSet, window_args: WindowArgs) -> None:
    args = window_args(rows=0)
    args["counts"][:] = 7
    before = args["values"].copy()
    kernels.window_features(**args)
    assert args["out"].shape == (0, 6)
    assert args["counts"].tolist() == [7, 7, 7]
    np.testing.assert_array_equal(args["values"], before)


def test_rows_of_one_cell_see_the_rows_before_them_and_history_stops_at_the_window(
    kernels: KernelSet, window_args: WindowArgs
) -> None:
    args = one_cell(window_args, [[float(i)] for i in range(8)])
    kernels.window_features(**args)
    assert args["history"].tolist() == [0, 1, 2, 3, 4, 5, 5, 5]
    assert args["counts"].tolist() == [8]
    # Samples 5, 6, 7 overwrote the oldest slots of the 5-sample ring.
    assert args["values"][0, :, 0].tolist() == [5.0, 6.0, 7.0, 3.0, 4.0]


def test_deviation_is_distance_from_the_window_mean_in_sample_standard_deviations(
    kernels: KernelSet, window_args: WindowArgs
) -> None:
    args = one_cell(window_args, [[1.0], [2.0], [3.0], [5.0]])
    kernels.window_features(**args)
    assert args["out"][3].tolist() == [5.0, 3.0, 0.0]  # mean 2, std 1
    assert args["out"][:3, 1].tolist() == [0.0, 0.0, 0.0]  # under min_history


def test_the_std_floor_keeps_a_flat_history_from_inflating_noise(
    kernels: KernelSet, window_args: WindowArgs
) -> None:
    args = one_cell(window_args, [[1.0], [1.0], [1.0], [1.5]], std_floor=np.array([0.25]))
    kernels.window_features(**args)
    assert args["out"][3, 1] == 2.0


def test_missing_kpis_are_filled_with_the_window_mean_and_have_no_deviation(
    kernels: KernelSet, window_args: WindowArgs
) -> None:
    nan = float("nan")
    args = one_cell(
        window_args,
        [[nan, 1.0], [2.0, nan], [4.0, 1.0], [nan, nan], [9.0, 3.0]],
        min_history=2,
        std_floor=np.array([0.1, 0.1]),
    )
    kernels.window_features(**args)
    out = args["out"]
    assert out[0, :2].tolist() == [0.0, 1.0]  # nothing to fill from yet
    assert out[3, :4].tolist() == [3.0, 1.0, 0.0, 0.0]  # mean of the non-missing samples
    assert args["history"].tolist() == [0, 1, 2, 3, 4]
    # Column 0 has 2 samples (2, 4): mean 3, std sqrt(2); column 1 has 3 samples (1, 1, 1).
    np.testing.assert_allclose(out[4, 2:4], [6 / np.sqrt(2), 2 / 0.1], rtol=1e-6)


def test_every_feature_is_clipped_and_nan_passes_through_the_clip(
    kernels: KernelSet, window_args: WindowArgs
) -> None:
    inf = float("inf")
    args = one_cell(window_args, [[1.0], [1.0], [1.0], [inf], [-1e300]], clip=4.0)
    args["hours"][:, 0] = [100.0, -100.0, float("nan"), 0.5, 0.0]
    kernels.window_features(**args)
    out = args["out"]
    assert out[3].tolist() == [4.0, 4.0, 0.5]
    assert out[0, 2] == 4.0 and out[1, 2] == -4.0
    assert out[2, 2] != out[2, 2]  # NaN
    # The window now holds inf, so mean and spread are inf and the deviation inf / inf is NaN.
    assert out[4, 0] == -4.0 and out[4, 1] != out[4, 1]


def test_rows_only_touch_their_own_cells_window(
    kernels: KernelSet, window_args: WindowArgs
) -> None:
    args = window_args(rows=3, cells=4)
    args["slots"][:] = [2, 0, 2]
    kernels.window_features(**args)
    assert args["counts"].tolist() == [1, 0, 2, 0]
    assert np.isnan(args["values"][[1, 3]]).all()
    np.testing.assert_array_equal(args["values"][2, :2], args["kpis"][[0, 2]])


@pytest.mark.parametrize("min_history", [6, 2**80])
def test_a_min_history_past_the_window_scores_no_row(
    kernels: KernelSet, window_args: WindowArgs, min_history: int
) -> None:
    args = one_cell(window_args, [[1.0]] * 7 + [[9.0]], min_history=min_history)
    kernels.window_features(**args)
    assert not args["out"][:, 1].any()


@pytest.mark.parametrize("window", [1, 2])
def test_tiny_windows_still_score_once_full(
    kernels: KernelSet, window_args: WindowArgs, window: int
) -> None:
    args = one_cell(window_args, [[1.0], [3.0], [5.0]], min_history=1)
    args["values"] = np.full((1, window, 1), np.nan)
    kernels.window_features(**args)
    assert args["history"].tolist() == [0, 1, min(2, window)]
    assert args["out"][1, 1] == 50.0  # (3 - 1) / floor 0.01, clipped
