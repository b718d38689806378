"""Synthetic DAS (phase-OTDR) windows (`fiber.das_window.v1`): fibre segments of many channels
with coloured noise, distant-traffic rumble and mains hum, and labelled events (walking, vehicle,
digging, knocking, cable strain) at a channel, with their spatial spread and ground-wave lag.

Samples are strain rate in arbitrary units (a quiet fibre reads about 1 RMS), laid out as the
interrogator writes them: `[n_samples, n_channels]` float32, time-major.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from edgectl.synthetic import LabelledEvent

SCHEMA = "fiber.das_window.v1"
EVENT_KINDS = ("walking", "vehicle", "digging", "knocking", "cable_strain")
_GROUND_WAVE_M_S = 300.0
"""Speed of the ground wave that carries an impact from channel to channel (loose soil)."""
Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class DasEventTruth:
    """Where an event really is in one window, in absolute channel numbers.

    `channel` is its centre at the middle of the window; `core` the channels (inclusive) where its
    amplitude reaches half its peak at some time in the window; `reach` where it reaches a tenth of
    its peak or half the fibre's noise level, whichever is farther out.
    """

    kind: str
    channel: int
    core: tuple[int, int]
    reach: tuple[int, int]


@dataclass(frozen=True)
class SyntheticDasWindow:
    """One generated window: the event as produced to Kafka, its samples, and its ground truth."""

    labelled: LabelledEvent
    samples: Samples
    truth: DasEventTruth | None


@dataclass
class _Event:
    kind: str
    centre: float
    width: float
    amplitude: float
    velocity_ch_s: float
    windows_left: int


@dataclass
class _Fibre:
    fiber_id: str
    first_channel: int
    noise_level: float
    pink_alpha: float
    gains: npt.NDArray[np.float64]
    rumble: npt.NDArray[np.float64]
    hum: npt.NDArray[np.float64]
    event: _Event | None = None


def rfc3339_ms(ts: datetime) -> str:
    """UTC timestamp as RFC 3339 with milliseconds and a `Z` suffix."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def encode_samples(samples: Samples) -> str:
    """The `samples` field: base64 of little-endian float32, row-major `[n_samples, n_channels]`."""
    return base64.b64encode(np.ascontiguousarray(samples, dtype="<f4").tobytes()).decode("ascii")


