"""The KPI pipelines' front door: a batch of records in, the accepted cell-KPI events out column by
column. The codec reads the batch in one call; what it leaves goes through the shared
`EventIntake`, which accepts it or refuses it to the DLQ with a reason."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from edge.topics import SiteTopics
from pipelines.cell_kpi import GUARDED_FIELDS, check_cell_kpi_fields
from pipelines.cell_kpi import SCHEMA as EVENT_SCHEMA
from pipelines.entity_limits import DEFAULT_MAX_KEY_CHARS
from pipelines.events import decode_event
from pipelines.intake import EventIntake
from pipelines.kpi_anomaly.codec import CODEC, TEXT_FIELDS, CellKpiCodec, utc_minute_of_day
from pipelines.kpi_anomaly.features import COUNTERS, counter_matrix
from pipelines.outcome import BatchOutcome
from pipelines.records import InboundRecord


class CellKpiBatch(NamedTuple):
    """The accepted events of one batch, in arrival order, one list or array row per event."""

    records: list[InboundRecord]
    event_ids: list[str]
    site_ids: list[str]
    cell_ids: list[str]
    ts: list[str]
    """As the event wrote it."""
    counters: npt.NDArray[np.float64]
    """`[rows, len(COUNTERS)]`, as `features.counter_matrix` reads them."""
    minutes: npt.NDArray[np.int64]
    """UTC minute of the day of each event."""

    def event(self, row: int) -> dict[str, Any]:
        """The whole event of a row, decoded again (alarms need fields the columns do not hold)."""
        return decode_event(self.records[row].value)


class CellKpiIntake:
    """Screens batches of `ran.cell_kpi.v1` records for one pipeline."""

    def __init__(
        self,
        pipeline: str,
        topics: SiteTopics,
        site_id: str,
        codec: CellKpiCodec | None = None,
        *,
        served_site_ids: Collection[str] = (),
        max_cell_id_chars: int = DEFAULT_MAX_KEY_CHARS,
    ) -> None:
        self.events = EventIntake(
            pipeline, EVENT_SCHEMA, topics, site_id, partial(check_cell_kpi_fields, max_cell_id_chars=max_cell_id_chars),
            served_site_ids=served_site_ids, guarded_fields=GUARDED_FIELDS,
        )
        self.region = topics.region
        self.served_sites = self.events.policy.site_ids
        self.codec = CODEC if codec is None else codec
        self.max_cell_id_chars = max_cell_id_chars

    def reject(self, outcome: BatchOutcome, record: InboundRecord, reason: str, detail: str) -> None:
        """Send one record to the DLQ with its reason."""
        self.events.reject(outcome, record, reason, detail)

    def screen(self, records: Sequence[InboundRecord], outcome: BatchOutcome) -> CellKpiBatch:
        """The events worth processing; refusals are added to `outcome` as DLQ/audit records."""
        n = len(records)
        counters = np.empty((n, len(COUNTERS)), dtype=np.float64)
        minutes = np.empty(n, dtype=np.int64)
        accepted, event_ids, site_ids, cell_ids, ts = self.codec.decode(
            [r.value for r in records], EVENT_SCHEMA, self.region, COUNTERS, counters, minutes
        )
        keep = np.frombuffer(accepted, dtype=np.uint8).astype(bool)
        # The codec checks the region and reads a site and a cell id of any length; an event of a
        # site not served here, or with a cell id over the limit, takes the shared path, whose
        # checks refuse it, so that both decoders lead to the same refusal.
        served, limit = self.served_sites, self.max_cell_id_chars
        if not served.issuperset(filter(None, site_ids)) or max(map(len, filter(None, cell_ids)), default=0) > limit:
            for i, (site, cell_id) in enumerate(zip(site_ids, cell_ids, strict=True)):
                if keep[i] and (site not in served or len(cell_id or "") > limit):
                    keep[i] = False
        text_columns = (event_ids, site_ids, cell_ids, ts)
        for i in np.flatnonzero(~keep).tolist():
            for item in self.events.screen([records[i]], outcome):
                for column, name in zip(text_columns, TEXT_FIELDS, strict=True):
                    column[i] = item.event[name]
                counters[i] = counter_matrix([item.event["counters"]])[0]
                minutes[i] = utc_minute_of_day(item.ts)
                keep[i] = True
        if keep.all():
            rows = list(records)
        else:
            kept = np.flatnonzero(keep).tolist()
            rows = [records[i] for i in kept]
            event_ids, site_ids, cell_ids, ts = ([column[i] for i in kept] for column in text_columns)
            counters, minutes = counters[keep], minutes[keep]
        return CellKpiBatch(rows, event_ids, site_ids, cell_ids, ts, counters, minutes)  # type: ignore[arg-type]
