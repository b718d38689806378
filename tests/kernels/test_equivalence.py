"""The native kernels compute what their NumPy references compute, on any valid input."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kernels import load_kernels

NATIVE = load_kernels("native")
REFERENCE = load_kernels("reference")

# NaN and both infinities, zeros of both signs, and magnitudes whose squares overflow.
ANY_FLOAT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e300, -1e300, 5e-324]),
    st.floats(-3.0, 3.0),
)


@st.composite
def window_batches(draw: st.DrawFn) -> dict[str, Any]:
    """Valid `window_features` arguments: any shapes, part-filled windows, repeated cells."""
    cells = draw(st.integers(1, 6))
    window = draw(st.integers(1, 6))
    n_kpis = draw(st.integers(0, 4))
    n_hours = draw(st.integers(0, 3))
    rows = draw(st.integers(0, 25))
    return {
        "values": draw(hnp.arrays(np.float64, (cells, window, n_kpis), elements=ANY_FLOAT)),
        "counts": draw(hnp.arrays(np.int64, cells, elements=st.integers(0, 4 * window))),
        "slots": draw(hnp.arrays(np.int64, rows, elements=st.integers(0, cells - 1))),
        "kpis": draw(hnp.arrays(np.float64, (rows, n_kpis), elements=ANY_FLOAT)),
        "hours": draw(hnp.arrays(np.float64, (rows, n_hours), elements=ANY_FLOAT)),
        "std_floor": draw(hnp.arrays(np.float64, n_kpis, elements=st.floats(1e-300, 1e3))),
        "min_history": draw(st.integers(1, window + 2)),
        "clip": draw(st.floats(1e-3, 1e6)),
        "out": np.full((rows, 2 * n_kpis + n_hours), -7.0, dtype=np.float32),
        "history": np.full(rows, -7, dtype=np.int64),
    }


def run_both(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    copies: list[dict[str, Any]] = [
        {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in args.items()} for _ in range(2)
    ]
    NATIVE.window_features(**copies[0])
    REFERENCE.window_features(**copies[1])
    return copies[0], copies[1]


def assert_same(native: dict[str, Any], reference: dict[str, Any]) -> None:
    np.testing.assert_allclose(
        native["out"], reference["out"], rtol=1e-5, atol=1e-5, equal_nan=True
    )
    np.testing.assert_array_equal(native["history"], reference["history"])
    np.testing.assert_array_equal(native["counts"], reference["counts"])
    np.testing.assert_array_equal(native["values"], reference["values"])


@settings(max_examples=300, deadline=None)
@given(window_batches())
def test_native_window_features_match_the_reference_on_any_batch(args: dict[str, Any]) -> None:
    assert_same(*run_both(args))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 8), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_native_matches_the_reference_when_one_cell_fills_the_whole_batch(
    window: int, rows: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    kpis = rng.normal(size=(rows, 3))
    kpis[rng.random(kpis.shape) < 0.2] = np.nan
    args = {
        "values": np.full((2, window, 3), np.nan),
        "counts": np.zeros(2, dtype=np.int64),
        "slots": np.ones(rows, dtype=np.int64),
        "kpis": kpis,
        "hours": np.zeros((rows, 2)),
        "std_floor": np.full(3, 0.05),
        "min_history": min(3, window),
        "clip": 50.0,
        "out": np.empty((rows, 8), dtype=np.float32),
        "history": np.empty(rows, dtype=np.int64),
    }
    native, reference = run_both(args)
    assert_same(native, reference)
    assert native["history"].tolist() == [min(i, window) for i in range(rows)]


def test_native_matches_the_reference_across_many_batches_of_a_live_site() -> None:
    """Realistic KPIs through 50 batches of 1000 rows over 200 cells, state carried over."""
    rng = np.random.default_rng(2026)
    cells, window, n_kpis = 200, 12, 10
    state = [
        (np.full((cells, window, n_kpis), np.nan), np.zeros(cells, dtype=np.int64))
        for _ in range(2)
    ]
    for _ in range(50):
        kpis = rng.normal(0.5, 0.2, (1000, n_kpis))
        kpis[rng.random(kpis.shape) < 0.02] = np.nan
        slots = rng.integers(0, cells, 1000, dtype=np.int64)
        results = []
        for kernels, (values, counts) in zip((NATIVE, REFERENCE), state, strict=True):
            out, history = (
                np.empty((1000, 2 * n_kpis + 2), dtype=np.float32),
                np.empty(1000, dtype=np.int64),
            )
            kernels.window_features(
                values,
                counts,
                slots,
                kpis,
                np.zeros((1000, 2)),
                np.full(n_kpis, 0.02),
                3,
                50.0,
                out,
                history,
            )
            results.append((out, history))
        np.testing.assert_array_equal(results[0][0], results[1][0])
        np.testing.assert_array_equal(results[0][1], results[1][1])
    np.testing.assert_array_equal(state[0][0], state[1][0])


# das_channel_stats: windows built channel by channel from the kinds a fibre produces, plus the
# edge cases of the contract. Arbitrary bit patterns are left out on purpose: a channel that is
# exactly a quadratic (any channel of 3 samples) detrends to rounding noise, and statistics of
# rounding noise differ between any two summation orders.
CHANNEL_KINDS = ("noise", "trend", "offset", "spikes", "constant", "zero", "tiny", "nonfinite")


def das_channel(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    scale = 10 ** rng.uniform(-4, 3)
    noise = scale * rng.standard_normal(n)
    t = np.linspace(-1, 1, n)
    if kind == "trend":
        return noise + scale * rng.uniform(-1e3, 1e3) * (t * t + rng.uniform(-1, 1) * t)
    if kind == "offset":
        return noise + rng.uniform(-1e6, 1e6)
    if kind == "spikes":
        noise[rng.integers(0, n, 3)] += 50 * scale
        return noise
    if kind == "constant":
        return np.full(n, rng.uniform(-1e6, 1e6))
    if kind == "zero":
        return np.zeros(n)
    if kind == "tiny":
        return 1e-150 * noise
    if kind == "nonfinite":
        noise[rng.integers(0, n)] = rng.choice([np.nan, np.inf, -np.inf])
        return noise
    return noise


@st.composite
def das_windows(draw: st.DrawFn) -> dict[str, Any]:
    """Valid `das_channel_stats` arguments: any window length and STA/LTA windows within it."""
    n = draw(st.integers(8, 400))
    sta = draw(st.integers(1, n - 1))
    lta = draw(st.integers(sta + 1, n))
    kinds = draw(st.lists(st.sampled_from(CHANNEL_KINDS), min_size=0, max_size=9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    samples = (
        np.stack([das_channel(k, n, rng) for k in kinds], axis=1) if kinds else np.zeros((n, 0))
    )
    return {
        "samples": samples.astype(dtype),
        "sta_samples": sta,
        "lta_samples": lta,
        "floor": draw(st.sampled_from([1e-12, 1e-6, 1.0])),
        "stats": np.full((len(kinds), 6), -7.0),
        "detrended": np.full((n, len(kinds)), -7.0),
    }


def run_das_both(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    copies: list[dict[str, Any]] = [
        {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in args.items()} for _ in range(2)
    ]
    NATIVE.das_channel_stats(**copies[0])
    REFERENCE.das_channel_stats(**copies[1])
    return copies[0], copies[1]


def assert_same_das(native: dict[str, Any], reference: dict[str, Any]) -> None:
    # The two sum in different orders, so they agree to rounding relative to each channel's
    # largest sample (a 1e6 offset or trend leaves 1e-10 differences on samples of 0.2).
    samples = native["samples"].astype(np.float64)
    size = np.abs(np.where(np.isfinite(samples), samples, 0.0)).max(axis=0, initial=0.0)
    nan_native, nan_reference = np.isnan(native["detrended"]), np.isnan(reference["detrended"])
    np.testing.assert_array_equal(nan_native, nan_reference)
    gap = np.abs(native["detrended"] - reference["detrended"])[~nan_native]
    allowed = (1e-9 * np.abs(reference["detrended"]) + 1e-14 * size + 1e-300)[~nan_native]
    assert (gap <= allowed).all(), float((gap / allowed).max())
    np.testing.assert_allclose(
        native["stats"], reference["stats"], rtol=1e-8, atol=1e-14, equal_nan=True
    )


@settings(max_examples=300, deadline=None)
@given(das_windows())
def test_native_das_channel_stats_match_the_reference_on_any_window(args: dict[str, Any]) -> None:
    assert_same_das(*run_das_both(args))


def test_native_das_channel_stats_match_the_reference_on_generated_fibre_windows() -> None:
    """Windows of the synthetic interrogator, as the pipeline decodes them (float32, 1 kHz)."""
    from edgectl.synthetic.das import DasWindowGenerator
    from pipelines.fiber_sensing.window import parse_das_window

    generator = DasWindowGenerator("kr-seoul", "SYNTH-0001", fibers=4, seed=11, event_rate=0.6)
    for _ in range(3):
        for synthetic in generator.next_windows():
            window = parse_das_window(synthetic.labelled.event)
            n, channels = window.samples.shape
            args = {
                "samples": window.samples,
                "sta_samples": 20,
                "lta_samples": 200,
                "floor": 1e-12,
                "stats": np.empty((channels, 6)),
                "detrended": np.empty((n, channels)),
            }
            assert_same_das(*run_das_both(args))
