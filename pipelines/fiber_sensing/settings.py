"""Settings of the fibre-sensing pipeline, read from `PIPELINE_FIBER_*` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.fiber_sensing.alerts import AlertPolicy


class FiberSensingSettings(BaseSettings):
    """When the fibre-sensing pipeline raises an alert."""

    model_config = SettingsConfigDict(env_prefix="PIPELINE_FIBER_", extra="ignore", use_attribute_docstrings=True)

    min_confidence: float = Field(0.8, gt=0, le=1)
    """Probability a channel's most likely event class (not background) needs before it counts
    toward an alert; lower finds fainter events and raises more alerts on quiet fibre."""
    max_gap_channels: int = Field(1, ge=0, le=16)
    """Channels that do not count which may lie between two that do, of one class, for both to
    be reported as one event."""

    def alert_policy(self) -> AlertPolicy:
        return AlertPolicy(min_confidence=self.min_confidence, max_gap_channels=self.max_gap_channels)
