"""The KPI anomaly pipeline: validates cell-KPI events, scores a whole batch with one inference
call, and emits one score per event and an alert per anomaly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from edge.residency import ResidencyPolicy
from edge.telemetry import trace_headers
from edge.topics import SiteTopics
from pipelines.accel_client import AcceleratorClient, InferResult
from pipelines.base import BatchOutcome
from pipelines.dlq import audit_record, dlq_record
from pipelines.errors import AcceleratorUnavailable, BatchAbandoned, InferenceRejected
from pipelines.events import EventRejected, SchemaViolation, check_envelope, decode_event
from pipelines.kpi_anomaly.features import (
    N_KPIS,
    WINDOW,
    CellWindows,
    contributing_counters,
    hour_features,
    kpi_vector,
)
from pipelines.kpi_anomaly.results import alert_record, score_record
from pipelines.records import InboundRecord, OutboundRecord

log = logging.getLogger(__name__)

NAME = "kpi-anomaly"
MODEL = "kpi-anomaly"
EVENT_SCHEMA = "ran.cell_kpi.v1"
_OUTPUTS = ["score", "is_anomaly", "contributions"]


class KpiAnomalyPipeline:
    """Cell KPIs in (`{region}.ran.kpi`), scores (`.ran.kpi-scores`) and alerts (`.ran.anomalies`) out."""

    name = NAME

    def __init__(self, region: str, site_id: str, accel: AcceleratorClient, *, retry_backoff_s: float = 0.5) -> None:
        self.topics = SiteTopics(region)
        self.site_id = site_id
        self.policy = ResidencyPolicy(region)
        self.accel = accel
        self.windows = CellWindows()
        self.retry_backoff_s = retry_backoff_s
        self.input_topics = [self.topics.kpi]
        self.output_topics = [self.topics.kpi_scores, self.topics.anomalies, self.topics.dlq, self.topics.audit]
        self._cells_by_partition: dict[tuple[str, int], set[str]] = {}

    def forget_keys(self, partitions: Sequence[tuple[str, int]]) -> None:
        for tp in partitions:
            self.windows.forget(sorted(self._cells_by_partition.pop(tp, set())))

    async def process(self, records: Sequence[InboundRecord], stopping: asyncio.Event) -> BatchOutcome:
        outcome = BatchOutcome(events_in=len(records))
        accepted: list[tuple[InboundRecord, dict[str, Any]]] = []
        kpis: list[np.ndarray] = []
        hours: list[tuple[float, float]] = []
        for record in records:
            try:
                event, ts = self._validate(record)
            except EventRejected as exc:
                self._reject(outcome, record, exc.reason, str(exc))
                continue
            violation = self.policy.event_region_violation(event.get("region"))
            if violation is not None:
                self._reject(outcome, record, "residency", violation)
                outcome.outputs.append(
                    audit_record(self.topics, self.site_id, NAME, "refused-event", violation, record)
                )
                continue
            accepted.append((record, event))
            kpis.append(kpi_vector(event["counters"]))
            hours.append(hour_features(ts))
        if not accepted:
            return outcome
        cells = [event["cell_id"] for _, event in accepted]
        for (record, _), cell in zip(accepted, cells, strict=True):
            self._cells_by_partition.setdefault((record.topic, record.partition), set()).add(cell)
        features, history = self.windows.features(
            cells, np.array(kpis).reshape(-1, N_KPIS), np.array(hours).reshape(-1, 2)
        )
        try:
            result = await self._infer(features, stopping)
        except InferenceRejected as exc:
            for record, _ in accepted:
                self._reject(outcome, record, "inference", str(exc))
            return outcome
        self._emit(outcome, accepted, history, result)
        return outcome

    def _validate(self, record: InboundRecord) -> tuple[dict[str, Any], Any]:
        event = decode_event(record.value)
        ts = check_envelope(event, EVENT_SCHEMA)
        cell_id = event.get("cell_id")
        if not isinstance(cell_id, str) or not cell_id:
            raise SchemaViolation(f"field 'cell_id' must be a non-empty string, got {cell_id!r:.80}")
        counters = event.get("counters")
        if not isinstance(counters, dict):
            raise SchemaViolation(f"field 'counters' must be an object, got {type(counters).__name__}")
        return event, ts

    def _reject(self, outcome: BatchOutcome, record: InboundRecord, reason: str, detail: str) -> None:
        outcome.outputs.append(dlq_record(self.topics, self.site_id, NAME, reason, detail, record))
        outcome.dlq += 1
        outcome.dlq_by_reason[reason] = outcome.dlq_by_reason.get(reason, 0) + 1

    async def _infer(self, features: np.ndarray, stopping: asyncio.Event) -> InferResult:
        """Call the accelerators until one answers; an outage delays the batch, it never drops it."""
        backoff = self.retry_backoff_s
        while True:
            try:
                return await self.accel.infer(MODEL, {"features": features}, _OUTPUTS)
            except AcceleratorUnavailable as exc:
                log.warning("inference unavailable, retrying in %.1f s: %s", backoff, exc)
            if stopping.is_set():
                raise BatchAbandoned("stopping while the accelerators are unavailable")
            try:
                await asyncio.wait_for(stopping.wait(), backoff)
            except TimeoutError:
                pass
            backoff = min(backoff * 2, 5.0)

    def _emit(
        self,
        outcome: BatchOutcome,
        accepted: list[tuple[InboundRecord, dict[str, Any]]],
        history: np.ndarray,
        result: InferResult,
    ) -> None:
        scores = np.asarray(result.outputs["score"], dtype=np.float64)
        flags = np.asarray(result.outputs["is_anomaly"], dtype=bool)
        tops = contributing_counters(np.asarray(result.outputs["contributions"]))
        for i, (record, event) in enumerate(accepted):
            key = event["cell_id"].encode()
            headers = trace_headers(record.headers)
            score = float(scores[i])
            flagged = bool(flags[i])
            outcome.outputs.append(
                OutboundRecord(
                    self.topics.kpi_scores,
                    key,
                    score_record(
                        pipeline=NAME, event=event, score=score, is_anomaly=flagged, top_counters=tops[i],
                        model_name=result.model_name, model_version=result.model_version,
                        window_samples=int(history[i]), window_full=int(history[i]) >= WINDOW,
                    ),
                    headers,
                )
            )
            outcome.results += 1
            if flagged:
                outcome.outputs.append(
                    OutboundRecord(
                        self.topics.anomalies,
                        key,
                        alert_record(
                            pipeline=NAME, event=event, score=score, top_counters=tops[i],
                            model_name=result.model_name, model_version=result.model_version,
                        ),
                        headers,
                    )
                )
                outcome.anomalies += 1
