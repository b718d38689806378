"""`accel.kernels` picks one implementation, says which, honours EDGE_KERNELS; pipelines use it."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import accel.kernels
from accel.kernels import IMPLEMENTATION, load_kernels, select_kernels
from accel.kernels import reference as reference_module
from pipelines.kpi_anomaly.features import N_FEATURES, N_KPIS, CellWindows

PROBE = (
    "import accel.kernels as k; from pipelines.kpi_anomaly.features import CellWindows; "
    "print(k.IMPLEMENTATION, CellWindows().kernel is k.KERNELS.window_features)"
)


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
    assert accel.kernels.window_features is load_kernels(expected).window_features
    assert probe(None).stdout.split() == ["native", "True"]


@pytest.mark.parametrize("value", ["reference", " Reference "])
def test_edge_kernels_reference_forces_the_numpy_references(value: str) -> None:
    result = probe(value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["reference", "True"]


def test_edge_kernels_native_insists_on_the_extension() -> None:
    assert probe("native").stdout.split() == ["native", "True"]


def test_an_unknown_edge_kernels_value_stops_the_import_with_a_clear_error() -> None:
    result = probe("gpu")
    assert result.returncode != 0
    assert "EDGE_KERNELS must be auto, native or reference, got 'gpu'" in result.stderr


def test_without_the_extension_auto_falls_back_to_the_reference_and_native_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(accel.kernels, "_native", raising=False)
    monkeypatch.setitem(sys.modules, "accel.kernels._native", None)
    assert select_kernels({}).name == "reference"
    assert (
        select_kernels({"EDGE_KERNELS": "auto"}).window_features is reference_module.window_features
    )
    with pytest.raises(ImportError):
        select_kernels({"EDGE_KERNELS": "native"})


def test_cell_windows_call_the_selected_kernel_once_per_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    selected = accel.kernels.window_features

    def spy(*args: Any) -> None:
        calls.append(len(args[2]))
        selected(*args)

    monkeypatch.setattr(accel.kernels, "window_features", spy)
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