class DasWindowGenerator:
    """One window per fibre per round, time advancing `window_s` per round.

    Example: `DasWindowGenerator("kr-seoul", "SEL-GN-0042", fibers=4, seed=7).next_round()` gives
    four labelled windows of 64 channels x 1 s at 1 kHz (about 340 KB of JSON each, well under
    Kafka's default 1 MB request size). Labels read `"digging@1093"`: the kind and the absolute
    channel of the event's centre; `None` for a quiet window.

    Args:
        event_rate: chance per fibre and window that an event starts when none is under way;
            an event lasts 1-4 windows (a vehicle keeps driving along the fibre meanwhile).
        kinds: the event kinds to draw from (all of `EVENT_KINDS` by default).
    """

    def __init__(
        self,
        region: str,
        site_id: str,
        *,
        fibers: int = 4,
        channels: int = 64,
        sample_rate_hz: float = 1000.0,
        window_s: float = 1.0,
        channel_spacing_m: float = 4.0,
        seed: int = 0,
        event_rate: float = 0.2,
        kinds: tuple[str, ...] = EVENT_KINDS,
        start: datetime | None = None,
    ) -> None:
        if fibers < 1 or channels < 16:
            raise ValueError(f"need fibers >= 1 and channels >= 16, got {fibers} and {channels}")
        if not 0 <= event_rate <= 1:
            raise ValueError(f"event_rate must be within [0, 1], got {event_rate}")
        if unknown := set(kinds) - set(EVENT_KINDS):
            raise ValueError(f"unknown event kinds {sorted(unknown)}; known: {EVENT_KINDS}")
        self.region, self.site_id = region, site_id
        self.channels, self.sample_rate_hz, self.window_s = channels, sample_rate_hz, window_s
        self.channel_spacing_m, self.event_rate, self.kinds = channel_spacing_m, event_rate, kinds
        self.n_samples = round(sample_rate_hz * window_s)
        self.now = start or datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
        self._rng = np.random.default_rng(seed)
        self._t = np.arange(self.n_samples) / sample_rate_hz
        self._idx = np.arange(channels, dtype=np.float64)
        self.fibres = [self._new_fibre(i) for i in range(fibers)]

    def _new_fibre(self, i: int) -> _Fibre:
        rng, k = self._rng, self.channels
        rumble = np.zeros(k)
        for _ in range(2):
            centre, width = rng.uniform(0, k), rng.uniform(15, 40)
            rumble += rng.uniform(0.2, 0.6) * np.exp(-0.5 * ((self._idx - centre) / width) ** 2)
        hum = np.zeros(k)
        if rng.random() < 0.5:
            lo = int(rng.integers(0, k // 2))
            hum[lo : lo + int(rng.integers(k // 5, k // 2))] = rng.uniform(0.3, 1.0)
        return _Fibre(
            fiber_id=f"{self.site_id}-F{i + 1:02d}",
            first_channel=int(rng.integers(0, 40)) * k,
            noise_level=float(rng.uniform(0.6, 1.6)),
            pink_alpha=float(rng.uniform(0.5, 1.2)),
            gains=np.exp(rng.normal(0, 0.15, k)),
            rumble=rumble,
            hum=hum,
        )

    def next_round(self) -> list[LabelledEvent]:
        """One window for every fibre, then advance the clock by one window."""
        return [w.labelled for w in self.next_windows()]

    def next_windows(self) -> list[SyntheticDasWindow]:
        """Like `next_round`, with each window's samples and ground truth (for training)."""
        out = [self._window(fibre) for fibre in self.fibres]
        self.now += timedelta(seconds=self.window_s)
        return out

    def _window(self, fibre: _Fibre) -> SyntheticDasWindow:
        rng = self._rng
        x = self._background(fibre)
        if fibre.event is None and rng.random() < self.event_rate:
            fibre.event = self._new_event(str(rng.choice(self.kinds)))
        truth = None
        event = fibre.event
        if event is not None:
            x += self._event_signal(event) * fibre.noise_level
            truth = self._truth(fibre, event)
            event.centre += event.velocity_ch_s * self.window_s
            event.windows_left -= 1
            if event.windows_left <= 0 or not 0 <= event.centre < self.channels:
                fibre.event = None
        samples = x.astype(np.float32)
        body = {
            "schema": SCHEMA,
            "event_id": str(uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | int(rng.integers(0, 2**63)), version=4)),
            "region": self.region,
            "site_id": self.site_id,
            "ts": rfc3339_ms(self.now),
            "fiber_id": fibre.fiber_id,
            "first_channel": fibre.first_channel,
            "channel_spacing_m": self.channel_spacing_m,
            "sample_rate_hz": self.sample_rate_hz,
            "n_channels": self.channels,
            "n_samples": self.n_samples,
            "samples": encode_samples(samples),
        }
        label = None if truth is None else f"{truth.kind}@{truth.channel}"
        return SyntheticDasWindow(LabelledEvent(body, fibre.fiber_id, label), samples, truth)

    def _band_noise(self, columns: int, lo_hz: float, hi_hz: float) -> npt.NDArray[np.float64]:
        """Unit-RMS noise confined to [lo_hz, hi_hz], one independent column per channel."""
        spec = np.fft.rfft(self._rng.standard_normal((self.n_samples, columns)), axis=0)
        freqs = np.fft.rfftfreq(self.n_samples, 1 / self.sample_rate_hz)
        spec[(freqs < lo_hz) | (freqs > hi_hz)] = 0
        x = np.fft.irfft(spec, self.n_samples, axis=0)
        scaled: npt.NDArray[np.float64] = x / np.maximum(x.std(axis=0, keepdims=True), 1e-12)
        return scaled

    def _background(self, fibre: _Fibre) -> npt.NDArray[np.float64]:
        rng, n, k, t = self._rng, self.n_samples, self.channels, self._t
        freqs = np.fft.rfftfreq(n, 1 / self.sample_rate_hz)
        shaping = np.maximum(freqs, freqs[1]) ** (-fibre.pink_alpha / 2)
        pink = np.fft.irfft(np.fft.rfft(rng.standard_normal((n, k)), axis=0) * shaping[:, None], n, axis=0)
        pink /= pink.std(axis=0, keepdims=True)
        x = 0.6 * pink + 0.8 * rng.standard_normal((n, k))
        x += 0.25 * self._band_noise(1, 0.5, 5.0)  # laser phase noise, common to every channel
        x += self._band_noise(k, 5.0, 25.0) * fibre.rumble  # distant road traffic
        phase = rng.uniform(0, 2 * np.pi)
        mains = np.sin(2 * np.pi * 60.0 * t + phase) + 0.3 * np.sin(2 * np.pi * 120.0 * t + 2 * phase)
        x += mains[:, None] * fibre.hum
        return x * (fibre.noise_level * fibre.gains)

    def _new_event(self, kind: str) -> _Event:
        rng = self._rng
        width, amplitude = {
            "walking": ((1.5, 3.0), (5.0, 12.0)),
            "vehicle": ((4.0, 7.0), (3.0, 10.0)),
            "digging": ((2.0, 4.0), (12.0, 35.0)),
            "knocking": ((0.8, 1.5), (10.0, 30.0)),
            "cable_strain": ((6.0, 14.0), (15.0, 50.0)),
        }[kind]
        velocity = rng.uniform(1.0, 4.0) * rng.choice([-1.0, 1.0]) if kind == "vehicle" else 0.0
        return _Event(
            kind=kind,
            centre=float(rng.uniform(4, self.channels - 4)),
            width=float(rng.uniform(*width)),
            amplitude=float(rng.uniform(*amplitude)),
            velocity_ch_s=float(velocity),
            windows_left=int(rng.integers(1, 5)),
        )

    def _centre_track(self, event: _Event) -> npt.NDArray[np.float64]:
        """The event's centre channel at every sample (it moves only for vehicles)."""
        return event.centre + event.velocity_ch_s * (self._t - self.window_s / 2)

    def _impulses(self, event: _Event, onsets: npt.NDArray[np.float64], freq_hz: tuple[float, float],
                  decay_s: tuple[float, float], noisy: bool) -> npt.NDArray[np.float64]:
        """Decaying impacts at `onsets`, reaching each channel later the farther it is."""
        rng, t = self._rng, self._t[:, None]
        distance = np.abs(self._idx - event.centre)
        profile = np.exp(-0.5 * (distance / event.width) ** 2)
        lag_s = distance * self.channel_spacing_m / _GROUND_WAVE_M_S
        x = np.zeros((self.n_samples, self.channels))
        for onset in onsets:
            tau = t - (onset + lag_s)
            decay, f0 = rng.uniform(*decay_s), rng.uniform(*freq_hz)
            envelope = np.where(tau >= 0, np.exp(-np.maximum(tau, 0) / decay), 0.0)
            ring = np.sin(2 * np.pi * f0 * tau)
            if noisy:
                ring = 0.6 * ring + 0.8 * self._band_noise(self.channels, 5.0, self.sample_rate_hz / 2)
            x += rng.uniform(0.7, 1.0) * envelope * ring
        return x * profile

    def _event_signal(self, event: _Event) -> npt.NDArray[np.float64]:
        rng, t, w = self._rng, self._t, self.window_s
        if event.kind == "walking":
            cadence = rng.uniform(1.6, 2.4)
            onsets = np.arange(rng.uniform(0, 1 / cadence), w, 1 / cadence)
            onsets = onsets + rng.normal(0, 0.02, onsets.size)
            x = self._impulses(event, onsets, (10.0, 35.0), (0.03, 0.06), noisy=False)
        elif event.kind == "digging":
            onsets = np.arange(rng.uniform(0, 0.3), w, rng.uniform(0.35, 0.8))
            x = self._impulses(event, onsets, (15.0, 40.0), (0.03, 0.08), noisy=True)
        elif event.kind == "knocking":
            onsets = np.cumsum(rng.uniform(0.08, 0.3, size=8)) - 0.05
            x = self._impulses(event, onsets[onsets < w], (110.0, 230.0), (0.004, 0.010), noisy=False)
        elif event.kind == "vehicle":
            d = self._idx[None, :] - self._centre_track(event)[:, None]
            engine = np.sin(2 * np.pi * rng.uniform(12, 30) * t + rng.uniform(0, 2 * np.pi))
            source = 0.5 * self._band_noise(1, 2.0, 40.0) + 0.8 * self._band_noise(self.channels, 2.0, 40.0)
            x = (source + 0.5 * engine[:, None]) * np.exp(-0.5 * (d / event.width) ** 2)
        else:  # cable_strain: a slow, coherent pull on a long stretch of fibre
            drift = np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 2 * np.pi))
            drift += 0.05 * self._band_noise(1, 1.0, 3.0)[:, 0]
            x = drift[:, None] * np.exp(-0.5 * ((self._idx - event.centre) / event.width) ** 2)[None, :]
        return x * event.amplitude

    def _truth(self, fibre: _Fibre, event: _Event) -> DasEventTruth:
        track = self._centre_track(event)
        lo, hi = float(track.min()), float(track.max())

        def span(level: float) -> tuple[int, int]:
            half = event.width * np.sqrt(-2 * np.log(level))
            first = max(0, int(np.ceil(lo - half)))
            last = min(self.channels - 1, int(np.floor(hi + half)))
            return fibre.first_channel + first, fibre.first_channel + last

        middle = int(np.clip(round(event.centre), 0, self.channels - 1))
        # Strong events stay visible far out: the fringe ends where the event falls to half the
        # fibre's noise level, or to a tenth of its peak if that is farther out.
        return DasEventTruth(event.kind, fibre.first_channel + middle, span(0.5), span(min(0.1, 0.5 / event.amplitude)))
