"""Synthetic DAS windows look like an interrogator's: the contract's envelope and sizes, coloured
noise with traffic rumble and mains hum, and each event's own signature at its labelled channel."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import orjson
import pytest

from edgectl.synthetic.das import EVENT_KINDS, DasWindowGenerator, SyntheticDasWindow
from pipelines.events import MAX_EVENT_BYTES
from pipelines.fiber_sensing.features import band_powers
from pipelines.fiber_sensing.window import parse_das_window

KAFKA_DEFAULT_MAX_REQUEST_BYTES = 1_048_576


def _windows(kind: str, count: int = 12, seed: int = 1) -> list[SyntheticDasWindow]:
    generator = DasWindowGenerator("kr-seoul", "S1", fibers=count, seed=seed, event_rate=1.0, kinds=(kind,))
    return generator.next_windows()


def _excess(window: SyntheticDasWindow) -> np.ndarray:
    """Each channel's power over the window's median channel."""
    power = np.mean((window.samples - window.samples.mean(axis=0)) ** 2, axis=0)
    return power / np.median(power)


def test_every_fibre_sends_one_window_per_round_with_the_envelope_and_a_fitting_size() -> None:
    generator = DasWindowGenerator("kr-seoul", "SEL-GN-0042", fibers=3, seed=2)
    first = generator.next_round()
    assert [e.key for e in first] == ["SEL-GN-0042-F01", "SEL-GN-0042-F02", "SEL-GN-0042-F03"]
    for labelled in first:
        event = labelled.event
        assert event["schema"] == "fiber.das_window.v1" and event["region"] == "kr-seoul"
        assert event["site_id"] == "SEL-GN-0042" and event["ts"].endswith("Z") and event["fiber_id"] == labelled.key
        assert (event["n_samples"], event["n_channels"], event["sample_rate_hz"]) == (1000, 64, 1000.0)
        assert event["first_channel"] % 64 == 0
        size = len(orjson.dumps(event))
        assert 300_000 < size < min(MAX_EVENT_BYTES, KAFKA_DEFAULT_MAX_REQUEST_BYTES) // 2
    later = generator.next_round()[0].event["ts"]
    assert (datetime.fromisoformat(later) - datetime.fromisoformat(first[0].event["ts"])).total_seconds() == 1.0
    assert len({e.event["event_id"] for e in first}) == 3


def test_the_same_seed_gives_the_same_windows() -> None:
    a = DasWindowGenerator("kr-seoul", "S1", fibers=2, seed=9, event_rate=0.5).next_round()
    b = DasWindowGenerator("kr-seoul", "S1", fibers=2, seed=9, event_rate=0.5).next_round()
    assert [orjson.dumps(x.event) for x in a] == [orjson.dumps(y.event) for y in b]


def test_labels_name_the_event_and_its_channel_and_quiet_windows_have_none() -> None:
    quiet = DasWindowGenerator("kr-seoul", "S1", fibers=4, seed=3, event_rate=0.0).next_windows()
    assert all(w.labelled.label is None and w.truth is None for w in quiet)
    for window in _windows("digging"):
        truth = window.truth
        assert truth is not None and window.labelled.label == f"digging@{truth.channel}"
        first = window.labelled.event["first_channel"]
        assert first <= truth.reach[0] <= truth.core[0] <= truth.channel <= truth.core[1] <= truth.reach[1] < first + 64


def test_the_samples_travel_intact_through_the_contract() -> None:
    window = _windows("vehicle", count=1)[0]
    np.testing.assert_array_equal(parse_das_window(window.labelled.event).samples, window.samples)


def test_quiet_fibre_is_coloured_noise_and_some_fibres_carry_mains_hum() -> None:
    windows = DasWindowGenerator("kr-seoul", "S1", fibers=8, seed=4, event_rate=0.0).next_windows()
    x = np.concatenate([w.samples for w in windows], axis=1).astype(np.float64)
    powers = band_powers(x - x.mean(axis=0), 1000.0).mean(axis=0)
    density = powers / np.array([4.0, 15.0, 30.0, 50.0, 150.0])
    assert density[0] > 2 * density[4], "more power per hertz at low frequencies (not white)"
    spectrum = np.abs(np.fft.rfft(x, axis=0)) ** 2
    hum = spectrum[60] / np.median(spectrum[40:80], axis=0)
    assert (hum > 20).any() and (hum < 5).any(), "mains hum at 60 Hz on stretches of some fibres"
    assert 0.5 < float(np.std(x)) < 3.0


LOUD_KINDS = ("vehicle", "digging", "cable_strain")


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_each_event_stands_out_in_its_band_at_its_labelled_channel(kind: str) -> None:
    """Vehicles, digging and strain are loud; a footstep or a tap can sink into the noise of one
    window (as on real fibre), yet typically stands well out in its own band."""
    windows = _windows(kind, count=40, seed=5)
    hits, band_excess = 0, []
    for window in windows:
        assert window.truth is not None
        index = window.truth.channel - window.labelled.event["first_channel"]
        excess = _excess(window)
        smoothed = np.convolve(excess, np.ones(3) / 3, mode="same")
        hits += abs(int(np.argmax(smoothed)) - index) <= 2
        x = window.samples.astype(np.float64)
        powers = band_powers(x - x.mean(axis=0), 1000.0)
        band_excess.append(float((powers[index] / np.median(powers, axis=0)).max()))
    assert np.median(band_excess) > 3, f"{kind} stands out of the fibre's noise in its band"
    assert hits >= (0.9 if kind in LOUD_KINDS else 0.5) * len(windows), f"{kind} is loudest near its channel"


def _signature(kind: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean band powers at the events' channels, over the fibre's median; and the mean share of
    the channels where the event doubles the power."""
    at_event, spread = [], []
    for window in _windows(kind, seed=6):
        assert window.truth is not None
        index = window.truth.channel - window.labelled.event["first_channel"]
        x = window.samples.astype(np.float64)
        powers = band_powers(x - x.mean(axis=0), 1000.0)
        at_event.append(powers[index] / np.median(powers, axis=0))
        spread.append(np.mean(_excess(window) > 2))
    x = np.concatenate([w.samples for w in _windows(kind, seed=6)], axis=1)
    kurtosis = np.mean(((x - x.mean(0)) ** 4).mean(0) / ((x - x.mean(0)) ** 2).mean(0) ** 2)
    return np.mean(at_event, axis=0), np.asarray(np.mean(spread)), float(kurtosis)


