"""`das_channel_stats` computes the documented statistics, whichever implementation runs it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from kernels import KernelSet
from kernels.das_features import sta_lta_max
from kernels.reference import DAS_STATS, trend_basis

DasArgs = Callable[..., dict[str, Any]]
RATE_HZ = 1000.0
T = np.arange(1000) / RATE_HZ


def run(kernels: KernelSet, samples: np.ndarray, sta: int = 20, lta: int = 200) -> dict[str, Any]:
    """The statistics by name (one array over channels each) and the detrended window."""
    n, channels = samples.shape
    stats, detrended = np.full((channels, 6), -7.0), np.full((n, channels), -7.0)
    kernels.das_channel_stats(samples, sta, lta, 1e-12, stats, detrended)
    return {name: stats[:, k] for k, name in enumerate(DAS_STATS)} | {"detrended": detrended}


def test_a_constant_channel_gives_exact_zeros(kernels: KernelSet) -> None:
    samples = np.zeros((300, 3))
    samples[:, 1] = 1234.567
    samples[:, 2] = -0.1
    out = run(kernels, samples, 10, 100)
    assert not out["detrended"].any()
    for name in DAS_STATS:
        assert out[name].tolist() == [0.0, 0.0, 0.0], name


def test_a_quadratic_trend_is_measured_and_removed(kernels: KernelSet) -> None:
    rng = np.random.default_rng(1)
    noise = 0.1 * rng.standard_normal(len(T))
    trend = 5.0 + 3.0 * np.linspace(-1, 1, len(T)) ** 2 - 2.0 * np.linspace(-1, 1, len(T))
    out = run(kernels, np.stack([trend + noise, noise], axis=1))
    centred_trend = trend - trend.mean()
    assert out["trend_power"][0] == pytest.approx(np.mean(centred_trend**2), rel=0.01)
    assert out["trend_power"][1] < 1e-4
    assert out["power"][0] == pytest.approx(np.var(trend + noise), rel=1e-9)
    # What is left is the noise less its own (tiny) quadratic fit.
    fit = trend_basis(len(T)) @ (trend_basis(len(T)).T @ (noise - noise.mean()))
    np.testing.assert_allclose(out["detrended"][:, 0], noise - noise.mean() - fit, atol=1e-9)
    np.testing.assert_allclose(out["detrended"][:, 1], noise - noise.mean() - fit, atol=1e-12)


def test_a_sinusoid_has_its_amplitude_statistics(kernels: KernelSet) -> None:
    out = run(kernels, (2.0 * np.sin(2 * np.pi * 40 * T))[:, None])
    assert out["peak_to_peak"][0] == pytest.approx(4.0, rel=0.01)
    assert out["power"][0] == pytest.approx(2.0, rel=1e-3)
    assert out["kurtosis"][0] == pytest.approx(1.5, rel=0.03), "a sine's kurtosis is 3/2"
    assert out["crest"][0] == pytest.approx(np.sqrt(2), rel=0.03)


def test_kurtosis_and_crest_are_those_of_the_detrended_signal(kernels: KernelSet) -> None:
    x = np.random.default_rng(2).standard_normal((len(T), 3)) + np.linspace(0, 9, len(T))[:, None]
    x[100, 2] += 20
    out = run(kernels, x)
    d = out["detrended"]
    m2 = np.mean(d * d, axis=0) + 1e-12
    np.testing.assert_allclose(out["kurtosis"], np.mean(d**4, axis=0) / m2**2, rtol=1e-12)
    np.testing.assert_allclose(out["crest"], np.abs(d).max(axis=0) / np.sqrt(m2), rtol=1e-12)


def test_noise_is_gaussian_and_taps_are_not(kernels: KernelSet) -> None:
    x = np.random.default_rng(3).standard_normal((len(T), 2))
    x[::250, 1] += 30.0
    out = run(kernels, x)
    assert out["kurtosis"][0] == pytest.approx(3.0, abs=0.4)
    assert out["kurtosis"][1] > 20
    assert out["crest"][1] > out["crest"][0]


def test_sta_lta_is_the_numpy_trigger_on_the_detrended_signal(kernels: KernelSet) -> None:
    x = 0.1 * np.random.default_rng(4).standard_normal((len(T), 2))
    x[500, 1] = 10.0
    out = run(kernels, x)
    expected = sta_lta_max(out["detrended"], RATE_HZ)
    np.testing.assert_allclose(out["sta_lta_max"], expected, rtol=1e-9)
    assert out["sta_lta_max"][0] < 3.0
    assert out["sta_lta_max"][1] > 0.8 * 200 / 20, "a lone impulse nears lta / sta"


def test_float32_samples_give_the_statistics_of_their_float64_values(kernels: KernelSet) -> None:
    x = np.random.default_rng(5).standard_normal((500, 7)).astype(np.float32)
    single, double = run(kernels, x, 5, 50), run(kernels, x.astype(np.float64), 5, 50)
    for name, values in single.items():
        np.testing.assert_array_equal(values, double[name], err_msg=name)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_sample_makes_its_channel_nan_and_leaves_the_others_alone(
    kernels: KernelSet, bad: float
) -> None:
    x = np.random.default_rng(6).standard_normal((300, 4))
    clean = run(kernels, np.delete(x, 2, axis=1), 10, 100)
    x[123, 2] = bad
    out = run(kernels, x, 10, 100)
    for name, values in out.items():
        if name == "detrended":
            assert np.isnan(values[:, 2]).all()
            np.testing.assert_array_equal(np.delete(values, 2, axis=1), clean[name])
        else:
            assert np.isnan(values[2]), name
            np.testing.assert_array_equal(np.delete(values, 2), clean[name], err_msg=name)


def test_the_shortest_window_and_no_channels_are_valid(
    kernels: KernelSet, das_args: DasArgs
) -> None:
    args = das_args(n_samples=3, channels=2, sta_samples=1, lta_samples=3)
    kernels.das_channel_stats(**args)
    assert np.isfinite(args["stats"]).all()
    empty = das_args(n_samples=50, channels=0, sta_samples=2, lta_samples=50)
    kernels.das_channel_stats(**empty)
    assert empty["stats"].shape == (0, 6)


def test_read_only_samples_are_accepted_and_left_as_they_were(
    kernels: KernelSet, das_args: DasArgs
) -> None:
    args = das_args()
    before = args["samples"].copy()
    args["samples"].flags.writeable = False
    kernels.das_channel_stats(**args)
    np.testing.assert_array_equal(args["samples"], before)
    assert (args["stats"] != -7.0).all() and (args["detrended"] != -7.0).all()


def test_arguments_may_be_passed_by_position(kernels: KernelSet, das_args: DasArgs) -> None:
    args = das_args()
    kernels.das_channel_stats(*args.values())
    assert (args["stats"] != -7.0).all()


def test_concurrent_calls_from_threads_give_the_serial_results(kernels: KernelSet) -> None:
    """The native kernel runs without the GIL; each call keeps its own workspace."""
    windows = np.random.default_rng(7).standard_normal((16, 500, 12)).astype(np.float32)
    serial = [run(kernels, w, 10, 100)["sta_lta_max"] for w in windows]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda w: run(kernels, w, 10, 100)["sta_lta_max"], windows))
    for one, other in zip(serial, concurrent, strict=True):
        np.testing.assert_array_equal(one, other)
