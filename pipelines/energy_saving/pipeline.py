"""The energy-saving pipeline: reads the cell-KPI stream in its own consumer group, forecasts each
cell's load for the next periods with one inference call per batch, publishes every forecast, and
recommends cell sleep (and wake) to the SON controller. Each cell's history and sleep plan go to
the pipeline's changelog after every batch that touched it, so that a replica taking the cell
over renews its lease, or wakes it, as this one would have."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Unpack

import numpy as np
import numpy.typing as npt

from edge.telemetry import trace_headers
from pipelines.accel_client import AcceleratorClient
from pipelines.base import Pipeline, SiteOptions
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
from pipelines.intake import AcceptedEvent, EventIntake
from pipelines.outcome import BatchOutcome
from pipelines.records import InboundRecord, OutboundRecord
from pipelines.state_data import read_section

NAME = "energy-saving"
MODEL = "load-forecast"
_OUTPUTS = ["prb_dl_pct", "rrc_conn_mean"]


@dataclass(frozen=True)
class _PreparedLoads:
    """A batch's accepted samples appended to their cells' histories: what the model reads."""

    accepted: list[AcceptedEvent]
    rows: HistoryRows
    epoch: npt.NDArray[np.float64]
    periods: npt.NDArray[np.float64]

    @property
    def records(self) -> list[InboundRecord]:
        return [item.record for item in self.accepted]


class _Forecasts(NamedTuple):
    """Per sample, per step, forecast PRB use and users (NaN where the history is not ready), and
    the model version that made them (None: no history was ready, the model was not asked)."""

    values: npt.NDArray[np.float64]
    model_version: str | None


class EnergySavingPipeline(Pipeline[_PreparedLoads]):
    """Cell KPIs in (`{region}.ran.kpi`); forecasts (`.son.forecasts`) and sleep
    recommendations (`.son.energy`) out."""

    name = NAME
    batch_records = 1_000
    max_request_rows = 4_000
    """Read from VES, a batch holds a sample per cell of each event: more than one request takes."""
    # Not overlapping: `emit` makes and changes plans, and a later batch's `prepare` could evict
    # their cells meanwhile. One batch at a time, each batch's changelog takes its cells' plans as
    # `emit` leaves them (`settle_state`), with nothing of a later batch mixed in.
    entity_limits = EntityLimits(max_entities=40_000)
    """1.0 KB a cell measured (1.65 KB with 256-character ids; README "Memory"): 40,000 cells take
    38-63 MiB, within a quarter of the chart's 256 MiB memory request."""
    intake: EventIntake

    def __init__(
        self,
        region: str,
        site_id: str,
        accel: AcceleratorClient,
        *,
        settings: EnergySavingSettings | None = None,
        group_of: Callable[[str], str] = co_sited_group,
        **options: Unpack[SiteOptions],
    ) -> None:
        super().__init__(region, site_id, accel, **options)
        self.settings = settings if settings is not None else EnergySavingSettings()
        limits = self.entity_limits
        max_cell_id_chars = limits.max_key_chars

        def check_fields(event: dict[str, Any]) -> None:
            check_cell_kpi_fields(event, max_cell_id_chars)
            check_reporting_period(event)  # a forecast steps by it

        self.intake = EventIntake(
            NAME, SCHEMA, self.topics, site_id, check_fields,
            served_site_ids=self.served_site_ids, guarded_fields=("cell_id", "granularity_s", "counters"),
        )
        self.history = LoadHistory(max_cells=limits.max_entities)
        self.policy = SleepPolicy(self.settings, group_of)
        self.forecast_topic = self.topics.son_forecasts
        self.input_topics = [self.topics.kpi]
        self.output_topics = [self.topics.son_energy, self.forecast_topic, self.topics.dlq, self.topics.audit]
        self._cells = self.hold_entities(limits, self._drop_cells)

    def _drop_cells(self, cells: list[str]) -> None:
        """Drop the history and sleep plan of cells moved away or evicted by the limits. A cell
        dropped while asleep wakes by itself when its lease runs out, as after a rebalance."""
        self.history.forget(cells)
        self.policy.forget(cells)

    def prepare(self, records: Sequence[InboundRecord], outcome: BatchOutcome) -> _PreparedLoads | None:
        """Screen the batch and append each sample's load to its cell's history."""
        accepted = self.intake.screen(records, outcome)
        if not accepted:
            return None
        epoch = np.array([a.ts.timestamp() for a in accepted])
        cells = self._cells.note(accepted, "cell_id", epoch.tolist())
        periods = np.array([a.event["granularity_s"] for a in accepted], dtype=np.float64)
        loads = np.array([load_values(a.event["counters"]) for a in accepted])
        rows = self.history.append(cells, loads, epoch, periods, self.settings.utc_offset_h)
        # The histories go to the changelog as `prepare` leaves them, whether `emit` or a refusal
        # by the accelerator finishes the batch: the samples are in them either way. `settle_state`
        # adds the plans.
        self.take_state(outcome, {cell: {"history": self.history.snapshot(cell), "plan": None} for cell in dict.fromkeys(cells)})
        return _PreparedLoads(accepted, rows, epoch, periods)

    def settle_state(self, outcome: BatchOutcome) -> None:
        """Complete the batch's changelog with each changed cell's plan as `emit` left it."""
        self.complete_state(outcome, "plan", self.policy.snapshot)

    def entity_state(self, key: str) -> dict[str, Any] | None:
        history = self.history.snapshot(key)
        return None if history is None else {"history": history, "plan": self.policy.snapshot(key)}

    def restore_entity(self, key: str, version: int, state: dict[str, Any]) -> None:
        history, plan = read_section(state, "history"), read_section(state, "plan")
        if history is None:
            raise ValueError("a cell's state needs its `history`")
        self.history.load(key, history)
        self.policy.load(key, plan, HORIZON)

    async def infer(self, prepared: _PreparedLoads, stopping: asyncio.Event) -> _Forecasts:
        """Forecasts for the samples whose history is ready; the model is not asked when none is."""
        rows, ready = prepared.rows, prepared.rows.ready
        forecasts = np.full((len(prepared.accepted), HORIZON, 2), np.nan)
        if not ready.any():
            return _Forecasts(forecasts, None)
        inputs = {
            "history": rows.values[ready],
            "history_hour": rows.hours[ready],
            "target_hour": target_hours(prepared.epoch, prepared.periods, self.settings.utc_offset_h)[ready],
        }
        result = await self.call_model(MODEL, inputs, _OUTPUTS, stopping)
        forecasts[ready] = np.stack([np.asarray(result.outputs[name], dtype=np.float64) for name in _OUTPUTS], axis=-1)
        return _Forecasts(forecasts, result.model_version)

    def emit(self, outcome: BatchOutcome, prepared: _PreparedLoads, answer: _Forecasts) -> None:
        accepted, rows, epoch = prepared.accepted, prepared.rows, prepared.epoch
        forecasts, model_version = answer
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
