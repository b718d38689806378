"""The KPI anomaly pipeline's batch codec: a batch of cell-KPI events decoded into columns, and a
batch of score records encoded from columns, one call each, so the per-event work is C's.

`native` is the C extension `pipelines.kpi_anomaly._codec`, built with the package; `reference`
is the Python below, which defines what both compute. `EDGE_KERNELS` chooses between them as it
does for `kernels` (`auto`, `native`, `reference`); `CODEC` is the one chosen.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import orjson

from kernels import ImplementationName, choose_implementation
from pipelines.cell_kpi import GUARDED_FIELDS, check_cell_kpi_fields
from pipelines.events import (
    EventRejected,
    check_envelope,
    decode_event,
)
from pipelines.kpi_anomaly.features import counter_matrix

Columns = tuple[bytes, list[str | None], list[str | None], list[str | None], list[str | None]]


TEXT_FIELDS = ("event_id", "site_id", "cell_id", "ts")
"""The fields `DecodeCellKpis` returns as columns, in its order."""
def utc_minute_of_day(ts: datetime) -> int:
    """The minute of the day (0-1439) of a UTC time, as the decoders give it."""
    return ts.hour * 60 + ts.minute


class DecodeCellKpis(Protocol):
    """Reads each of `values` as a `schema` event of `region`.

    Returns `(accepted, event_ids, site_ids, cell_ids, ts)`. Where `accepted[i]` is 1, value `i`
    was read: the lists hold its fields, `counters_out[i]` its `counter_names` as
    `features.counter_matrix` reads them, and `minutes_out[i]` the UTC minute of the day of its
    `ts`. Where it is 0, the lists hold None and the rows of the arrays are undefined: the
    pipeline hands that record to its `EventIntake`, which accepts or refuses it with a reason.

    A value is accepted only if the intake would accept it (a JSON object whose envelope,
    `cell_id` and `counters` pass their checks, of `schema` and `region`), and the reference
    accepts exactly those. The native decoder leaves to the intake, besides, everything it does
    not need to read fast: anything but printable ASCII without escape sequences, a field or
    counter named twice, timestamps other than `YYYY-MM-DDTHH:MM:SS[.ffffff]` with `Z` or an
    `+HH:MM` offset, years 1 and 9999, and values nested more than 64 deep.

    Raises:
        TypeError, ValueError: an argument of the wrong type or size (naming it).
    """

    def __call__(
        self,
        values: list[bytes | None],
        schema: str,
        region: str,
        counter_names: tuple[str, ...],
        counters_out: npt.NDArray[np.float64],
        minutes_out: npt.NDArray[np.int64],
    ) -> Columns: ...


class EncodeCellScores(Protocol):
    """One score record per row, as JSON bytes, with the fields in this order: `schema`,
    `event_id`, `result_id` (uuid5 of `id_namespace` and `id_prefix` + the event id), `region`,
    `site_id`, `cell_id`, `ts`, `score` (`round(score, 6)`; null when not finite), `is_anomaly`,
    `top_counters` (`top_counters[i]`, already a JSON array), `window_samples`, `state_rebuilt`
    (`window_samples < window`) and `model` (already a JSON object).

    Both implementations write the same values; the bytes may spell a number or an escape
    differently (`1e-06` or `1e-6`).

    Raises:
        TypeError, ValueError: a column of the wrong type or length (naming it).
    """

    def __call__(
        self,
        *,
        schema: str,
        region: str,
        event_ids: list[str],
        site_ids: list[str],
        cell_ids: list[str],
        ts: list[str],
        scores: npt.NDArray[np.float64],
        anomalous: npt.NDArray[np.bool_],
        top_counters: list[bytes],
        window_samples: npt.NDArray[np.int64],
        window: int,
        model: bytes,
        id_namespace: bytes,
        id_prefix: bytes,
    ) -> list[bytes]: ...


def decode_cell_kpis(
    values: list[bytes | None],
    schema: str,
    region: str,
    counter_names: tuple[str, ...],
    counters_out: npt.NDArray[np.float64],
    minutes_out: npt.NDArray[np.int64],
) -> Columns:
    """The reference `DecodeCellKpis`: the intake's own checks, event by event."""
    n = len(values)
    if counters_out.shape != (n, len(counter_names)) or minutes_out.shape != (n,):
        raise ValueError(f"counters_out must be ({n}, {len(counter_names)}) and minutes_out ({n},)")
    accepted = bytearray(n)
    columns: list[list[str | None]] = [[None] * n for _ in range(4)]
    rows: list[int] = []
    events: list[dict[str, Any]] = []
    for i, value in enumerate(values):
        try:
            event = decode_event(value, GUARDED_FIELDS)
            ts = check_envelope(event, schema)
            check_cell_kpi_fields(event)
        except EventRejected:
            continue
        if event["region"] != region:
            continue
        accepted[i] = 1
        for column, name in zip(columns, TEXT_FIELDS, strict=True):
            column[i] = event[name]
        minutes_out[i] = utc_minute_of_day(ts)
        rows.append(i)
        events.append(event["counters"])
    if rows:
        counters_out[rows] = counter_matrix(events, counter_names)
    return bytes(accepted), columns[0], columns[1], columns[2], columns[3]


