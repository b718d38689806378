"""Turns per-sample anomaly flags into alarms the way an OSS expects them (3GPP fault
supervision): one alarm raised per ongoing incident of a cell, a change notification when its
severity moves, and a clear once the cell has looked normal for a while."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from pipelines.results import name_based_id

NotificationType = Literal["notifyNewAlarm", "notifyChangedAlarm", "notifyClearedAlarm"]
Severity = Literal["CRITICAL", "MAJOR", "MINOR", "CLEARED"]
_SEVERITIES = frozenset(get_args(Severity))
_ALARM_NAMESPACE = uuid.UUID("0b9d6f0e-5d1a-4c57-8a51-2b8f3c1d7e42").bytes


@dataclass(frozen=True)
class AlarmPolicy:
    """When alarms rise, escalate and clear.

    Example: `AlarmPolicy(major_score=2.0, critical_score=6.0, clear_after_normal=2)`: an
    anomalous sample scoring 2.0 or more is MAJOR, 6.0 or more CRITICAL (below: MINOR), and an
    alarm clears after two normal samples in a row.
    """

    major_score: float = 2.0
    critical_score: float = 6.0
    clear_after_normal: int = 2

    def __post_init__(self) -> None:
        if not 0 < self.major_score <= self.critical_score:
            raise ValueError("need 0 < major_score <= critical_score")
        if self.clear_after_normal < 1:
            raise ValueError(f"clear_after_normal must be >= 1, got {self.clear_after_normal}")

    def severity(self, score: float) -> Severity:
        if score >= self.critical_score:
            return "CRITICAL"
        return "MAJOR" if score >= self.major_score else "MINOR"


@dataclass
class Incident:
    """An open alarm on one cell."""

    alarm_id: str
    cell_id: str
    raised_time: str
    severity: Severity
    changed_time: str | None = None
    normal_streak: int = 0


@dataclass(frozen=True)
class AlarmNotification:
    """What to tell the OSS about one sample, if anything."""

    kind: NotificationType
    incident: Incident
    severity: Severity
    event_time: str


class IncidentTracker:
    """Open incidents per cell; state of cells that move to another replica is dropped."""

    def __init__(self, policy: AlarmPolicy | None = None) -> None:
        self.policy = policy or AlarmPolicy()
        self._open: dict[str, Incident] = {}

    def __len__(self) -> int:
        return len(self._open)

    def open_incident(self, cell_id: str) -> Incident | None:
        return self._open.get(cell_id)

    def open_cells(self) -> set[str]:
        """The cells with an incident open now."""
        return set(self._open)

    def snapshot(self, cell_id: str) -> dict[str, Any] | None:
        """A cell's open incident as changelog data; None when it has none."""
        incident = self._open.get(cell_id)
        # Every field is a string, a number or None: a shallow copy is the whole of it, without
        # `asdict`'s deep copies (this runs for every changed cell of every batch).
        return None if incident is None else dict(vars(incident))

    def load(self, cell_id: str, snapshot: Mapping[str, Any] | None) -> None:
        """Hold a cell's incident as `snapshot` gave it (None: it has none open).

        Raises:
            ValueError: the snapshot is not an incident.
        """
        if snapshot is None:
            self._open.pop(cell_id, None)
            return
        try:
            incident = Incident(**snapshot)
        except TypeError as exc:
            raise ValueError(f"not an incident: {exc}") from exc
        if incident.cell_id != cell_id or incident.severity not in _SEVERITIES or type(incident.normal_streak) is not int:
            raise ValueError("an incident snapshot names another cell, a severity or a streak that is not one")
        self._open[cell_id] = incident

    def forget(self, cell_ids: Iterable[str]) -> None:
        for cell_id in cell_ids:
            self._open.pop(cell_id, None)

    def observe(self, cell_id: str, event_id: str, ts: str, score: float, anomalous: bool) -> AlarmNotification | None:
        """Account for one scored sample of a cell (in time order); return the notification due."""
        incident = self._open.get(cell_id)
        if anomalous:
            severity = self.policy.severity(score)
            if incident is None:
                alarm_id = name_based_id(_ALARM_NAMESPACE, f"{cell_id}/{event_id}")
                incident = self._open[cell_id] = Incident(alarm_id, cell_id, ts, severity)
                return AlarmNotification("notifyNewAlarm", incident, severity, ts)
            incident.normal_streak = 0
            if severity != incident.severity:
                incident.severity = severity
                incident.changed_time = ts
                return AlarmNotification("notifyChangedAlarm", incident, severity, ts)
            return None
        if incident is None:
            return None
        incident.normal_streak += 1
        if incident.normal_streak < self.policy.clear_after_normal:
            return None
        del self._open[cell_id]
        return AlarmNotification("notifyClearedAlarm", incident, "CLEARED", ts)
