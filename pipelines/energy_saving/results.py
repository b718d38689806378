"""The result contracts of the energy-saving pipeline: one load forecast per KPI event, and
cell-sleep recommendations for the SON controller."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from pipelines.cell_kpi import managed_object
from pipelines.energy_saving.history import LOAD_COUNTERS
from pipelines.energy_saving.policy import Decision
from pipelines.results import result_id, rfc3339

FORECAST_SCHEMA = "son.load_forecast.v1"
RECOMMENDATION_SCHEMA = "son.energy_recommendation.v1"


def timestamp(epoch_s: float) -> str:
    """POSIX seconds as RFC 3339 UTC."""
    return rfc3339(datetime.fromtimestamp(epoch_s, UTC))


def _envelope(pipeline: str, event: dict[str, Any], schema: str, kind: str) -> dict[str, Any]:
    return {
        "schema": schema,
        "event_id": event["event_id"],
        "result_id": result_id(pipeline, event["event_id"], kind),
        "region": event["region"],
        "site_id": event["site_id"],
        "cell_id": event["cell_id"],
        "ts": event["ts"],
    }


def forecast_record(
    *,
    pipeline: str,
    event: dict[str, Any],
    epoch_s: float,
    prb: npt.NDArray[np.float64] | None,
    users: npt.NDArray[np.float64] | None,
    history_samples: int,
    window: int,
    late: bool,
    model_name: str,
    model_version: str | None,
) -> bytes:
    """One `son.load_forecast.v1` record: exactly one per KPI event. `horizon` is empty while the
    cell has not yet reported both loads."""
    period_s = event["granularity_s"]
    horizon = []
    if prb is not None and users is not None:
        horizon = [
            {
                "ts": timestamp(epoch_s + (h + 1) * period_s),
                LOAD_COUNTERS[0]: round(float(prb[h]), 2),
                LOAD_COUNTERS[1]: round(float(users[h]), 1),
            }
            for h in range(len(prb))
        ]
    body = _envelope(pipeline, event, FORECAST_SCHEMA, "forecast") | {
        "granularity_s": period_s,
        "horizon": horizon,
        "history_samples": history_samples,
        "state_rebuilt": history_samples < window,
        "late": late,
        "model": {"name": model_name, "version": model_version},
    }
    return orjson.dumps(body)


def recommendation_record(
    *,
    pipeline: str,
    event: dict[str, Any],
    decision: Decision,
    prb: npt.NDArray[np.float64],
    users: npt.NDArray[np.float64],
    state_rebuilt: bool,
    model_name: str,
    model_version: str,
) -> bytes:
    """One `son.energy_recommendation.v1` record: the cell, the 3GPP `energySavingControl` value,
    from when to when, why, who carries its users, and the expected saving."""
    until = decision.valid_until_s
    hours = None if until is None else (until - decision.valid_from_s) / 3600
    saving = decision.expected_saving_w
    body = _envelope(pipeline, event, RECOMMENDATION_SCHEMA, "recommendation") | {
        "managedObject": managed_object(event["region"], event["site_id"], event["cell_id"]),
        "energySavingControl": decision.control,
        "reason": decision.reason,
        "valid_from": timestamp(decision.valid_from_s),
        "valid_until": None if until is None else timestamp(until),
        "renewal": decision.renewal,
        "neighbour_group": decision.group,
        "absorbing_cells": list(decision.absorbing_cells),
        "expected_saving_w": None if saving is None else round(saving, 1),
        "expected_saving_wh": None if saving is None or hours is None else round(saving * hours, 1),
        "forecast": {
            LOAD_COUNTERS[0]: [round(float(v), 2) for v in prb],
            LOAD_COUNTERS[1]: [round(float(v), 1) for v in users],
        },
        "group_load_per_awake_cell": {
            LOAD_COUNTERS[0]: round(decision.group_prb_per_awake_pct, 2),
            LOAD_COUNTERS[1]: round(decision.group_users_per_awake, 1),
        },
        "state_rebuilt": state_rebuilt,
        "model": {"name": model_name, "version": model_version},
    }
    return orjson.dumps(body)