def encode_cell_scores(
    *,
    schema: str,
    region: str,
    event_ids: list[str],
    site_ids: list[str],
    cell_ids: list[str],
    ts: list[str],
    scores: npt.NDArray[np.float64],
    anomalous: npt.NDArray[np.bool_],
    top_counters: list[bytes],
    window_samples: npt.NDArray[np.int64],
    window: int,
    model: bytes,
    id_namespace: bytes,
    id_prefix: bytes,
) -> list[bytes]:
    """The reference `EncodeCellScores`: one dict per row through orjson."""
    n = len(event_ids)
    for name, column in (("site_ids", site_ids), ("cell_ids", cell_ids), ("ts", ts), ("top_counters", top_counters),
                         ("scores", scores), ("anomalous", anomalous), ("window_samples", window_samples)):
        if len(column) != n:
            raise ValueError(f"{name} must have {n} items, got {len(column)}")
    namespace = uuid.UUID(bytes=id_namespace)
    prefix = id_prefix.decode()
    model_json = orjson.Fragment(model)
    return [
        orjson.dumps(
            {
                "schema": schema,
                "event_id": event_id,
                "result_id": str(uuid.uuid5(namespace, prefix + event_id)),
                "region": region,
                "site_id": site_id,
                "cell_id": cell_id,
                "ts": at,
                "score": round(score, 6),
                "is_anomaly": flagged,
                "top_counters": orjson.Fragment(top),
                "window_samples": samples,
                "state_rebuilt": samples < window,
                "model": model_json,
            }
        )
        for event_id, site_id, cell_id, at, score, flagged, top, samples in zip(
            event_ids, site_ids, cell_ids, ts, scores.tolist(), anomalous.tolist(), top_counters,
            window_samples.tolist(), strict=True,
        )
    ]


@dataclass(frozen=True)
class CellKpiCodec:
    """One implementation of both halves, e.g. `load_codec("reference").decode`."""

    name: ImplementationName
    decode: DecodeCellKpis
    encode: EncodeCellScores


def load_codec(name: ImplementationName) -> CellKpiCodec:
    """The codec of one implementation, whatever `EDGE_KERNELS` says (tests and benchmarks).

    Raises:
        ImportError: `native` was asked for and the extension is not built.
    """
    if name == "native":
        from pipelines.kpi_anomaly import _codec

        return CellKpiCodec("native", _codec.decode_cell_kpis, _codec.encode_cell_scores)
    if name == "reference":
        return CellKpiCodec("reference", decode_cell_kpis, encode_cell_scores)
    raise ValueError(f"codec implementation must be native or reference, got {name!r}")


CODEC = choose_implementation(os.environ, load_codec)