def test_each_event_has_its_own_signature() -> None:
    walking, walk_spread, _ = _signature("walking")
    vehicle, vehicle_spread, _ = _signature("vehicle")
    digging, dig_spread, _ = _signature("digging")
    knocking, knock_spread, _ = _signature("knocking")
    _, strain_spread, _ = _signature("cable_strain")
    assert np.argmax(walking) in (1, 2), "footsteps ring at 10-35 Hz"
    assert vehicle[:3].min() > 5 and vehicle[4] < vehicle[1], "vehicles are low-frequency broadband"
    assert digging[2:].min() > 5, "digging is strong at every band from 20 Hz up"
    assert np.argmax(knocking) == 4, "taps are high-frequency"
    impacts = max(knock_spread, walk_spread, dig_spread)
    assert impacts < vehicle_spread < strain_spread, "a vehicle covers more fibre than an impact, strain the most"


def test_a_vehicle_drives_along_the_fibre_and_strain_is_a_slow_drift() -> None:
    for window in _windows("vehicle", count=6, seed=7):
        energy = window.samples.astype(np.float64) ** 2
        first, second = energy[:500].sum(axis=0), energy[500:].sum(axis=0)
        idx = np.arange(64)
        moved = idx @ second / second.sum() - idx @ first / first.sum()
        assert abs(moved) > 0.2, "its energy moves along the channels within the window"
    for window in _windows("cable_strain", count=6, seed=8):
        assert window.truth is not None
        index = window.truth.channel - window.labelled.event["first_channel"]
        trace = window.samples[:, index].astype(np.float64)
        t = np.linspace(-1, 1, len(trace))
        slow = np.polyval(np.polyfit(t, trace, 2), t)
        assert np.ptp(slow) > 5 * np.std(trace - slow), "a smooth pull much larger than the noise"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="channels >= 16"):
        DasWindowGenerator("kr-seoul", "S1", channels=8)
    with pytest.raises(ValueError, match="event_rate"):
        DasWindowGenerator("kr-seoul", "S1", event_rate=2.0)
    with pytest.raises(ValueError, match="unknown event kinds"):
        DasWindowGenerator("kr-seoul", "S1", kinds=("earthquake",))
