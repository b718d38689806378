"""The front door every pipeline shares: decode each record, check the event contract and the
region, and turn every refusal into a DLQ record (plus an audit record for residency)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from edge.residency import ResidencyPolicy
from edge.topics import SiteTopics
from pipelines.dlq import audit_record, dlq_record
from pipelines.events import ENVELOPE_FIELDS, EventRejected, check_envelope, decode_event, quote
from pipelines.outcome import BatchOutcome
from pipelines.records import InboundRecord


class AcceptedEvent(NamedTuple):
    """A record that passed intake, its decoded event and its UTC event time."""

    record: InboundRecord
    event: dict[str, Any]
    ts: datetime


class EventIntake:
    """Screens batches for one pipeline. `show` is how refusal messages quote a field's value.

    Args:
        check_fields: the pipeline's own field checks on a decoded event; raise
            `pipelines.events.SchemaViolation` naming the field.
        served_site_ids: the sites whose events are processed (empty: `site_id` alone).
        guarded_fields: fields an event may not repeat (the envelope and the pipeline's own key
            fields): a repeated one is refused with reason `schema`.
    """

    def __init__(
        self,
        pipeline: str,
        schema: str,
        topics: SiteTopics,
        site_id: str,
        check_fields: Callable[[dict[str, Any]], None] | None = None,
        *,
        served_site_ids: Collection[str] = (),
        guarded_fields: Sequence[str] = ENVELOPE_FIELDS,
    ) -> None:
        self.pipeline = pipeline
        self.schema = schema
        self.topics = topics
        self.site_id = site_id
        self.policy = ResidencyPolicy(topics.region, frozenset(served_site_ids or (site_id,)))
        self.guarded_fields = tuple(dict.fromkeys((*ENVELOPE_FIELDS, *guarded_fields)))
        self._check_fields = check_fields
        self.show: Callable[[object], str] = quote

    def screen(self, records: Sequence[InboundRecord], outcome: BatchOutcome) -> list[AcceptedEvent]:
        """The events worth processing; refusals are added to `outcome` as DLQ/audit records."""
        accepted: list[AcceptedEvent] = []
        for record in records:
            try:
                event = decode_event(record.value, self.guarded_fields)
                ts = check_envelope(event, self.schema, self.show)
                if self._check_fields is not None:
                    self._check_fields(event)
            except EventRejected as exc:
                self.reject(outcome, record, str(exc.dlq_reason), str(exc))
                continue
            violation = self.policy.event_violation(event.get("region"), event.get("site_id"))
            if violation is not None:
                self.reject(outcome, record, "residency", violation)
                outcome.outputs.append(
                    audit_record(self.topics, self.site_id, self.pipeline, "refused-event", violation, record)
                )
                continue
            accepted.append(AcceptedEvent(record, event, ts))
        return accepted

    def reject(self, outcome: BatchOutcome, record: InboundRecord, reason: str, detail: str) -> None:
        """Send one record to the DLQ with its reason."""
        outcome.outputs.append(dlq_record(self.topics, self.site_id, self.pipeline, reason, detail, record))
        outcome.dlq += 1
        outcome.dlq_by_reason[reason] = outcome.dlq_by_reason.get(reason, 0) + 1
