"""DAS features: band powers land in the right band, STA/LTA fires on impulses, trends and
amplitude statistics are measured per channel, and channels are compared with their fibre."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.fiber_sensing.features import (
    BANDS_HZ,
    FEATURE_NAMES,
    LTA_S,
    N_FEATURES,
    STA_S,
    band_powers,
    das_features,
    excess_power,
    neighbourhood_mean,
    sta_lta_max,
)

RATE_HZ = 1000.0
T = np.arange(1000) / RATE_HZ


def _feature(features: np.ndarray, name: str) -> np.ndarray:
    return features[:, FEATURE_NAMES.index(name)]


def _noise(channels: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((len(T), channels))


def test_features_have_one_float32_row_per_channel_and_a_name_per_column() -> None:
    features = das_features(_noise(20).astype(np.float32), RATE_HZ)
    assert features.shape == (20, N_FEATURES) and features.dtype == np.float32
    assert len(set(FEATURE_NAMES)) == N_FEATURES
    assert np.isfinite(features).all()


@pytest.mark.parametrize(("freq_hz", "band"), [(3.0, 0), (12.0, 1), (35.0, 2), (75.0, 3), (180.0, 4)])
def test_a_sinusoid_puts_its_power_in_its_own_band(freq_hz: float, band: int) -> None:
    x = (2.0 * np.sin(2 * np.pi * freq_hz * T))[:, None]
    powers = band_powers(x, RATE_HZ)[0]
    assert powers[band] == pytest.approx(2.0, rel=0.05), "amplitude A gives A**2 / 2"
    others = np.delete(powers, band)
    assert others.max() < 0.01 * powers[band]
    lo, hi = BANDS_HZ[band]
    assert lo <= freq_hz < hi


def test_band_powers_do_not_depend_on_the_sample_rate() -> None:
    fast = np.arange(2000) / 2000.0
    slow_power = band_powers(np.sin(2 * np.pi * 35 * T)[:, None], RATE_HZ)[0]
    fast_power = band_powers(np.sin(2 * np.pi * 35 * fast)[:, None], 2000.0)[0]
    np.testing.assert_allclose(fast_power[2], slow_power[2], rtol=0.02)


def test_sta_lta_spikes_on_an_impulse_and_stays_low_on_steady_noise() -> None:
    x = 0.1 * _noise(2)
    x[500, 1] = 10.0
    ratios = sta_lta_max(x, RATE_HZ)
    assert ratios[0] < 3.0
    assert ratios[1] > 0.8 * LTA_S / STA_S


def test_a_slow_drift_shows_as_trend_power_not_as_band_power() -> None:
    x = 0.1 * _noise(2)
    x[:, 1] += 20.0 * np.sin(2 * np.pi * 0.2 * T + 0.3)
    features = das_features(x, RATE_HZ)
    trend = _feature(features, "trend_power")
    assert trend[1] > trend[0] + 3, "the drift is a thousand times the noise's power"
    for lo, hi in BANDS_HZ:
        name = f"band_{lo:g}_{hi:g}hz"
        assert _feature(features, name)[1] < trend[1] - 3, f"{name} holds under 1/1000 of the drift"


def test_kurtosis_and_crest_are_gaussian_for_noise_and_large_for_taps() -> None:
    x = _noise(2, seed=3)
    x[::250, 1] += 30.0
    features = das_features(x, RATE_HZ)
    kurtosis = 10 ** _feature(features, "kurtosis")
    assert kurtosis[0] == pytest.approx(3.0, abs=0.4)
    assert kurtosis[1] > 20
    assert _feature(features, "crest")[1] > _feature(features, "crest")[0]


def test_peak_to_peak_and_power_measure_the_raw_amplitude() -> None:
    x = np.zeros((1000, 1))
    x[:, 0] = np.sin(2 * np.pi * 40 * T)
    features = das_features(x, RATE_HZ)
    assert 10 ** _feature(features, "peak_to_peak")[0] == pytest.approx(2.0, rel=0.01)
    assert 10 ** _feature(features, "power")[0] == pytest.approx(0.5, rel=0.02)


def test_a_loud_channel_stands_out_from_the_window_median_and_its_neighbourhood() -> None:
    x = _noise(32, seed=4)
    x[:, 10] *= 10.0
    features = das_features(x, RATE_HZ)
    rel = _feature(features, "power_rel")
    assert rel[10] == pytest.approx(2.0, abs=0.15), "a hundred times the median channel's power"
    assert abs(np.median(rel)) < 1e-6
    near, wide = _feature(features, "power_near"), _feature(features, "power_wide")
    assert near[10] == pytest.approx(rel[10] / 5, abs=0.1)
    assert wide[10] < near[10]
    assert excess_power(features)[10] == pytest.approx(99.0, rel=0.4)
    assert excess_power(features).min() >= 0


def test_neighbourhood_means_average_fewer_channels_at_the_edges() -> None:
    values = np.arange(6, dtype=np.float64)[:, None]
    np.testing.assert_allclose(neighbourhood_mean(values, 1)[:, 0], [0.5, 1, 2, 3, 4, 4.5])


@pytest.mark.parametrize(
    ("samples", "rate", "message"),
    [
        (np.zeros(1000), RATE_HZ, "2-dimensional"),
        (np.zeros((100, 4)), RATE_HZ, "LTA window"),
        (np.zeros((1000, 4)), 0.0, "sample_rate_hz must be > 0"),
    ],
)
def test_bad_arguments_are_refused_naming_them(samples: np.ndarray, rate: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        das_features(samples, rate)


def _features_as_trained(x: np.ndarray, rate_hz: float) -> np.ndarray:
    """The pure-NumPy composition the shipped model was trained on, before the kernel took it
    over (QR trend basis, full-array passes), kept as the oracle for the kernel-based one."""
    x = x.astype(np.float64)
    x = x - x.mean(axis=0)
    n = x.shape[0]
    t = np.linspace(-1.0, 1.0, n)
    basis, _ = np.linalg.qr(np.stack([t, t * t - np.mean(t * t)], axis=1))
    coef = basis.T @ x
    detrended = x - basis @ coef
    squared = detrended * detrended
    m2 = np.mean(squared, axis=0) + 1e-12
    short, long = max(1, round(STA_S * rate_hz)), max(2, round(LTA_S * rate_hz))
    cum = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(squared, axis=0)])
    sta = (cum[long:] - cum[long - short : n + 1 - short]) / short
    lta = (cum[long:] - cum[: n + 1 - long]) / long
    own = np.concatenate(
        [
            band_powers(detrended, rate_hz),
            np.stack(
                [
                    np.sum(coef**2, axis=0) / n,
                    np.mean(x * x, axis=0),
                    np.ptp(x, axis=0),
                    np.mean(squared * squared, axis=0) / (m2 * m2),
                    np.max(np.abs(detrended), axis=0) / np.sqrt(m2),
                    np.max(sta / (lta + 1e-3 * np.mean(squared, axis=0) + 1e-12), axis=0),
                ],
                axis=1,
            ),
        ],
        axis=1,
    )
    own = np.log10(np.maximum(own, 1e-12))
    relative = own[:, :7] - np.median(own[:, :7], axis=0)
    return np.concatenate(
        [own, relative, neighbourhood_mean(relative, 2), neighbourhood_mean(relative, 8)], axis=1
    ).astype(np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_features_are_those_the_model_was_trained_on_to_float32_rounding(dtype: type) -> None:
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1000, 48)) * rng.uniform(0.001, 100, 48)
    x[:, 1] += 20.0 * np.sin(2 * np.pi * 0.2 * T + 0.3)
    x[:, 2] += 1e4
    x[::250, 3] += 30.0
    x[:, 4] = 5.0
    # An exact polynomial would detrend to rounding noise, whose crest and kurtosis depend on
    # summation order in any implementation; a real slow ramp carries noise.
    x[:, 5] = np.linspace(-3, 3, len(T)) + 1e-3 * rng.standard_normal(len(T))
    x[500:520, 6] += 8 * np.sin(2 * np.pi * 120 * T[500:520])
    x = x.astype(dtype)
    np.testing.assert_allclose(das_features(x, RATE_HZ), _features_as_trained(x, RATE_HZ), rtol=0, atol=1e-5)
