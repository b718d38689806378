"""The KPI anomaly pipeline: validates cell-KPI events, scores a whole batch with one inference
call, emits one score per event, and raises, escalates and clears one alarm per incident."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from itertools import repeat
from typing import Any, NamedTuple, Unpack

import numpy as np
import orjson

from edge.telemetry import trace_headers
from pipelines.accel_client import AcceleratorClient, InferResult
from pipelines.base import Pipeline, SiteOptions
from pipelines.entity_limits import EntityLimits, sampled_times_s
from pipelines.kpi_anomaly.features import (
    KPI_NAMES,
    KPIS,
    N_KPIS,
    WINDOW,
    CellWindows,
    hour_features_of_minutes,
    kpis_from_counters,
    worst_kpis,
)
from pipelines.kpi_anomaly.incidents import AlarmPolicy, IncidentTracker
from pipelines.kpi_anomaly.intake import CellKpiBatch, CellKpiIntake
from pipelines.kpi_anomaly.results import SCORE_SCHEMA, alarm_body
from pipelines.outcome import BatchOutcome
from pipelines.records import InboundRecord, OutboundRecord
from pipelines.results import RESULT_NAMESPACE_BYTES
from pipelines.ves.alarms import VesAlarms

NAME = "kpi-anomaly"
MODEL = "kpi-anomaly"
_OUTPUTS = ["score", "is_anomaly", "contributions"]
_TOP = 3
"""KPIs named per score (`top_counters`) and per alarm explanation."""
N_KPIS_CODE = 10
_WORST_CODE = N_KPIS_CODE ** np.arange(_TOP - 1, -1, -1)
"""Weights that turn a row of worst-KPI indices into one integer, for a cache lookup."""
assert N_KPIS <= N_KPIS_CODE
_SCORE_ID_PREFIX = f"{NAME}/score/".encode()


class _PreparedKpis(NamedTuple):
    """A batch's accepted samples, pushed through their cells' windows: the model's features and
    each row's window samples before it."""

    batch: CellKpiBatch
    features: np.ndarray
    history: np.ndarray

    @property
    def records(self) -> list[InboundRecord]:
        return self.batch.records


