"""One alarm per incident: raised once, changed when severity moves, cleared after recovery."""

from __future__ import annotations

import pytest

from pipelines.kpi_anomaly.incidents import AlarmPolicy, IncidentTracker


def _feed(tracker: IncidentTracker, samples: list[tuple[float, bool]]) -> list[str | None]:
    out = []
    for i, (score, anomalous) in enumerate(samples):
        note = tracker.observe("cell-1", f"e{i}", f"t{i}", score, anomalous)
        out.append(None if note is None else f"{note.kind}:{note.severity}")
    return out


def test_an_ongoing_incident_raises_one_alarm_and_clears_after_two_normal_samples() -> None:
    tracker = IncidentTracker(AlarmPolicy(major_score=2.0, critical_score=6.0, clear_after_normal=2))
    notes = _feed(tracker, [(1.0, True), (1.2, True), (0.1, False), (1.1, True), (0.1, False), (0.2, False), (0.1, False)])
    assert notes == ["notifyNewAlarm:MINOR", None, None, None, None, "notifyClearedAlarm:CLEARED", None]
    assert tracker.open_incident("cell-1") is None


def test_a_change_of_severity_is_notified_with_the_same_alarm_id() -> None:
    tracker = IncidentTracker()
    first = tracker.observe("c", "e1", "t1", 1.0, True)
    changed = tracker.observe("c", "e2", "t2", 7.0, True)
    assert first is not None and changed is not None
    assert changed.kind == "notifyChangedAlarm" and changed.severity == "CRITICAL"
    assert changed.incident.alarm_id == first.incident.alarm_id
    assert changed.incident.raised_time == "t1" and changed.incident.changed_time == "t2"


def test_alarm_ids_are_deterministic_for_redelivered_events() -> None:
    a = IncidentTracker().observe("c", "e1", "t1", 1.0, True)
    b = IncidentTracker().observe("c", "e1", "t1", 1.0, True)
    assert a is not None and b is not None and a.incident.alarm_id == b.incident.alarm_id


def test_forgotten_cells_start_without_an_open_incident() -> None:
    tracker = IncidentTracker()
    tracker.observe("c", "e1", "t1", 1.0, True)
    tracker.forget(["c"])
    note = tracker.observe("c", "e2", "t2", 1.0, True)
    assert note is not None and note.kind == "notifyNewAlarm"


def test_nonsense_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="major_score <= critical_score"):
        AlarmPolicy(major_score=5, critical_score=2)
    with pytest.raises(ValueError, match="clear_after_normal must be >= 1"):
        AlarmPolicy(clear_after_normal=0)


def test_a_snapshot_keeps_the_incident_as_it_stood_and_loads_back_equal() -> None:
    """A batch's changelog holds the snapshot while later batches move the incident on."""
    tracker = IncidentTracker()
    tracker.observe("c", "e1", "t1", 1.0, True)
    tracker.observe("c", "e2", "t2", 0.1, False)
    then = tracker.open_incident("c")
    assert then is not None
    snapshot = tracker.snapshot("c")
    assert snapshot == {"alarm_id": then.alarm_id, "cell_id": "c", "raised_time": "t1", "severity": "MINOR",
                        "changed_time": None, "normal_streak": 1}
    tracker.observe("c", "e3", "t3", 7.0, True)  # escalates: severity, changed time and streak move
    assert snapshot["severity"] == "MINOR" and snapshot["normal_streak"] == 1 and snapshot["changed_time"] is None
    restored = IncidentTracker()
    restored.load("c", snapshot)
    assert restored.open_incident("c") == type(then)(**snapshot) and restored.snapshot("c") == snapshot
    assert tracker.snapshot("absent") is None
