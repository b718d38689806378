"""The cell-KPI event contract (`ran.cell_kpi.v1`) that the KPI anomaly and energy-saving
pipelines both read: its schema name, the fields beyond the envelope, and their checks."""

from __future__ import annotations

from typing import Any

from pipelines.events import ENVELOPE_FIELDS, SchemaViolation

SCHEMA = "ran.cell_kpi.v1"
GUARDED_FIELDS = (*ENVELOPE_FIELDS, "cell_id", "counters")
"""Fields a cell-KPI event may not name twice: every field either KPI codec reads (the native one
leaves an event that repeats one to the intake, which refuses it)."""
MAX_GRANULARITY_S = 86_400
"""Longest reporting period (`granularity_s`) a sample may declare: one day."""


def check_cell_kpi_fields(event: dict[str, Any], max_cell_id_chars: int | None = None) -> None:
    """The fields of `ran.cell_kpi.v1` the KPI pipelines read beyond the envelope.

    Args:
        max_cell_id_chars: the longest `cell_id` a pipeline keeps state for (its setting); the
            decoders read any length and leave the limit to the pipeline's intake.
    """
    cell_id = event.get("cell_id")
    if not isinstance(cell_id, str) or not cell_id:
        raise SchemaViolation(f"field 'cell_id' must be a non-empty string, got {cell_id!r:.80}")
    if max_cell_id_chars is not None and len(cell_id) > max_cell_id_chars:
        raise SchemaViolation(
            f"field 'cell_id' is {len(cell_id)} characters, the limit is {max_cell_id_chars} "
            f"(it starts {cell_id[:16]!r})"
        )
    counters = event.get("counters")
    if not isinstance(counters, dict):
        raise SchemaViolation(f"field 'counters' must be an object, got {type(counters).__name__}")


def check_reporting_period(event: dict[str, Any]) -> None:
    """A `granularity_s` that a forecast can step by: an integer number of seconds up to a day."""
    period = event.get("granularity_s")
    if type(period) is not int or not 1 <= period <= MAX_GRANULARITY_S:
        raise SchemaViolation(
            f"field 'granularity_s' must be an integer from 1 to {MAX_GRANULARITY_S} seconds, got {period!r:.80}"
        )


def managed_object(region: str, site_id: str, cell_id: str) -> str:
    """The cell as a 3GPP distinguished name, as alarms and recommendations about it name it."""
    return f"SubNetwork={region},MeContext={site_id},ManagedElement={site_id},NRCellDU={cell_id}"
