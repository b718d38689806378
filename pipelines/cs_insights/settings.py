"""Settings of the customer-service insights pipeline, read from `CS_INSIGHTS_*` variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DlqOriginals = Literal["redacted", "omitted"]


class CsInsightsSettings(BaseSettings):
    """What the customer-service pipeline keeps of what it refuses, and of a session's last turn."""

    model_config = SettingsConfigDict(env_prefix="CS_INSIGHTS_", extra="ignore", use_attribute_docstrings=True)

    dlq_originals: DlqOriginals = "redacted"
    """What a DLQ record keeps of the refused record: `redacted` (key, value and headers with
    every personal-data value masked) or `omitted` (nothing; the source offset still finds the
    original in the input topic)."""
    session_tail_s: float = Field(300.0, gt=0, le=86_400)
    """How long the end of a session's last utterance is kept, in memory only, to find a value
    the caller finishes in the next turn; a turn that comes later is matched on its own."""
