"""VES records in, `ran.cell_kpi.v1` records out: the KPI pipelines read each VES event of their
VES topics as one cell-KPI record per cell it measures, stamped with the site's region and site
id, which then take the same intake, windows, model and alarms as the site's own samples.

Each sample keeps the position (topic, partition, offset) of the VES record it came from, so a
sample refused later names that record, and its offset commits with it. Its `event_id` is the
VES `eventId` and the cell (`{eventId}/{cell}`), its `ts` the event's `startEpochMicrosec`.
An event that cannot be read goes to the DLQ with reason `schema` (or `malformed`) and a detail
naming the field; cells outside the site's inventory, when one is configured, to the DLQ with
reason `residency` and an audit record. What is left out without fault (counters not modelled,
suspect values, objects that are not cells) is counted in `edge_pipeline_ves_skipped`."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import orjson
from opentelemetry import metrics

from edge.topics import SiteTopics
from pipelines.base import RefusableIntake
from pipelines.cell_kpi import SCHEMA
from pipelines.dlq import audit_record
from pipelines.errors import EventRejected, SchemaViolation
from pipelines.outcome import BatchOutcome
from pipelines.records import ConsumedRecord, InboundRecord
from pipelines.ves.cell_readings import READERS
from pipelines.ves.events import decode_ves, utc_text

MAX_EVENT_ID_CHARS = 200
"""Longest VES `eventId` read: a sample's `event_id` is it and the cell id."""
_skipped = metrics.get_meter("sovereign_edge.pipelines").create_counter(
    "edge_pipeline_ves_skipped", unit="1",
    description="Parts of VES events left out without fault, by reason (counter, suspect, not_a_cell, no_value, no_counters)",
)


class VesCellSamples:
    """Expands the records of `ves_topics` in a batch into cell-KPI records; the others pass."""

    def __init__(
        self, pipeline: str, topics: SiteTopics, site_id: str, intake: RefusableIntake, ves_topics: Collection[str],
        modelled_counters: Collection[str], inventory: frozenset[str] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.topics = topics
        self.site_id = site_id
        self.intake = intake
        self.ves_topics = frozenset(ves_topics)
        self.modelled = frozenset(modelled_counters)
        self.inventory = inventory
        self._attrs = {"pipeline": pipeline}

    def expand(self, records: Sequence[InboundRecord], outcome: BatchOutcome) -> Sequence[InboundRecord]:
        """The batch with each VES record replaced by its cells' samples, in order; refusals go to `outcome`."""
        if not self.ves_topics.intersection(r.topic for r in records):
            return records
        expanded: list[InboundRecord] = []
        for record in records:
            if record.topic in self.ves_topics:
                expanded.extend(self._samples(record, outcome))
            else:
                expanded.append(record)
        return expanded

    def _samples(self, record: InboundRecord, outcome: BatchOutcome) -> list[InboundRecord]:
        try:
            header, event = decode_ves(record.value)
            reader = READERS.get(header.domain)
            if reader is None:
                raise SchemaViolation(
                    f"field 'event.commonEventHeader.domain' is {header.domain!r}: the KPI pipelines read "
                    f"{' and '.join(sorted(READERS))} events"
                )
            if len(header.event_id) > MAX_EVENT_ID_CHARS:
                raise SchemaViolation(
                    f"field 'event.commonEventHeader.eventId' is {len(header.event_id)} characters, the limit is "
                    f"{MAX_EVENT_ID_CHARS}"
                )
            readings = reader(event, self.modelled)
        except EventRejected as exc:
            self.intake.reject(outcome, record, str(exc.dlq_reason), str(exc))
            return []
        for reason, count in readings.skipped.items():
            _skipped.add(count, {**self._attrs, "reason": reason})
        cells = readings.counters
        if self.inventory is not None:
            foreign = [cell for cell in cells if cell not in self.inventory]
            if foreign:
                self._refuse_foreign(record, outcome, foreign)
                cells = {cell: counters for cell, counters in cells.items() if cell in self.inventory}
        ts = utc_text(header.start_us)
        samples: list[InboundRecord] = []
        for cell, counters in cells.items():
            sample = {
                "schema": SCHEMA, "event_id": f"{header.event_id}/{cell}", "region": self.topics.region,
                "site_id": self.site_id, "cell_id": cell, "ts": ts, "granularity_s": readings.granularity_s,
                "counters": counters,
            }
            samples.append(ConsumedRecord(
                record.topic, record.partition, record.offset, cell.encode(), orjson.dumps(sample), record.headers,
                record.timestamp,
            ))
        return samples

    def _refuse_foreign(self, record: InboundRecord, outcome: BatchOutcome, foreign: list[str]) -> None:
        violation = (
            f"{len(foreign)} measured cell(s) of this VES event are not in the site's inventory "
            f"(VES_INVENTORY_FILE), the first {foreign[0][:80]!r}; the event's other cells are processed"
        )
        self.intake.reject(outcome, record, "residency", violation)
        outcome.outputs.append(audit_record(self.topics, self.site_id, self.pipeline, "refused-event", violation, record))
