"""The input contract `fiber.das_window.v1`: one window of a DAS interrogator's traces for a
stretch of one fibre, checked field by field and decoded into a float32 array.

`samples` is base64 (RFC 4648, with padding) of little-endian float32 values, row-major
`[n_samples, n_channels]`: all channels of the first time sample, then of the second, and so on.
Channel `i` of the window is channel `first_channel + i` of the fibre, at
`(first_channel + i) * channel_spacing_m` metres from the interrogator.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.events import SchemaViolation

SCHEMA = "fiber.das_window.v1"
MIN_CHANNELS = 16
"""Fewest channels per window: the classifier compares each channel with its neighbours."""
MAX_CHANNELS = 256
MIN_SAMPLES = 256
MAX_SAMPLES = 8192
MAX_VALUES = 131_072
"""Most `n_samples * n_channels` per window: 512 KiB of float32, about 700 KB of JSON, which
stays under the 1 MiB record limit of the pipelines and of Kafka's default producer."""
MIN_SAMPLE_RATE_HZ = 500.0
"""Slowest sampling accepted: the feature bands reach 250 Hz."""
MAX_SAMPLE_RATE_HZ = 20_000.0
MAX_CHANNEL_SPACING_M = 100.0
MAX_FIRST_CHANNEL = 10_000_000
MAX_FIBER_ID_CHARS = 128


@dataclass(frozen=True)
class DasWindow:
    """A decoded window; `samples` is float32 `[n_samples, n_channels]`, read-only."""

    fiber_id: str
    first_channel: int
    channel_spacing_m: float
    sample_rate_hz: float
    samples: npt.NDArray[np.float32]

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate_hz

    def position_m(self, channel_index: float) -> float:
        """Distance along the fibre of a channel of this window (fractional indices allowed)."""
        return (self.first_channel + channel_index) * self.channel_spacing_m


def _integer(event: dict[str, Any], name: str, low: int, high: int, unit: str) -> int:
    value = event.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaViolation(f"field {name!r} must be an integer, got {value!r:.80}")
    if not low <= value <= high:
        raise SchemaViolation(f"field {name!r} is {value}, the limits are {low} to {high} {unit}")
    return value


def _number(event: dict[str, Any], name: str, low: float, high: float, unit: str) -> float:
    value = event.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SchemaViolation(f"field {name!r} must be a finite number, got {value!r:.80}")
    if not low <= value <= high:
        raise SchemaViolation(f"field {name!r} is {value}, the limits are {low:g} to {high:g} {unit}")
    return float(value)


def parse_das_window(event: dict[str, Any]) -> DasWindow:
    """The window an event carries (its envelope already checked).

    Raises:
        SchemaViolation: naming the first field at fault and the limit it breaks.
    """
    fiber_id = event.get("fiber_id")
    if not isinstance(fiber_id, str) or not fiber_id or len(fiber_id) > MAX_FIBER_ID_CHARS:
        raise SchemaViolation(
            f"field 'fiber_id' must be a non-empty string of at most {MAX_FIBER_ID_CHARS} characters, "
            f"got {fiber_id!r:.80}"
        )
    first_channel = _integer(event, "first_channel", 0, MAX_FIRST_CHANNEL, "")
    spacing_m = _number(event, "channel_spacing_m", 0.0, MAX_CHANNEL_SPACING_M, "metres")
    if spacing_m <= 0:
        raise SchemaViolation(f"field 'channel_spacing_m' must be above 0 metres, got {spacing_m}")
    rate_hz = _number(event, "sample_rate_hz", MIN_SAMPLE_RATE_HZ, MAX_SAMPLE_RATE_HZ, "Hz")
    n_channels = _integer(event, "n_channels", MIN_CHANNELS, MAX_CHANNELS, "channels per window")
    n_samples = _integer(event, "n_samples", MIN_SAMPLES, MAX_SAMPLES, "samples per window")
    if n_samples * n_channels > MAX_VALUES:
        raise SchemaViolation(
            f"fields 'n_samples' x 'n_channels' are {n_samples} x {n_channels} = {n_samples * n_channels} "
            f"values, the limit is {MAX_VALUES} values per window"
        )
    samples = _decode_samples(event.get("samples"), n_samples, n_channels)
    return DasWindow(fiber_id, first_channel, spacing_m, rate_hz, samples)


def _decode_samples(text: object, n_samples: int, n_channels: int) -> npt.NDArray[np.float32]:
    if not isinstance(text, str):
        raise SchemaViolation(f"field 'samples' must be a base64 string, got {type(text).__name__}")
    expected = n_samples * n_channels * 4
    if len(text) > 4 * ((expected + 2) // 3):
        raise SchemaViolation(
            f"field 'samples' has {len(text)} base64 characters, n_samples*n_channels*4 = {expected} "
            f"bytes need {4 * ((expected + 2) // 3)}"
        )
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SchemaViolation(f"field 'samples' is not valid base64: {exc}") from None
    if len(raw) != expected:
        raise SchemaViolation(
            f"field 'samples' decodes to {len(raw)} bytes, expected n_samples*n_channels*4 = "
            f"{n_samples}*{n_channels}*4 = {expected} (little-endian float32)"
        )
    samples = np.frombuffer(raw, dtype="<f4").reshape(n_samples, n_channels)
    finite = np.isfinite(samples)
    if not finite.all():
        bad = np.argwhere(~finite)
        t, c = (int(v) for v in bad[0])
        raise SchemaViolation(
            f"field 'samples' holds {len(bad)} non-finite values (NaN or infinity), the first at "
            f"sample {t}, channel {c}; every value must be finite"
        )
    return samples.astype(np.float32, copy=False)
