"""The `fiber.das_window.v1` contract: a good window decodes to its array; every broken field is
refused with a message naming the field and the limit."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest

from edgectl.synthetic.das import DasWindowGenerator, encode_samples
from pipelines.events import SchemaViolation
from pipelines.fiber_sensing.window import MAX_CHANNELS, MAX_VALUES, DasWindow, parse_das_window


def _event(**changes: Any) -> dict[str, Any]:
    samples = np.arange(256 * 16, dtype=np.float32).reshape(256, 16)
    event: dict[str, Any] = {
        "schema": "fiber.das_window.v1", "event_id": "w1", "region": "kr-seoul", "site_id": "S1",
        "ts": "2026-11-22T09:00:00.000Z", "fiber_id": "F01", "first_channel": 1024,
        "channel_spacing_m": 4.0, "sample_rate_hz": 1000.0, "n_channels": 16, "n_samples": 256,
        "samples": encode_samples(samples),
    }
    event.update(changes)
    return event


def test_samples_are_little_endian_float32_time_major() -> None:
    window = parse_das_window(_event())
    assert isinstance(window, DasWindow)
    assert window.samples.shape == (256, 16) and window.samples.dtype == np.float32
    assert window.samples[0, 1] == 1.0 and window.samples[1, 0] == 16.0, "row = one time sample of every channel"
    raw = base64.b64decode(_event()["samples"])
    assert np.frombuffer(raw[4:8], dtype="<f4")[0] == 1.0
    assert window.duration_s == pytest.approx(0.256)
    assert window.position_m(3) == (1024 + 3) * 4.0


def test_generated_windows_satisfy_the_contract() -> None:
    for labelled in DasWindowGenerator("kr-seoul", "S1", fibers=2, seed=1).next_round():
        window = parse_das_window(labelled.event)
        assert window.fiber_id == labelled.key
        assert window.samples.shape == (labelled.event["n_samples"], labelled.event["n_channels"])


def _nan_samples() -> str:
    samples = np.zeros((256, 16), dtype=np.float32)
    samples[10, 5] = np.nan
    samples[20, 6] = np.inf
    return encode_samples(samples)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"samples": encode_samples(np.zeros((255, 16), dtype=np.float32))},
         r"field 'samples' decodes to 16320 bytes, expected n_samples\*n_channels\*4 = 256\*16\*4 = 16384"),
        ({"samples": _nan_samples()},
         "field 'samples' holds 2 non-finite values .NaN or infinity., the first at sample 10, channel 5"),
        ({"n_channels": MAX_CHANNELS + 1}, f"field 'n_channels' is 257, the limits are 16 to {MAX_CHANNELS} channels"),
        ({"n_channels": 8}, "field 'n_channels' is 8, the limits are 16 to 256 channels per window"),
        ({"n_samples": 100}, "field 'n_samples' is 100, the limits are 256 to 8192 samples per window"),
        ({"n_channels": 256, "n_samples": 1024}, f"are 1024 x 256 = 262144 values, the limit is {MAX_VALUES} values"),
        ({"n_channels": 16.0}, "field 'n_channels' must be an integer, got 16.0"),
        ({"n_channels": True}, "field 'n_channels' must be an integer"),
        ({"sample_rate_hz": 100}, "field 'sample_rate_hz' is 100, the limits are 500 to 20000 Hz"),
        ({"sample_rate_hz": "1kHz"}, "field 'sample_rate_hz' must be a finite number"),
        ({"channel_spacing_m": 0}, "field 'channel_spacing_m' must be above 0 metres"),
        ({"channel_spacing_m": 500.0}, "field 'channel_spacing_m' is 500.0, the limits are 0 to 100 metres"),
        ({"first_channel": -1}, "field 'first_channel' is -1, the limits are 0 to"),
        ({"fiber_id": ""}, "field 'fiber_id' must be a non-empty string of at most 128 characters"),
        ({"samples": None}, "field 'samples' must be a base64 string, got NoneType"),
        ({"samples": "not base64!"}, "field 'samples' is not valid base64"),
        ({"samples": "A" * 30_000}, "field 'samples' has 30000 base64 characters"),
    ],
)
def test_a_broken_field_is_refused_naming_the_field_and_the_limit(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(SchemaViolation, match=message) as caught:
        parse_das_window(_event(**changes))
    assert caught.value.dlq_reason == "schema"
