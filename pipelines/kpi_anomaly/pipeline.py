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
from pipelines.partition_keys import PartitionKeys
from pipelines.records import InboundRecord, OutboundRecord

NAME = "kpi-anomaly"
MODEL = "kpi-anomaly"
EVENT_SCHEMA = "ran.cell_kpi.v1"
_OUTPUTS = ["score", "is_anomaly", "contributions"]
_TOP = 3
"""KPIs named per score (`top_counters`) and per alarm explanation."""
N_KPIS_CODE = 10
_WORST_CODE = N_KPIS_CODE ** np.arange(_TOP - 1, -1, -1)
"""Weights that turn a row of worst-KPI indices into one integer, for a cache lookup."""
assert N_KPIS <= N_KPIS_CODE


def check_cell_kpi_fields(event: dict[str, Any]) -> None:
    """The fields of `ran.cell_kpi.v1` this pipeline reads beyond the envelope."""
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
        self.intake = EventIntake(NAME, EVENT_SCHEMA, self.topics, site_id, check_cell_kpi_fields)
        self.accel = accel
        self.windows = CellWindows()
        self.incidents = IncidentTracker(alarm_policy)
        self.retry_backoff_s = retry_backoff_s
        self.input_topics = [self.topics.kpi]
        self.output_topics = [self.topics.kpi_scores, self.topics.anomalies, self.topics.dlq, self.topics.audit]
        self._cells = PartitionKeys()
        self._counters_by_combo: dict[int, list[str]] = {}

    def forget_keys(self, partitions: Sequence[tuple[str, int]]) -> None:
        cells = self._cells.release(partitions)
        self.windows.forget(cells)
        self.incidents.forget(cells)

    async def process(self, records: Sequence[InboundRecord], stopping: asyncio.Event) -> BatchOutcome:
        outcome = BatchOutcome(events_in=len(records))
        accepted = self.intake.screen(records, outcome)
        if not accepted:
            return outcome
        cells = self._cells.note(accepted, "cell_id")
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
        scores = np.asarray(result.outputs["score"], dtype=np.float64).tolist()
        flags = np.asarray(result.outputs["is_anomaly"], dtype=bool).tolist()
        worst = worst_kpis(np.asarray(result.outputs["contributions"]))
        # Plain Python values, once per batch: per-row NumPy scalars cost more than the row's JSON.
        top_counters = [self._top_counters(combo) for combo in (worst @ _WORST_CODE).tolist()]
        windows = history.tolist()
        model = {"name": result.model_name, "version": result.model_version}
        scores_topic, outputs, observe = self.topics.kpi_scores, outcome.outputs, self.incidents.observe
        for i, item in enumerate(accepted):
            event = item.event
            key = event["cell_id"].encode()
            headers = trace_headers(item.record.headers)
            score, flagged, window = scores[i], flags[i], windows[i]
            outputs.append(
                OutboundRecord(
                    scores_topic,
                    key,
                    score_record(NAME, event, score, flagged, top_counters[i], window, window >= WINDOW, model),
                    headers,
                )
            )
            notification = observe(event["cell_id"], event["event_id"], event["ts"], score, flagged)
            if notification is not None:
                outputs.append(
                    OutboundRecord(
                        self.topics.anomalies,
                        key,
                        alarm_record(
                            pipeline=NAME, event=event, notification=notification, score=score,
                            explanation=_explain(event, worst[i], features[i]), model=model,
                        ),
                        headers,
                    )
                )
        outcome.results += len(accepted)
        outcome.anomalies += sum(flags)

    def _top_counters(self, combo: int) -> list[str]:
        """The counters behind a row's worst KPIs, by the row's code (`worst @ _WORST_CODE`)."""
        counters = self._counters_by_combo.get(combo)
        if counters is None:
            kpis = [(combo // 10**j) % N_KPIS_CODE for j in reversed(range(_TOP))]
            counters = self._counters_by_combo[combo] = [c for k in kpis for c in KPIS[k][1]]
        return counters


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