class KpiAnomalyPipeline(Pipeline[_PreparedKpis]):
    """Cell KPIs in (`{region}.ran.kpi`), scores (`.ran.kpi-scores`) and alerts (`.ran.anomalies`) out."""

    name = NAME
    batch_records = 4_000
    """Per-batch costs (one request, one commit, a produce request per partition) take a fifth of
    the CPU at 1,000 events a batch; 4,000 makes them small and still fits the model's 4,096."""
    max_request_rows = 4_000
    """Read from VES, a batch holds a sample per cell of each event: more than one request takes."""
    overlapping = True
    """The windows are read and written in `prepare`, the incidents only in `emit`; a cell that a
    later batch evicts while this one's inference is out is handled where its alarm is raised."""
    entity_limits = EntityLimits(max_entities=40_000)
    """1.1 KB a cell measured (1.35 KB with 256-character ids; README "Memory"): 40,000 cells take
    42-51 MiB, within a quarter of the chart's 256 MiB memory request."""
    intake: CellKpiIntake

    def __init__(
        self, region: str, site_id: str, accel: AcceleratorClient, *, alarm_policy: AlarmPolicy | None = None,
        ves_alarms: VesAlarms | None = None, **options: Unpack[SiteOptions],
    ) -> None:
        super().__init__(region, site_id, accel, **options)
        limits = self.entity_limits
        self.intake = CellKpiIntake(
            NAME, self.topics, site_id, max_cell_id_chars=limits.max_key_chars, served_site_ids=self.served_site_ids
        )
        self.windows = CellWindows(max_cells=limits.max_entities)
        self.incidents = IncidentTracker(alarm_policy)
        self.input_topics = [self.topics.kpi]
        self.alarms_topic = self.topics.alarms_open
        self.output_topics = [
            self.topics.kpi_scores, self.topics.anomalies, self.alarms_topic, self.topics.dlq, self.topics.audit,
        ]
        self.ves_alarms = ves_alarms
        """Writes each alarm also as a VES event (None: no VES output)."""
        if ves_alarms is not None:
            self.output_topics.append(ves_alarms.topic)
        self._cells = self.hold_entities(
            limits, self._drop_cells, spare=lambda cell: self.incidents.open_incident(cell) is not None
        )
        self._counters_by_combo: dict[int, bytes] = {}

    def _drop_cells(self, cells: list[str]) -> None:
        """Drop the windows and open incidents of cells moved away or evicted by the limits."""
        self.windows.forget(cells)
        self.incidents.forget(cells)

    def prepare(self, records: Sequence[InboundRecord], outcome: BatchOutcome) -> _PreparedKpis | None:
        """Screen the batch and push its samples through the cells' windows."""
        batch = self.intake.screen(records, outcome)
        if not batch.records:
            return None
        cells = self._cells.note_keys(batch.records, batch.cell_ids, sampled_times_s(batch.ts))
        kpis = kpis_from_counters(batch.counters)
        features, history = self.windows.features(cells, kpis, hour_features_of_minutes(batch.minutes))
        # The windows go to the changelog as they stand now: a later batch begun while this one's
        # inference is out moves them on. `settle_state` adds the incidents once its alarms are decided.
        changed = list(dict.fromkeys(cells))
        self.take_state(outcome, {
            cell: {"window": window, "incident": None}
            for cell, window in zip(changed, self.windows.snapshots(changed), strict=True)
        })
        return _PreparedKpis(batch, features, history)

    @property
    def compacted_topics(self) -> list[str]:
        return [*super().compacted_topics, self.alarms_topic]

    def settle_state(self, outcome: BatchOutcome) -> None:
        """Complete the batch's changelog with each changed cell's incident as it now stands."""
        self.complete_state(outcome, "incident", self.incidents.snapshot)

    def entity_state(self, key: str) -> dict[str, Any] | None:
        window = self.windows.snapshot(key)
        return None if window is None else {"window": window, "incident": self.incidents.snapshot(key)}

    def restore_entity(self, key: str, version: int, state: dict[str, Any]) -> None:
        self.windows.load(key, state["window"])
        self.incidents.load(key, state.get("incident"))

    async def infer(self, prepared: _PreparedKpis, stopping: asyncio.Event) -> InferResult:
        return await self.call_model(MODEL, {"features": prepared.features}, _OUTPUTS, stopping)

    def emit(self, outcome: BatchOutcome, prepared: _PreparedKpis, result: InferResult) -> None:
        batch, features, history = prepared
        scores = np.ascontiguousarray(result.outputs["score"], dtype=np.float64).reshape(-1)
        flags = np.ascontiguousarray(result.outputs["is_anomaly"], dtype=bool).reshape(-1)
        worst = worst_kpis(np.asarray(result.outputs["contributions"]))
        model = {"name": result.model_name, "version": result.model_version}
        values = self.intake.codec.encode(
            schema=SCORE_SCHEMA, region=self.topics.region, event_ids=batch.event_ids,
            site_ids=batch.site_ids, cell_ids=batch.cell_ids, ts=batch.ts, scores=scores,
            anomalous=flags, top_counters=[self._top_counters(c) for c in (worst @ _WORST_CODE).tolist()],
            window_samples=np.ascontiguousarray(history, dtype=np.int64), window=WINDOW,
            model=orjson.dumps(model), id_namespace=RESULT_NAMESPACE_BYTES, id_prefix=_SCORE_ID_PREFIX,
        )
        keys = [cell.encode() for cell in batch.cell_ids]
        headers = [trace_headers(r.headers) for r in batch.records]
        outcome.outputs.extend(map(OutboundRecord, repeat(self.topics.kpi_scores), keys, values, headers))
        self._raise_alarms(outcome, batch, scores, flags, worst, features, keys, headers, model)
        outcome.results += len(values)
        outcome.anomalies += int(flags.sum())

    def _raise_alarms(
        self,
        outcome: BatchOutcome,
        batch: CellKpiBatch,
        scores: np.ndarray,
        flags: np.ndarray,
        worst: np.ndarray,
        features: np.ndarray,
        keys: list[bytes],
        headers: list[list[tuple[str, bytes]]],
        model: dict[str, str],
    ) -> None:
        """Alarm notifications, one per incident change. Only cells with an anomaly in this batch
        or an incident still open can have one, so only their rows are looked at, in order."""
        cells = batch.cell_ids
        watched = self.incidents.open_cells() | {cells[i] for i in np.flatnonzero(flags).tolist()}
        if not watched:
            return
        for i in [i for i, cell in enumerate(cells) if cell in watched]:
            score = float(scores[i])
            notification = self.incidents.observe(cells[i], batch.event_ids[i], batch.ts[i], score, bool(flags[i]))
            if notification is None:
                continue
            if notification.kind == "notifyNewAlarm" and cells[i] not in self._cells:
                # Evicted by a later batch while this one's inference was out: raise the alarm,
                # keep no state for it.
                self.incidents.forget([cells[i]])
            event = batch.event(i)
            body = alarm_body(
                pipeline=NAME, event=event, notification=notification, score=score,
                explanation=_explain(event, worst[i], features[i]), model=model,
            )
            alarm = orjson.dumps(body)
            outcome.outputs.append(OutboundRecord(self.topics.anomalies, keys[i], alarm, headers[i]))
            if self.ves_alarms is not None:
                outcome.outputs.append(self.ves_alarms.record(body, headers[i]))
            # The site's open-alarm list, for an OSS to resynchronise from: the alarm's latest
            # notification while it is open, a tombstone once it clears.
            cleared = notification.kind == "notifyClearedAlarm"
            outcome.outputs.append(
                OutboundRecord(self.alarms_topic, notification.incident.alarm_id.encode(), None if cleared else alarm)
            )

    def _top_counters(self, combo: int) -> bytes:
        """The counters behind a row's worst KPIs as a JSON array, by the row's code
        (`worst @ _WORST_CODE`)."""
        counters = self._counters_by_combo.get(combo)
        if counters is None:
            kpis = [(combo // 10**j) % N_KPIS_CODE for j in reversed(range(_TOP))]
            counters = self._counters_by_combo[combo] = orjson.dumps([c for k in kpis for c in KPIS[k][1]])
        return counters


def _explain(event: dict[str, Any], worst: np.ndarray, features: np.ndarray) -> list[dict[str, Any]]:
    """The worst KPIs of one sample: their counters as reported, and how many standard deviations
    each sits from the cell's recent window (0 while the window is still filling)."""
    counters = event["counters"]
    deviations = features[N_KPIS : 2 * N_KPIS].tolist()
    return [
        {
            "kpi": KPI_NAMES[k],
            "deviation_sigma": round(deviations[k], 2),
            "counters": {name: counters.get(name) for name in KPIS[k][1]},
        }
        for k in worst.tolist()
    ]
