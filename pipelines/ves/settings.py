"""Where the KPI pipelines read VES events, read from `VES_*` environment variables."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")


class VesSettings(BaseSettings):
    """VES input of the KPI pipelines (kpi-anomaly, energy-saving)."""

    model_config = SettingsConfigDict(env_prefix="VES_", extra="ignore", use_attribute_docstrings=True, frozen=True)

    kpi_topics: str = ""
    """Comma-separated topics of VES 7.x `perf3gpp` and `measurement` events the KPI pipelines
    read beside `{region}.ran.kpi` (e.g. `kr-seoul.ves.measurements`); each must lie in the
    site's region and have as many partitions as `{region}.ran.kpi`. Empty: none."""
    inventory_file: Path | None = Field(None)
    """A text file of the cell ids measured at this site, one per line (`#` starts a comment).
    Set, a VES event's cells outside it are refused with reason `residency`. Unset: any cell."""

    @field_validator("kpi_topics")
    @classmethod
    def _topic_names(cls, value: str) -> str:
        for topic in (t.strip() for t in value.split(",") if t.strip()):
            if _TOPIC.fullmatch(topic) is None:
                raise ValueError(f"{topic[:80]!r} is not a Kafka topic name (letters, digits, '.', '_', '-'; up to 249)")
        return value.strip()

    def topics(self) -> list[str]:
        """`kpi_topics` as a list."""
        return list(dict.fromkeys(t.strip() for t in self.kpi_topics.split(",") if t.strip()))

    def inventory(self) -> frozenset[str] | None:
        """The cell ids of `inventory_file` (None when unset).

        Raises:
            OSError: the file cannot be read.
        """
        if self.inventory_file is None:
            return None
        lines = self.inventory_file.read_text(encoding="utf-8").splitlines()
        return frozenset(line.split("#", 1)[0].strip() for line in lines) - {""}
