"""Per-channel features of a DAS window: spectral band powers, a slow-trend power, amplitude
statistics, STA/LTA, and how each channel stands out from the fibre and from its neighbours.

Whole-window array functions with plain array signatures, so a native kernel can take the place of
`das_features` later with a NumPy reference to hold it to (the `accel/kernels/` pattern).
The same code builds training data and live features, so the model sees what it was trained on.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
BANDS_HZ: tuple[tuple[float, float], ...] = ((1.0, 5.0), (5.0, 20.0), (20.0, 50.0), (50.0, 100.0), (100.0, 250.0))
"""Frequency bands of the spectral powers: footsteps and vehicles sit low, impacts broad, taps high."""
STA_S = 0.02
"""Short-term average window of the STA/LTA trigger."""
LTA_S = 0.2
"""Long-term average window of the STA/LTA trigger."""
NEAR_RADIUS = 2
"""Channels either side averaged into the `_near` features (an impact's reach)."""
WIDE_RADIUS = 8
"""Channels either side averaged into the `_wide` features (a vehicle's or a strain's reach)."""
_FLOOR = 1e-12

OWN_FEATURES = (
    *(f"band_{lo:g}_{hi:g}hz" for lo, hi in BANDS_HZ),
    "trend_power", "power", "peak_to_peak", "kurtosis", "crest", "sta_lta_max",
)
"""log10 of each channel's own figures."""
RELATIVE_SOURCES = OWN_FEATURES[: len(BANDS_HZ) + 2]
"""The powers that are also given relative to the window's median channel (`_rel`), and
averaged over neighbouring channels (`_near`, `_wide`)."""
FEATURE_NAMES = (
    OWN_FEATURES
    + tuple(f"{name}_rel" for name in RELATIVE_SOURCES)
    + tuple(f"{name}_near" for name in RELATIVE_SOURCES)
    + tuple(f"{name}_wide" for name in RELATIVE_SOURCES)
)
N_FEATURES = len(FEATURE_NAMES)
POWER_REL = FEATURE_NAMES.index("power_rel")
"""Column of a channel's power over the window's median channel (log10), used to locate events."""


@lru_cache(maxsize=16)
def _trend_basis(n_samples: int) -> F64:
    """Orthonormal columns spanning a linear and a quadratic trend, orthogonal to a constant."""
    t = np.linspace(-1.0, 1.0, n_samples)
    q, _ = np.linalg.qr(np.stack([t, t * t - np.mean(t * t)], axis=1))
    q.flags.writeable = False
    return q


@lru_cache(maxsize=16)
def _hann(n_samples: int) -> F64:
    w = np.hanning(n_samples)
    w.flags.writeable = False
    return w


def _check(samples: npt.ArrayLike, sample_rate_hz: float) -> F64:
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"samples must be 2-dimensional [n_samples, n_channels], got {x.ndim} dimensions")
    if not sample_rate_hz > 0:
        raise ValueError(f"sample_rate_hz must be > 0, got {sample_rate_hz}")
    if x.shape[0] <= round(LTA_S * sample_rate_hz) or x.shape[1] < 1:
        raise ValueError(
            f"samples must hold more than {round(LTA_S * sample_rate_hz)} samples (the LTA window) and "
            f"at least one channel, got shape {x.shape}"
        )
    return x


def band_powers(x: F64, sample_rate_hz: float) -> F64:
    """Mean-square power of each channel within each of `BANDS_HZ` (Hann-windowed periodogram,
    scaled so a sinusoid of amplitude A inside a band gives about A**2 / 2): `[n_channels, n_bands]`."""
    n = x.shape[0]
    w = _hann(n)
    spectrum = np.fft.rfft(x * w[:, None], axis=0)
    power = spectrum.real**2 + spectrum.imag**2
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate_hz)
    masks = np.stack([(freqs >= lo) & (freqs < hi) for lo, hi in BANDS_HZ], axis=1).astype(np.float64)
    return (power.T @ masks) * (2.0 / (n * float(np.sum(w * w))))


def sta_lta_max(x: F64, sample_rate_hz: float, energy: F64 | None = None) -> F64:
    """Largest ratio of short-term to long-term mean energy per channel (trailing windows of
    `STA_S` and `LTA_S`, both ending at the same sample): about 1 for steady noise, up to
    `LTA_S / STA_S` for a lone impulse. `energy`, if given, is `x * x` already computed."""
    if energy is None:
        energy = x * x
    short = max(1, round(STA_S * sample_rate_hz))
    long = max(short + 1, round(LTA_S * sample_rate_hz))
    cum = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(energy, axis=0)])
    n = x.shape[0]
    sta = (cum[long:] - cum[long - short : n + 1 - short]) / short
    lta = (cum[long:] - cum[: n + 1 - long]) / long
    floor = 1e-3 * energy.mean(axis=0) + _FLOOR
    return np.max(sta / (lta + floor), axis=0)


def neighbourhood_mean(values: F64, radius: int) -> F64:
    """Mean of each channel's row with its neighbours within `radius` channels (fewer at the edges)."""
    k = values.shape[0]
    cum = np.concatenate([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    idx = np.arange(k)
    lo, hi = np.maximum(idx - radius, 0), np.minimum(idx + radius + 1, k)
    return (cum[hi] - cum[lo]) / (hi - lo)[:, None]


def das_features(samples: npt.ArrayLike, sample_rate_hz: float) -> npt.NDArray[np.float32]:
    """Features of every channel of one window, in `FEATURE_NAMES` order.

    Args:
        samples: `[n_samples, n_channels]`, time-major, as the interrogator writes them.
        sample_rate_hz: samples per second per channel.

    Returns:
        float32 `[n_channels, N_FEATURES]`. Powers are log10 mean-squares; the band powers,
        kurtosis, crest and STA/LTA are taken after removing each channel's quadratic trend,
        whose own power is `trend_power` (a slow pull on the fibre).
    """
    x = _check(samples, sample_rate_hz)
    x = x - x.mean(axis=0)
    n = x.shape[0]
    basis = _trend_basis(n)
    coef = basis.T @ x
    detrended = x - basis @ coef
    squared = detrended * detrended
    m2 = np.mean(squared, axis=0) + _FLOOR
    own = np.empty((x.shape[1], len(OWN_FEATURES)))
    nb = len(BANDS_HZ)
    own[:, :nb] = band_powers(detrended, sample_rate_hz)
    own[:, nb] = np.sum(coef**2, axis=0) / n
    own[:, nb + 1] = np.mean(x * x, axis=0)
    own[:, nb + 2] = np.ptp(x, axis=0)
    own[:, nb + 3] = np.mean(squared * squared, axis=0) / (m2 * m2)
    own[:, nb + 4] = np.max(np.abs(detrended), axis=0) / np.sqrt(m2)
    own[:, nb + 5] = sta_lta_max(detrended, sample_rate_hz, squared)
    own = np.log10(np.maximum(own, _FLOOR))
    sources = own[:, : len(RELATIVE_SOURCES)]
    relative = sources - np.median(sources, axis=0)
    out = np.concatenate(
        [own, relative, neighbourhood_mean(relative, NEAR_RADIUS), neighbourhood_mean(relative, WIDE_RADIUS)],
        axis=1,
    )
    return out.astype(np.float32)


def excess_power(features: npt.NDArray[np.float32]) -> F64:
    """How much each channel's power exceeds the window's median channel, as a multiple of it
    (0 for a channel at or under the median): the weights that locate an event within its span."""
    return np.maximum(np.power(10.0, features[:, POWER_REL].astype(np.float64)) - 1.0, 0.0)
