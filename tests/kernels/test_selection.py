"""`kernels` picks one implementation, says which, honours EDGE_KERNELS; pipelines use it."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import kernels
from kernels import IMPLEMENTATION, load_kernels, select_kernels
from kernels import das_features as das
from kernels import reference as reference_module
from pipelines.fiber_sensing import features as fiber_features
from pipelines.kpi_anomaly.features import N_FEATURES, N_KPIS, CellWindows

# Prints the implementation, whether the KPI pipeline's windows use it, and the module of the
# DAS kernel that `kernels` exposes.
PROBE = (
    "import kernels as k; from pipelines.kpi_anomaly.features import CellWindows; "
    "print(k.IMPLEMENTATION, CellWindows().kernel is k.KERNELS.window_features, "
    "k.das_channel_stats is k.KERNELS.das_channel_stats, k.das_channel_stats.__module__)"
)
NATIVE_PROBE = ["native", "True", "True", "kernels._native"]
REFERENCE_PROBE = ["reference", "True", "True", "kernels.reference"]


def probe(edge_kernels: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "EDGE_KERNELS"}
    if edge_kernels is not None:
        env["EDGE_KERNELS"] = edge_kernels
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_native_kernels_load_by_default_in_this_build() -> None:
    expected = (
        "reference"
        if os.environ.get("EDGE_KERNELS", "").strip().lower() == "reference"
        else "native"
    )
    assert IMPLEMENTATION == expected
    assert kernels.window_features is load_kernels(expected).window_features
    assert kernels.das_channel_stats is load_kernels(expected).das_channel_stats
    assert probe(None).stdout.split() == NATIVE_PROBE


@pytest.mark.parametrize("value", ["reference", " Reference "])
def test_edge_kernels_reference_forces_the_numpy_references(value: str) -> None:
    result = probe(value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == REFERENCE_PROBE


def test_edge_kernels_native_insists_on_the_extension() -> None:
    assert probe("native").stdout.split() == NATIVE_PROBE


def test_an_unknown_edge_kernels_value_stops_the_import_with_a_clear_error() -> None:
    result = probe("gpu")
    assert result.returncode != 0
    assert "EDGE_KERNELS must be auto, native or reference, got 'gpu'" in result.stderr


def test_without_the_extension_auto_falls_back_to_the_reference_and_native_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(kernels, "_native", raising=False)
    monkeypatch.setitem(sys.modules, "kernels._native", None)
    assert select_kernels({}).name == "reference"
    assert (
        select_kernels({"EDGE_KERNELS": "auto"}).window_features is reference_module.window_features
    )
    assert select_kernels({}).das_channel_stats is reference_module.das_channel_stats
    with pytest.raises(ImportError):
        select_kernels({"EDGE_KERNELS": "native"})


def test_cell_windows_call_the_selected_kernel_once_per_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    selected = kernels.window_features

    def spy(*args: Any) -> None:
        calls.append(len(args[2]))
        selected(*args)

    monkeypatch.setattr(kernels, "window_features", spy)
    windows = CellWindows()
    out, history = windows.features(["a", "b", "a"], np.ones((3, N_KPIS)), np.zeros((3, 2)))
    assert calls == [3]
    assert out.shape == (3, N_FEATURES) and history.tolist() == [0, 0, 1]


def test_cell_windows_give_the_same_features_with_either_kernel() -> None:
    rng = np.random.default_rng(5)
    windows = {
        name: CellWindows(kernel=load_kernels(name).window_features)
        for name in ("native", "reference")
    }
    for batch in range(30):
        cells = [f"cell-{i}" for i in rng.integers(0, 90, 120)]
        kpis = rng.normal(0.5, 0.2, (120, N_KPIS))
        kpis[rng.random(kpis.shape) < 0.05] = np.nan
        hours = rng.uniform(-1, 1, (120, 2))
        if batch % 10 == 9:
            for w in windows.values():
                w.forget(cells[:20])
        (native_out, native_history), (ref_out, ref_history) = (
            w.features(cells, kpis, hours) for w in windows.values()
        )
        np.testing.assert_array_equal(native_out, ref_out)
        np.testing.assert_array_equal(native_history, ref_history)


def test_das_features_call_the_selected_kernel_once_per_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, ...]] = []
    selected = kernels.das_channel_stats

    def spy(*args: Any) -> None:
        calls.append((*args[0].shape, args[1], args[2]))
        selected(*args)

    monkeypatch.setattr(kernels, "das_channel_stats", spy)
    samples = np.random.default_rng(1).standard_normal((1000, 16)).astype(np.float32)
    features = fiber_features.das_features(samples, 1000.0)
    assert calls == [(1000, 16, 20, 200)]
    assert features.shape == (16, fiber_features.N_FEATURES)


def test_the_pipeline_and_the_accelerator_share_one_das_feature_implementation() -> None:
    assert fiber_features.das_features is das.das_features
    assert fiber_features.FEATURE_NAMES is das.FEATURE_NAMES


def test_das_features_are_the_same_with_either_kernel() -> None:
    rng = np.random.default_rng(8)
    for rate_hz, shape in [(1000.0, (1000, 64)), (2500.0, (2048, 16)), (500.0, (256, 20))]:
        samples = (rng.standard_normal(shape) * rng.uniform(0.01, 10, shape[1])).astype(np.float32)
        samples[:, 3] += np.linspace(0, 40, shape[0]) ** 2
        samples[shape[0] // 2, 5] += 30.0
        native, reference = (
            das.das_features(samples, rate_hz, kernel=load_kernels(name).das_channel_stats)
            for name in ("native", "reference")
        )
        # Both round to the same float32 but for the odd last bit of a log10.
        np.testing.assert_allclose(native, reference, rtol=0, atol=2e-6)
