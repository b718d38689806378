"""Per-channel features of a DAS window: spectral band powers, a slow-trend power, amplitude
statistics, STA/LTA, and how each channel stands out from the fibre and from its neighbours.

One home for the composition, so the fibre-sensing pipeline, its training script and the
accelerator's model pipelines compute identical features: the model sees what it was trained on.
Everything but the spectrum comes from one call to the `das_channel_stats` kernel
(`kernels`, native or its NumPy reference); the FFT band powers stay in NumPy.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

import kernels
from kernels import DasChannelStatsKernel

F64 = npt.NDArray[np.float64]
BANDS_HZ: tuple[tuple[float, float], ...] = (
    (1.0, 5.0),
    (5.0, 20.0),
    (20.0, 50.0),
    (50.0, 100.0),
    (100.0, 250.0),
)
"""Frequency bands of the spectral powers: footsteps and vehicles sit low, impacts broad, taps
high."""
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
    "trend_power",
    "power",
    "peak_to_peak",
    "kurtosis",
    "crest",
    "sta_lta_max",
)
"""log10 of each channel's own figures; the last six are the kernel's statistics, in its
order (`kernels.reference.DAS_STATS`)."""
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
_N_STATS = len(OWN_FEATURES) - len(BANDS_HZ)


@lru_cache(maxsize=16)
def _hann(n_samples: int) -> F64:
    w = np.hanning(n_samples)
    w.flags.writeable = False
    return w


@lru_cache(maxsize=16)
def _band_masks(n_samples: int, sample_rate_hz: float) -> F64:
    """`[n_freqs, n_bands]`: 1 where an rfft bin falls in a band of `BANDS_HZ`."""
    freqs = np.fft.rfftfreq(n_samples, 1.0 / sample_rate_hz)
    masks = np.stack([(freqs >= lo) & (freqs < hi) for lo, hi in BANDS_HZ], axis=1)
    out = masks.astype(np.float64)
    out.flags.writeable = False
    return out


def sta_lta_samples(sample_rate_hz: float) -> tuple[int, int]:
    """The STA and LTA windows in samples at this rate: at least 1, and the LTA the longer."""
    short = max(1, round(STA_S * sample_rate_hz))
    return short, max(short + 1, round(LTA_S * sample_rate_hz))


def _check(
    samples: npt.ArrayLike, sample_rate_hz: float
) -> npt.NDArray[np.float32] | npt.NDArray[np.float64]:
    """`samples` as the kernel takes them: float32 stays float32 (no copy), anything else
    becomes float64, C-contiguous either way."""
    x = np.asarray(samples)
    if x.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        x = x.astype(np.float64)
    if x.ndim != 2:
        raise ValueError(
            f"samples must be 2-dimensional [n_samples, n_channels], got {x.ndim} dimensions"
        )
    if not sample_rate_hz > 0:
        raise ValueError(f"sample_rate_hz must be > 0, got {sample_rate_hz}")
    if x.shape[0] <= round(LTA_S * sample_rate_hz) or x.shape[1] < 1:
        raise ValueError(
            f"samples must hold more than {round(LTA_S * sample_rate_hz)} samples (the LTA "
            f"window) and at least one channel, got shape {x.shape}"
        )
    return np.ascontiguousarray(x)


def band_powers(x: F64, sample_rate_hz: float) -> F64:
    """Mean-square power of each channel within each of `BANDS_HZ` (Hann-windowed periodogram,
    scaled so a sinusoid of amplitude A inside a band gives about A**2 / 2):
    `[n_channels, n_bands]`."""
    return _tapered_band_powers(x * _hann(x.shape[0])[:, None], sample_rate_hz)


def _tapered_band_powers(tapered: F64, sample_rate_hz: float) -> F64:
    """`band_powers` of a signal already multiplied by the Hann window."""
    n = tapered.shape[0]
    w = _hann(n)
    spectrum = np.fft.rfft(tapered, axis=0)
    # Squared in place: each large temporary costs more than the arithmetic (fresh pages).
    power = np.square(spectrum.real)
    power += np.square(spectrum.imag)
    masks = _band_masks(n, float(sample_rate_hz))
    result: F64 = (power.T @ masks) * (2.0 / (n * float(np.sum(w * w))))
    return result


def sta_lta_max(x: F64, sample_rate_hz: float, energy: F64 | None = None) -> F64:
    """Largest ratio of short-term to long-term mean energy per channel (trailing windows of
    `STA_S` and `LTA_S`, both ending at the same sample): about 1 for steady noise, up to
    `LTA_S / STA_S` for a lone impulse. `energy`, if given, is `x * x` already computed.

    `das_features` gets the same figure for the detrended channels from the kernel; this is
    for a signal on its own.
    """
    if energy is None:
        energy = x * x
    short, long = sta_lta_samples(sample_rate_hz)
    cum = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(energy, axis=0)])
    n = x.shape[0]
    sta = (cum[long:] - cum[long - short : n + 1 - short]) / short
    lta = (cum[long:] - cum[: n + 1 - long]) / long
    floor = 1e-3 * energy.mean(axis=0) + _FLOOR
    result: F64 = np.max(sta / (lta + floor), axis=0)
    return result


def neighbourhood_mean(values: F64, radius: int) -> F64:
    """Mean of each channel's row with its neighbours within `radius` channels (fewer at the
    edges)."""
    k = values.shape[0]
    cum = np.concatenate([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    idx = np.arange(k)
    lo, hi = np.maximum(idx - radius, 0), np.minimum(idx + radius + 1, k)
    result: F64 = (cum[hi] - cum[lo]) / (hi - lo)[:, None]
    return result


def das_features(
    samples: npt.ArrayLike, sample_rate_hz: float, *, kernel: DasChannelStatsKernel | None = None
) -> npt.NDArray[np.float32]:
    """Features of every channel of one window, in `FEATURE_NAMES` order.

    Args:
        samples: `[n_samples, n_channels]`, time-major, as the interrogator writes them.
            float32 and float64 are used as they are; other dtypes are converted to float64.
        sample_rate_hz: samples per second per channel.
        kernel: the `das_channel_stats` implementation (default: the one `kernels`
            selected).

    Returns:
        float32 `[n_channels, N_FEATURES]`. Powers are log10 mean-squares; the band powers,
        kurtosis, crest and STA/LTA are taken after removing each channel's quadratic trend,
        whose own power is `trend_power` (a slow pull on the fibre). A channel holding a NaN or
        infinite sample has NaN features, and so do every channel's `_rel`, `_near` and `_wide`
        features (the window's median is NaN); the pipeline's window decoder refuses such
        samples before they get here.
    """
    x = _check(samples, sample_rate_hz)
    n, channels = x.shape
    short, long = sta_lta_samples(sample_rate_hz)
    stats = np.empty((channels, _N_STATS))
    detrended = np.empty((n, channels))
    stats_kernel = kernels.das_channel_stats if kernel is None else kernel
    stats_kernel(x, short, long, _FLOOR, stats, detrended)
    # Tapered in place: `band_powers` would allocate a second window-sized array.
    np.multiply(detrended, _hann(n)[:, None], out=detrended)
    bands = _tapered_band_powers(detrended, sample_rate_hz)
    own = np.concatenate([bands, stats], axis=1)
    own = np.log10(np.maximum(own, _FLOOR))
    sources = own[:, : len(RELATIVE_SOURCES)]
    relative = sources - np.median(sources, axis=0)
    out = np.concatenate(
        [
            own,
            relative,
            neighbourhood_mean(relative, NEAR_RADIUS),
            neighbourhood_mean(relative, WIDE_RADIUS),
        ],
        axis=1,
    )
    return out.astype(np.float32)


def excess_power(features: npt.NDArray[np.float32]) -> F64:
    """How much each channel's power exceeds the window's median channel, as a multiple of it
    (0 for a channel at or under the median): the weights that locate an event within its
    span."""
    excess: F64 = np.maximum(np.power(10.0, features[:, POWER_REL].astype(np.float64)) - 1.0, 0.0)
    return excess
