"""The KPI anomaly pipeline's tunables, read from `KPI_ANOMALY_*` environment variables: when an
alarm is raised at which severity, and when it clears."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.kpi_anomaly.incidents import AlarmPolicy


class KpiAnomalySettings(BaseSettings):
    """The alarm policy of the KPI anomaly pipeline (`AlarmPolicy`), from the environment."""

    model_config = SettingsConfigDict(env_prefix="KPI_ANOMALY_", extra="ignore", use_attribute_docstrings=True, frozen=True)

    major_score: float = Field(AlarmPolicy.major_score, gt=0)
    """An anomalous sample scoring at least this raises (or escalates) its cell's alarm to MAJOR;
    below it the alarm is MINOR."""
    critical_score: float = Field(AlarmPolicy.critical_score, gt=0)
    """... and at least this, CRITICAL. At or above `major_score`."""
    clear_after_normal: int = Field(AlarmPolicy.clear_after_normal, ge=1, le=1_000)
    """Normal samples in a row after which a cell's alarm is cleared."""
    ves_alarms_topic: str | None = Field(None, min_length=1, max_length=249, pattern=r"^[A-Za-z0-9._-]+$")
    """Also publish every alarm notification as a VES 7.2 event to this topic (in the site's
    region, e.g. `kr-seoul.ves.faults`), for a fault management system that takes a VES
    collector's output. Unset: none."""
    ves_alarm_domain: Literal["stndDefined", "fault"] = "stndDefined"
    """The VES form of those events: `stndDefined` (namespace `3GPP-FaultSupervision`, data the
    TS 28.532 notifyNewAlarm / notifyChangedAlarm / notifyClearedAlarm) or `fault` (VES
    `faultFields`, for older consumers; a clear is severity NORMAL)."""

    @model_validator(mode="after")
    def _critical_above_major(self) -> KpiAnomalySettings:
        if self.critical_score < self.major_score:
            raise ValueError(f"critical_score ({self.critical_score}) must be at or above major_score ({self.major_score})")
        return self

    def alarm_policy(self) -> AlarmPolicy:
        return AlarmPolicy(self.major_score, self.critical_score, self.clear_after_normal)
