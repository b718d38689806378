"""The KPI anomaly pipeline's tunables, read from `KPI_ANOMALY_*` environment variables: when an
alarm is raised at which severity, and when it clears."""

from __future__ import annotations

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

    @model_validator(mode="after")
    def _critical_above_major(self) -> KpiAnomalySettings:
        if self.critical_score < self.major_score:
            raise ValueError(f"critical_score ({self.critical_score}) must be at or above major_score ({self.major_score})")
        return self

    def alarm_policy(self) -> AlarmPolicy:
        return AlarmPolicy(self.major_score, self.critical_score, self.clear_after_normal)
