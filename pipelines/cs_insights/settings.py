"""The customer-service insights pipeline's tunables, read from `CS_INSIGHTS_*` environment
variables: what it keeps of what it refuses and of a session's last turn, and when a session's
churn risk counts as medium or high."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.cs_insights.churn import ChurnPolicy
from pipelines.entity_limits import EntityLimits

DlqOriginals = Literal["redacted", "omitted"]


class CsInsightsSettings(BaseSettings):
    """What the customer-service pipeline keeps of what it refuses and of a session's last turn,
    and its churn thresholds."""

    model_config = SettingsConfigDict(env_prefix="CS_INSIGHTS_", extra="ignore", use_attribute_docstrings=True)

    dlq_originals: DlqOriginals = "redacted"
    """What a DLQ record keeps of the refused record: `redacted` (key, value and headers with
    every personal-data value masked) or `omitted` (nothing; the source offset still finds the
    original in the input topic)."""
    session_tail_s: float = Field(300.0, gt=0, le=86_400)
    """How long the end of a session's last utterance is kept, in memory only, to find a value
    the caller finishes in the next turn; a turn that comes later is matched on its own."""
    churn_medium_from: float = Field(ChurnPolicy.medium_from, gt=0, lt=1)
    """Churn risk (0-1) from which a session's insight says `medium`."""
    churn_high_from: float = Field(ChurnPolicy.high_from, gt=0, lt=1)
    """... and `high`, counted as an anomaly for the contact-centre lead; at or above
    `churn_medium_from`."""
    churn_memory: float = Field(ChurnPolicy.memory, ge=0, lt=1)
    """Weight of a session's past turns in its churn risk (0: only the latest turn counts)."""

    @model_validator(mode="after")
    def _high_above_medium(self) -> CsInsightsSettings:
        if self.churn_high_from < self.churn_medium_from:
            raise ValueError(
                f"churn_high_from ({self.churn_high_from}) must be at or above churn_medium_from ({self.churn_medium_from})"
            )
        return self

    def churn_policy(self, limits: EntityLimits) -> ChurnPolicy:
        """The churn policy, holding as many sessions, as long, as `limits` allow."""
        return ChurnPolicy(
            memory=self.churn_memory, medium_from=self.churn_medium_from, high_from=self.churn_high_from,
            max_sessions=limits.max_entities, idle_s=limits.idle_s,
        )
