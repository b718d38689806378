"""The residency policy: nothing from another region is processed, and nothing is written to or
sent outside this region. Violations become DLQ records plus audit records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class ResidencyViolation(Exception):
    """A topic, accelerator or event lies outside the site's region."""


@dataclass(frozen=True)
class ResidencyPolicy:
    """The rule for one site, e.g. `ResidencyPolicy("kr-seoul").allows_topic("kr-seoul.dlq")`."""

    region: str

    def allows_topic(self, topic: str) -> bool:
        """Whether a topic belongs to this region (its name starts with `{region}.`)."""
        return topic.startswith(f"{self.region}.")

    def require_topics(self, topics: Iterable[str], purpose: str) -> None:
        """Refuse to start when any topic is outside the region.

        Raises:
            ResidencyViolation: naming every offending topic.
        """
        foreign = sorted(t for t in topics if not self.allows_topic(t))
        if foreign:
            raise ResidencyViolation(
                f"refusing to {purpose} topics outside region {self.region!r}: {', '.join(foreign)}"
            )

    def require_accelerator(self, target: str, declared_region: str | None) -> None:
        """Refuse an accelerator whose declared region is missing or not ours."""
        if declared_region != self.region:
            raise ResidencyViolation(
                f"accelerator {target} declares region {declared_region!r}, "
                f"this site is in {self.region!r}; refusing to send it data"
            )

    def event_region_violation(self, event_region: object) -> str | None:
        """A human-readable reason when an event's region is not ours, else None."""
        if event_region == self.region:
            return None
        return f"event region {event_region!r} is not this site's region {self.region!r}"
