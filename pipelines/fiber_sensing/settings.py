"""The fibre-sensing pipeline's tunables, read from `FIBER_SENSING_*` environment variables: when
channels raise an alert."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.fiber_sensing.alerts import AlertPolicy


class FiberSensingSettings(BaseSettings):
    """The alert policy of the fibre-sensing pipeline (`AlertPolicy`), from the environment."""

    model_config = SettingsConfigDict(env_prefix="FIBER_SENSING_", extra="ignore", use_attribute_docstrings=True)

    min_confidence: float = Field(AlertPolicy.min_confidence, gt=0, le=1)
    """Probability a channel's most likely event class (not background) needs before it counts
    toward an alert; lower finds fainter events and raises more alerts on quiet fibre."""
    max_gap_channels: int = Field(AlertPolicy.max_gap_channels, ge=0, le=16)
    """Channels that do not count which may lie between two that do, of one class, for both to
    be reported as one event."""

    def alert_policy(self) -> AlertPolicy:
        return AlertPolicy(min_confidence=self.min_confidence, max_gap_channels=self.max_gap_channels)
