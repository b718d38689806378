"""The counters of a VES `perf3gpp` or `measurement` event, per cell: what becomes one
`ran.cell_kpi.v1` sample per cell, and what is left out and why.

perf3gpp (VES 7.2 `perf3gppFields`, the 3GPP PM data of TS 28.550): `measDataCollection` holds
`measInfoList`, each block naming its counters in `measTypes.sMeasTypesList` and giving, per
measured object (`measValuesList[].measObjInstId`), values in `measResults` as `{p, sValue |
iValue | rValue | isNull}`, `p` the 1-based position of the counter. A cell's counters may be
spread over several blocks; they make one sample. The period is `granularityPeriod` (seconds).

measurement (VES 7.2 `measurementFields`): each entry of `additionalMeasurements` is one measured
object, its `name` the object and its `hashMap` its counters by 3GPP name, values as strings.
The period is `measurementInterval` (seconds).

A measured object is a cell when its distinguished name ends in a cell class (`NRCellDU=...`,
`NRCellCU=`, `EUtranCellFDD=`, `EUtranCellTDD=`), the cell id being that value, or when it is a
plain id with no `=` at all. Other objects (a `GNBDUFunction`, a sector carrier) are skipped.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from pipelines.cell_kpi import MAX_GRANULARITY_S
from pipelines.errors import SchemaViolation
from pipelines.ves.events import json_kind

CELL_CLASSES = frozenset({"NRCellDU", "NRCellCU", "EUtranCellFDD", "EUtranCellTDD"})
PERF3GPP_VERSIONS = frozenset({"1.0", "1.0.1"})
MEASUREMENT_VERSIONS = frozenset({"4.0"})
COUNTER_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
"""A counter value written as text: a decimal number, nothing else ("NIL", "", words, NaN are no value)."""


@dataclass
class CellReadings:
    """Counters per cell of one event, the modelled ones only, and what was left out by reason:
    `counter` (a value of a counter the pipelines do not model), `suspect` (an object's values
    flagged suspect), `not_a_cell` (an object that is not a cell), `no_value` (a null or
    unreadable value), `no_counters` (a cell left without a modelled counter)."""

    granularity_s: int
    counters: dict[str, dict[str, float]] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)

    def add(self, cell: str, counter: str, value: float, where: str) -> None:
        held = self.counters.setdefault(cell, {})
        if counter in held:
            raise SchemaViolation(f"{where}: counter {counter[:80]!r} of cell {cell[:80]!r} is given twice in one event")
        held[counter] = value

    def settle(self) -> None:
        """Drop cells left without a modelled counter, counting them."""
        empty = [cell for cell, counters in self.counters.items() if not counters]
        for cell in empty:
            del self.counters[cell]
        self.skipped["no_counters"] += len(empty)


def cell_of(instance: str) -> str | None:
    """The cell id a measured object names, or None when it is not a cell."""
    if "=" not in instance:
        return instance.strip() or None
    last = instance.rsplit(",", 1)[-1]
    kind, _, value = last.partition("=")
    return value.strip() or None if kind.strip() in CELL_CLASSES else None


def perf3gpp_readings(event: dict[str, Any], modelled: Collection[str]) -> CellReadings:
    """The cells of a `perf3gpp` event.

    Raises:
        SchemaViolation: the fields are not those of VES 7.2 (the message names the field).
    """
    fields = _object(event, "perf3gppFields", "event")
    _enum(fields, "perf3gppFieldsVersion", PERF3GPP_VERSIONS, "event.perf3gppFields")
    where = "event.perf3gppFields.measDataCollection"
    collection = _object(fields, "measDataCollection", "event.perf3gppFields")
    _string(collection, "measuredEntityDn", where)
    readings = CellReadings(_period_s(collection, "granularityPeriod", where))
    for b, block in enumerate(_array(collection, "measInfoList", where)):
        at = f"{where}.measInfoList[{b}]"
        if not isinstance(block, dict):
            raise SchemaViolation(f"field '{at}' must be an object, got {json_kind(block)}")
        names = _counter_names(_object(block, "measTypes", at), f"{at}.measTypes")
        for v, values in enumerate(_array(block, "measValuesList", at)):
            _read_object_values(readings, values, names, modelled, f"{at}.measValuesList[{v}]")
    readings.settle()
    return readings


def measurement_readings(event: dict[str, Any], modelled: Collection[str]) -> CellReadings:
    """The cells of a `measurement` event.

    Raises:
        SchemaViolation: the fields are not those of VES 7.2 (the message names the field).
    """
    where = "event.measurementFields"
    fields = _object(event, "measurementFields", "event")
    _enum(fields, "measurementFieldsVersion", MEASUREMENT_VERSIONS, where)
    readings = CellReadings(_period_s(fields, "measurementInterval", where))
    entries = fields.get("additionalMeasurements", [])
    if not isinstance(entries, list):
        raise SchemaViolation(f"field '{where}.additionalMeasurements' must be an array, got {json_kind(entries)}")
    for m, entry in enumerate(entries):
        at = f"{where}.additionalMeasurements[{m}]"
        if not isinstance(entry, dict):
            raise SchemaViolation(f"field '{at}' must be an object, got {json_kind(entry)}")
        instance = _string(entry, "name", at)
        counters = _object(entry, "hashMap", at)
        cell = cell_of(instance)
        if cell is None:
            readings.skipped["not_a_cell"] += 1
            continue
        readings.counters.setdefault(cell, {})
        for name, text in counters.items():
            if not isinstance(text, str):
                raise SchemaViolation(f"field '{at}.hashMap' values must be strings, got {json_kind(text)}")
            if name not in modelled:
                readings.skipped["counter"] += 1
            elif COUNTER_NUMBER.fullmatch(text.strip()):
                readings.add(cell, name, float(text), at)
            else:
                readings.skipped["no_value"] += 1
    readings.settle()
    return readings


READERS: dict[str, Callable[[dict[str, Any], Collection[str]], CellReadings]] = {
    "perf3gpp": perf3gpp_readings,
    "measurement": measurement_readings,
}
"""The VES domains that carry cell counters, and their readers."""


def _read_object_values(
    readings: CellReadings, values: object, names: list[str | None], modelled: Collection[str], at: str
) -> None:
    if not isinstance(values, dict):
        raise SchemaViolation(f"field '{at}' must be an object, got {json_kind(values)}")
    instance = _string(values, "measObjInstId", at)
    results = _array(values, "measResults", at)
    suspect = values.get("suspectFlag", "false")
    if suspect not in ("true", "false"):
        raise SchemaViolation(f"field '{at}.suspectFlag' must be \"true\" or \"false\", got {json_kind(suspect)}")
    cell = cell_of(instance)
    if cell is None:
        readings.skipped["not_a_cell"] += 1
        return
    readings.counters.setdefault(cell, {})
    if suspect == "true":
        readings.skipped["suspect"] += 1
        return
    for r, result in enumerate(results):
        position, value = _result(result, len(names), f"{at}.measResults[{r}]")
        name = names[position - 1]
        if name is None or name not in modelled:
            readings.skipped["counter"] += 1
        elif value is None:
            readings.skipped["no_value"] += 1
        else:
            readings.add(cell, name, value, at)


def _result(result: object, types: int, at: str) -> tuple[int, float | None]:
    """`p` and the value of one `measResults` entry (None: null or not a number)."""
    if not isinstance(result, dict):
        raise SchemaViolation(f"field '{at}' must be an object, got {json_kind(result)}")
    position = result.get("p")
    if type(position) is not int:
        raise SchemaViolation(f"field '{at}.p' must be an integer, got {json_kind(position)}")
    if not 1 <= position <= types:
        raise SchemaViolation(f"field '{at}.p' is {str(position)[:24]}, the block names {types} counters (p counts from 1)")
    given = [name for name in ("iValue", "rValue", "sValue", "isNull") if name in result]
    if len(given) != 1:
        raise SchemaViolation(f"field '{at}' must hold one of iValue, rValue, sValue, isNull, got {given or 'none'}")
    [kind] = given
    value = result[kind]
    if kind == "iValue" and type(value) is int:
        return position, float(value)
    if kind == "rValue" and type(value) in (int, float):
        return position, float(value)
    if kind == "sValue" and isinstance(value, str):
        text = value.strip()
        return position, float(text) if COUNTER_NUMBER.fullmatch(text) else None
    if kind == "isNull" and value in ("true", "false"):
        return position, None
    expected = {"iValue": "an integer", "rValue": "a number", "sValue": "a string", "isNull": '"true" or "false"'}[kind]
    raise SchemaViolation(f"field '{at}.{kind}' must be {expected}, got {json_kind(value)}")


def _counter_names(types: dict[str, Any], at: str) -> list[str | None]:
    """The counters of a block by position; integer ids (`iMeasTypesList`) name none we model."""
    if "sMeasTypesList" in types:
        names = types["sMeasTypesList"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise SchemaViolation(f"field '{at}.sMeasTypesList' must be an array of strings")
        return list(names)
    if "iMeasTypesList" in types:
        ids = types["iMeasTypesList"]
        if not isinstance(ids, list) or not all(type(i) is int for i in ids):
            raise SchemaViolation(f"field '{at}.iMeasTypesList' must be an array of integers")
        return [None] * len(ids)
    raise SchemaViolation(f"field '{at}' must hold sMeasTypesList or iMeasTypesList")


def _period_s(fields: dict[str, Any], name: str, where: str) -> int:
    value: Any = fields.get(name)
    if type(value) not in (int, float) or not 1 <= value <= MAX_GRANULARITY_S or value != int(value):
        shown = f"{value!r:.24}" if type(value) in (int, float) else json_kind(value)
        raise SchemaViolation(
            f"field '{where}.{name}' must be a whole number of seconds from 1 to {MAX_GRANULARITY_S}, got {shown}"
        )
    return int(value)


def _object(parent: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise SchemaViolation(f"field '{where}.{name}' must be an object, got {json_kind(value)}")
    return value


def _array(parent: dict[str, Any], name: str, where: str) -> list[Any]:
    value = parent.get(name)
    if not isinstance(value, list):
        raise SchemaViolation(f"field '{where}.{name}' must be an array, got {json_kind(value)}")
    return value


def _string(parent: dict[str, Any], name: str, where: str) -> str:
    value = parent.get(name)
    if not isinstance(value, str):
        raise SchemaViolation(f"field '{where}.{name}' must be a string, got {json_kind(value)}")
    return value


def _enum(parent: dict[str, Any], name: str, allowed: frozenset[str], where: str) -> None:
    value = parent.get(name)
    if value not in allowed:
        shown = f"{value[:40]!r}" if isinstance(value, str) else json_kind(value)
        raise SchemaViolation(f"field '{where}.{name}' is {shown}, VES 7.2 allows {sorted(allowed)}")
