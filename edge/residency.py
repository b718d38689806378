"""The residency policy: nothing from another region is processed, and nothing is written to or
sent outside this region. Violations become DLQ records plus audit records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edge.errors import ResidencyViolation

__all__ = ["ResidencyPolicy", "ResidencyViolation"]


@dataclass(frozen=True)
class ResidencyPolicy:
    """The rule for one site, e.g. `ResidencyPolicy("kr-seoul").allows_topic("kr-seoul.dlq")`.

    `site_ids` are the sites whose events are processed here (empty: any site of the region).
    A refusal's reason never quotes the event's value: a field can hold anything, personal
    data included, and reasons travel to the audit topic.
    """

    region: str
    site_ids: frozenset[str] = frozenset()

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

    def event_violation(self, event_region: object, event_site_id: object) -> str | None:
        """A human-readable reason when an event is not this site's to process, else None."""
        if event_region != self.region:
            return f"event region is not this site's region {self.region!r}"
        if self.site_ids and event_site_id not in self.site_ids:
            return f"event site_id is not one this site serves ({', '.join(sorted(self.site_ids))})"
        return None
