"""Alert grouping and the alert record: confident neighbouring channels of one class become one
located event, placed by excess power, with the severity field operations act on."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from pipelines.fiber_sensing.alerts import AlertPolicy, ChannelSpan, detect_spans
from pipelines.fiber_sensing.classes import CLASSES, SEVERITY
from pipelines.fiber_sensing.results import alert_record
from pipelines.fiber_sensing.window import DasWindow
from pipelines.results import result_id


def _probabilities(assignments: dict[int, tuple[str, float]], channels: int = 20) -> np.ndarray:
    """Background everywhere except the given channels, which get (class, probability)."""
    p = np.zeros((channels, len(CLASSES)), dtype=np.float32)
    p[:, 0] = 1.0
    for channel, (name, confidence) in assignments.items():
        p[channel] = (1 - confidence) / (len(CLASSES) - 1)
        p[channel, CLASSES.index(name)] = confidence
    return p


def test_adjacent_channels_of_one_class_make_one_span_located_at_their_centre_of_excess_power() -> None:
    p = _probabilities({c: ("digging", 0.95) for c in range(5, 10)})
    power = np.zeros(20)
    power[5:10] = [1, 4, 9, 4, 1]
    (span,) = detect_spans(p, power, AlertPolicy())
    assert span == ChannelSpan("digging", 5, 9, 7, pytest.approx(0.95))


def test_classes_and_gaps_split_spans_and_one_quiet_channel_is_bridged() -> None:
    p = _probabilities({2: ("walking", 0.9), 3: ("walking", 0.9), 5: ("walking", 0.9),
                        6: ("knocking", 0.9), 12: ("knocking", 0.9), 15: ("knocking", 0.9)})
    spans = detect_spans(p, np.ones(20), AlertPolicy(max_gap_channels=1))
    assert [(s.event_class, s.first, s.last) for s in spans] == [
        ("walking", 2, 5), ("knocking", 6, 6), ("knocking", 12, 12), ("knocking", 15, 15)]
    strict = detect_spans(p, np.ones(20), AlertPolicy(max_gap_channels=0))
    assert [(s.first, s.last) for s in strict][:2] == [(2, 3), (5, 5)]


def test_channels_under_the_confidence_and_background_channels_raise_nothing() -> None:
    p = _probabilities({4: ("vehicle", 0.7), 9: ("cable_strain", 0.79)})
    assert detect_spans(p, np.ones(20), AlertPolicy(min_confidence=0.8)) == []
    assert len(detect_spans(p, np.ones(20), AlertPolicy(min_confidence=0.6))) == 2
    assert detect_spans(_probabilities({}), np.ones(20), AlertPolicy()) == []


def test_without_excess_power_the_most_confident_channel_locates_the_span() -> None:
    p = _probabilities({3: ("vehicle", 0.85), 4: ("vehicle", 0.99), 5: ("vehicle", 0.9)})
    (span,) = detect_spans(p, np.zeros(20), AlertPolicy())
    assert span.channel == 4


def test_bad_inputs_and_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="probabilities must be"):
        detect_spans(np.zeros((20, 3), dtype=np.float32), np.zeros(20), AlertPolicy())
    with pytest.raises(ValueError, match="excess_power must be"):
        detect_spans(_probabilities({}), np.zeros(19), AlertPolicy())
    with pytest.raises(ValueError, match="min_confidence"):
        AlertPolicy(min_confidence=0)
    with pytest.raises(ValueError, match="max_gap_channels"):
        AlertPolicy(max_gap_channels=-1)


def test_every_event_class_has_a_severity_and_digging_and_strain_are_high() -> None:
    assert set(SEVERITY) == set(CLASSES) - {"background"}
    assert SEVERITY["digging"] == SEVERITY["cable_strain"] == "high"


def test_an_alert_carries_the_fibre_position_span_and_a_deterministic_id() -> None:
    event = {"event_id": "w-1", "region": "kr-seoul", "site_id": "S1", "ts": "2026-11-22T09:00:00.000Z"}
    window = DasWindow("F07", 2048, 5.0, 1000.0, np.zeros((1000, 64), dtype=np.float32))
    span = ChannelSpan("digging", 10, 14, 12, 0.97123)
    body = orjson.loads(alert_record(pipeline="fiber-sensing", event=event, window=window, span=span,
                                     model_name="fiber-events", model_version="1"))
    assert body == {
        "schema": "fiber.alert.v1", "event_id": "w-1",
        "result_id": result_id("fiber-sensing", "w-1", "alert/2058"),
        "region": "kr-seoul", "site_id": "S1", "ts": "2026-11-22T09:00:00.000Z", "fiber_id": "F07",
        "event_class": "digging", "severity": "high", "confidence": 0.9712,
        "channel": 2060, "position_m": 10300.0, "channel_span": [2058, 2062], "span_m": [10290.0, 10310.0],
        "window_s": 1.0, "model": {"name": "fiber-events", "version": "1"},
    }
