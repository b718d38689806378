"""The energy-saving pipeline: reads the cell-KPI stream in its own consumer group, forecasts each
cell's load for the next periods with one inference call per batch, publishes every forecast, and
recommends cell sleep (and wake) to the SON controller."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.telemetry import trace_headers
from edge.topics import SiteTopics
from pipelines.accel_client import AcceleratorClient
from pipelines.base import BatchOutcome
from pipelines.cell_kpi import SCHEMA, check_cell_kpi_fields, check_reporting_period
from pipelines.energy_saving.history import (
    HORIZON,
    WINDOW,
    HistoryRows,
    LoadHistory,
    load_values,
    target_hours,
)
from pipelines.energy_saving.neighbours import co_sited_group
from pipelines.energy_saving.policy import SleepPolicy
from pipelines.energy_saving.results import forecast_record, recommendation_record
from pipelines.energy_saving.settings import EnergySavingSettings
from pipelines.entity_limits import EntityLimits
from pipelines.errors import InferenceRejected
from pipelines.intake import AcceptedEvent, EventIntake
from pipelines.metrics import EvictionReason
from pipelines.partition_keys import PartitionKeys
from pipelines.records import InboundRecord, OutboundRecord

NAME = "energy-saving"
MODEL = "load-forecast"
_OUTPUTS = ["prb_dl_pct", "rrc_conn_mean"]


class EnergySavingPipeline:
    """Cell KPIs in (`{region}.ran.kpi`); forecasts (`.son.forecasts`) and sleep
    recommendations (`.son.energy`) out."""

    name = NAME
    batch_records = 1_000
    entity_limits = EntityLimits(max_entities=40_000)
    """1.0 KB a cell measured (1.65 KB with 256-character ids; README "Memory"): 40,000 cells take
    38-63 MiB, within a quarter of the chart's 256 MiB memory request."""

    def __init__(
        self,
        region: str,
        site_id: str,
        accel: AcceleratorClient,
        *,
        settings: EnergySavingSettings | None = None,
        group_of: Callable[[str], str] = co_sited_group,
        retry_backoff_s: float = 0.5,
        served_site_ids: Collection[str] = (),
        entity_limits: EntityLimits | None = None,
    ) -> None:
        self.topics = SiteTopics(region)
        self.site_id = site_id
        self.settings = settings if settings is not None else EnergySavingSettings()
        if entity_limits is not None:
            self.entity_limits = entity_limits
        max_cell_id_chars = self.entity_limits.max_key_chars

        def check_fields(event: dict[str, Any]) -> None:
            check_cell_kpi_fields(event, max_cell_id_chars)
            check_reporting_period(event)  # a forecast steps by it

        self.intake = EventIntake(
            NAME, SCHEMA, self.topics, site_id, check_fields,
            served_site_ids=served_site_ids, guarded_fields=("cell_id", "granularity_s", "counters"),
        )
        self.accel = accel
        self.history = LoadHistory(max_cells=self.entity_limits.max_entities)
        self.policy = SleepPolicy(self.settings, group_of)
        self.retry_backoff_s = retry_backoff_s
        self.forecast_topic = self.topics.son_forecasts
        self.input_topics = [self.topics.kpi]
        self.output_topics = [self.topics.son_energy, self.forecast_topic, self.topics.dlq, self.topics.audit]
        self._cells = PartitionKeys(self.entity_limits, pipeline=NAME, on_evict=self._drop_cells)

    @property
    def cells_held(self) -> int:
        """Cells whose state this replica holds."""
        return len(self._cells)

    @property
    def evictions(self) -> dict[EvictionReason, int]:
        """Cells whose state the limits have dropped so far, by reason (`capacity`, `idle`)."""
        return dict(self._cells.evictions)

    def forget_keys(self, partitions: Sequence[tuple[str, int]]) -> None:
        self._drop_cells(self._cells.release(partitions))

    def _drop_cells(self, cells: list[str]) -> None:
        """Drop the history and sleep plan of cells moved away or evicted by the limits. A cell
        dropped while asleep wakes by itself when its lease runs out, as after a rebalance."""
        self.history.forget(cells)
        self.policy.forget(cells)

    async def process(self, records: Sequence[InboundRecord], stopping: asyncio.Event) -> BatchOutcome:
        outcome = BatchOutcome(events_in=len(records))
        accepted = self.intake.screen(records, outcome)
        if not accepted:
            return outcome
        epoch = np.array([a.ts.timestamp() for a in accepted])
        cells = self._cells.note(accepted, "cell_id", epoch.tolist())
        periods = np.array([a.event["granularity_s"] for a in accepted], dtype=np.float64)
        loads = np.array([load_values(a.event["counters"]) for a in accepted])
        rows = self.history.append(cells, loads, epoch, periods, self.settings.utc_offset_h)
        forecasts = np.full((len(accepted), HORIZON, 2), np.nan)
        model_version: str | None = None
        if rows.ready.any():
            inputs = {
                "history": rows.values[rows.ready],
                "history_hour": rows.hours[rows.ready],
                "target_hour": target_hours(epoch, periods, self.settings.utc_offset_h)[rows.ready],
            }
            try:
                result = await self.accel.infer_until_answered(MODEL, inputs, _OUTPUTS, stopping, self.retry_backoff_s)
            except InferenceRejected as exc:
                for item in accepted:
                    self.intake.reject(outcome, item.record, "inference", str(exc))
                return outcome
            model_version = result.model_version
            forecasts[rows.ready] = np.stack(
                [np.asarray(result.outputs[name], dtype=np.float64) for name in _OUTPUTS], axis=-1
            )
        self._emit(outcome, accepted, rows, epoch, forecasts, model_version)
        return outcome

    def _emit(
        self,
        outcome: BatchOutcome,
        accepted: list[AcceptedEvent],
        rows: HistoryRows,
        epoch: npt.NDArray[np.float64],
        forecasts: npt.NDArray[np.float64],
        model_version: str | None,
    ) -> None:
        for i, item in enumerate(accepted):
            event = item.event
            key = event["cell_id"].encode()
            headers = trace_headers(item.record.headers)
            ready = bool(rows.ready[i])
            prb, users = forecasts[i, :, 0], forecasts[i, :, 1]
            samples = int(rows.samples[i])
            outcome.outputs.append(
                OutboundRecord(
                    self.forecast_topic,
                    key,
                    forecast_record(
                        pipeline=NAME, event=event, epoch_s=float(epoch[i]),
                        prb=prb if ready else None, users=users if ready else None,
                        history_samples=samples, window=WINDOW, late=bool(rows.late[i]),
                        model_name=MODEL, model_version=model_version,
                    ),
                    headers,
                )
            )
            outcome.results += 1
            if not ready or rows.late[i] or model_version is None:
                continue  # a late sample is forecast but not decided on: its moment has passed
            decision = self.policy.observe(
                event["cell_id"], float(epoch[i]), float(event["granularity_s"]), prb, users, samples,
                float(rows.power_w[i]),
            )
            if decision is None:
                continue
            outcome.outputs.append(
                OutboundRecord(
                    self.topics.son_energy,
                    key,
                    recommendation_record(
                        pipeline=NAME, event=event, decision=decision, prb=prb, users=users,
                        state_rebuilt=samples < WINDOW, model_name=MODEL, model_version=model_version,
                    ),
                    headers,
                )
            )
            if not decision.renewal:  # a lease renewal changes nothing at the cell
                outcome.anomalies += 1
