"""The KPI anomaly pipeline: validates cell-KPI events, scores a whole batch with one inference
call, emits one score per event, and raises, escalates and clears one alarm per incident."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np

from edge.telemetry import trace_headers
from edge.topics import SiteTopics
from pipelines.accel_client import AcceleratorClient, InferResult
from pipelines.base import BatchOutcome
from pipelines.errors import InferenceRejected
from pipelines.events import SchemaViolation
from pipelines.intake import AcceptedEvent, EventIntake
from pipelines.kpi_anomaly.features import (
    KPI_NAMES,
    KPIS,
    N_KPIS,
    WINDOW,
    CellWindows,
    hour_features,
    kpi_matrix,
    worst_kpis,
)
from pipelines.kpi_anomaly.incidents import AlarmPolicy, IncidentTracker
from pipelines.kpi_anomaly.results import alarm_record, score_record
from pipelines.records import InboundRecord, OutboundRecord

NAME = "kpi-anomaly"
MODEL = "kpi-anomaly"
EVENT_SCHEMA = "ran.cell_kpi.v1"
_OUTPUTS = ["score", "is_anomaly", "contributions"]


def _check_cell_kpi_fields(event: dict[str, Any]) -> None:
    cell_id = event.get("cell_id")
    if not isinstance(cell_id, str) or not cell_id:
        raise SchemaViolation(f"field 'cell_id' must be a non-empty string, got {cell_id!r:.80}")
    counters = event.get("counters")
    if not isinstance(counters, dict):
        raise SchemaViolation(f"field 'counters' must be an object, got {type(counters).__name__}")


class KpiAnomalyPipeline:
    """Cell KPIs in (`{region}.ran.kpi`), scores (`.ran.kpi-scores`) and alerts (`.ran.anomalies`) out."""

    name = NAME

    def __init__(
        self,
        region: str,
        site_id: str,
        accel: AcceleratorClient,
        *,
        retry_backoff_s: float = 0.5,
        alarm_policy: AlarmPolicy | None = None,
    ) -> None:
        self.topics = SiteTopics(region)
        self.site_id = site_id
        self.intake = EventIntake(NAME, EVENT_SCHEMA, self.topics, site_id, _check_cell_kpi_fields)
        self.accel = accel
        self.windows = CellWindows()
        self.incidents = IncidentTracker(alarm_policy)
        self.retry_backoff_s = retry_backoff_s
        self.input_topics = [self.topics.kpi]
        self.output_topics = [self.topics.kpi_scores, self.topics.anomalies, self.topics.dlq, self.topics.audit]
        self._cells_by_partition: dict[tuple[str, int], set[str]] = {}

    def forget_keys(self, partitions: Sequence[tuple[str, int]]) -> None:
        for tp in partitions:
            cells = sorted(self._cells_by_partition.pop(tp, set()))
            self.windows.forget(cells)
            self.incidents.forget(cells)

    async def process(self, records: Sequence[InboundRecord], stopping: asyncio.Event) -> BatchOutcome:
        outcome = BatchOutcome(events_in=len(records))
        accepted = self.intake.screen(records, outcome)
        if not accepted:
            return outcome
        cells = [a.event["cell_id"] for a in accepted]
        for item, cell in zip(accepted, cells, strict=True):
            self._cells_by_partition.setdefault((item.record.topic, item.record.partition), set()).add(cell)
        kpis = kpi_matrix([a.event["counters"] for a in accepted])
        hours = np.array([hour_features(a.ts) for a in accepted]).reshape(-1, 2)
        features, history = self.windows.features(cells, kpis, hours)
        try:
            result = await self.accel.infer_until_answered(
                MODEL, {"features": features}, _OUTPUTS, stopping, self.retry_backoff_s
            )
        except InferenceRejected as exc:
            for item in accepted:
                self.intake.reject(outcome, item.record, "inference", str(exc))
            return outcome
        self._emit(outcome, accepted, features, history, result)
        return outcome

    def _emit(
        self,
        outcome: BatchOutcome,
        accepted: list[AcceptedEvent],
        features: np.ndarray,
        history: np.ndarray,
        result: InferResult,
    ) -> None:
        scores = np.asarray(result.outputs["score"], dtype=np.float64)
        flags = np.asarray(result.outputs["is_anomaly"], dtype=bool)
        worst = worst_kpis(np.asarray(result.outputs["contributions"]))
        model = {"model_name": result.model_name, "model_version": result.model_version}
        for i, item in enumerate(accepted):
            event = item.event
            key = event["cell_id"].encode()
            headers = trace_headers(item.record.headers)
            score = float(scores[i])
            flagged = bool(flags[i])
            outcome.outputs.append(
                OutboundRecord(
                    self.topics.kpi_scores,
                    key,
                    score_record(
                        pipeline=NAME, event=event, score=score, is_anomaly=flagged,
                        top_counters=[c for k in worst[i] for c in KPIS[k][1]],
                        window_samples=int(history[i]), window_full=int(history[i]) >= WINDOW, **model,
                    ),
                    headers,
                )
            )
            outcome.results += 1
            notification = self.incidents.observe(event["cell_id"], event["event_id"], event["ts"], score, flagged)
            if flagged:
                outcome.anomalies += 1
            if notification is not None:
                outcome.outputs.append(
                    OutboundRecord(
                        self.topics.anomalies,
                        key,
                        alarm_record(
                            pipeline=NAME, event=event, notification=notification, score=score,
                            explanation=_explain(event, worst[i], features[i]), **model,
                        ),
                        headers,
                    )
                )


def _explain(event: dict[str, Any], worst: np.ndarray, features: np.ndarray) -> list[dict[str, Any]]:
    """The worst KPIs of one sample: their counters as reported, and how many standard deviations
    each sits from the cell's recent window (0 while the window is still filling)."""
    counters = event["counters"]
    return [
        {
            "kpi": KPI_NAMES[k],
            "deviation_sigma": round(float(features[N_KPIS + k]), 2),
            "counters": {name: counters.get(name) for name in KPIS[k][1]},
        }
        for k in worst
    ]
