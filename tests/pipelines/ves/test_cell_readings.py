"""A VES event's counters per cell, as VES 7.2 writes them: `perf3gpp` blocks by position, values
as sValue, iValue, rValue or isNull, a cell's counters spread over several blocks, suspect and
missing values, objects that are not cells; `measurement` hash maps per measured object. What is
left out is counted by reason; what breaks the format is refused naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.errors import SchemaViolation
from pipelines.kpi_anomaly.features import COUNTERS
from pipelines.ves.cell_readings import cell_of, measurement_readings, perf3gpp_readings

CELL_DN = "SubNetwork=kr-seoul,MeContext=SEL-GN-0042,ManagedElement=SEL-GN-0042,GNBDUFunction=1,NRCellDU={}"


def perf3gpp(*blocks: dict[str, Any], period: object = 900, **collection: Any) -> dict[str, Any]:
    return {"perf3gppFields": {"perf3gppFieldsVersion": "1.0", "measDataCollection": {
        "granularityPeriod": period, "measuredEntityDn": "ManagedElement=SEL-GN-0042", "measInfoList": list(blocks),
        **collection,
    }}}


def block(types: list[str], *values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"measTypes": {"sMeasTypesList": types}, "measValuesList": list(values), **extra}


def obj(instance: str, *results: tuple[int, str, Any], **extra: Any) -> dict[str, Any]:
    return {"measObjInstId": instance, "measResults": [{"p": p, kind: v} for p, kind, v in results], **extra}


def test_one_block_gives_each_cell_its_modelled_counters_by_position() -> None:
    event = perf3gpp(block(
        ["RRU.PrbTotDl", "DRB.UEThpDl", "RRC.ConnMean"],
        obj(CELL_DN.format("cell-1"), (1, "sValue", "43.5"), (2, "iValue", 152000), (3, "rValue", 187)),
        obj(CELL_DN.format("cell-2"), (3, "sValue", " 12 "), (1, "sValue", "1e1")),  # any order, spaces
    ))
    readings = perf3gpp_readings(event, COUNTERS)
    assert readings.granularity_s == 900
    assert readings.counters == {
        "cell-1": {"RRU.PrbTotDl": 43.5, "DRB.UEThpDl": 152000.0, "RRC.ConnMean": 187.0},
        "cell-2": {"RRC.ConnMean": 12.0, "RRU.PrbTotDl": 10.0},
    }
    assert sum(readings.skipped.values()) == 0


def test_a_cells_counters_in_several_blocks_make_one_sample_and_unmodelled_ones_are_counted() -> None:
    event = perf3gpp(
        block(["RRU.PrbTotDl", "RRU.PrbUsedDl"], obj(CELL_DN.format("c1"), (1, "sValue", "40"), (2, "sValue", "110")),
              measInfoId={"sMeasInfoId": "PRB"}, jobId="job-7"),
        block(["PEE.AvgPower"], obj(CELL_DN.format("c1"), (1, "rValue", 640.5)), measInfoId={"iMeasInfoId": 4}),
        block(["RRC.ConnMean"], obj("c2", (1, "iValue", 5))),  # a plain id is a cell too
    )
    readings = perf3gpp_readings(event, COUNTERS)
    assert readings.counters == {"c1": {"RRU.PrbTotDl": 40.0, "PEE.AvgPower": 640.5}, "c2": {"RRC.ConnMean": 5.0}}
    assert readings.skipped == {"counter": 1, "no_counters": 0}


def test_suspect_null_unreadable_and_non_cell_values_are_left_out_and_counted() -> None:
    event = perf3gpp(block(
        ["RRU.PrbTotDl", "RRC.ConnMean", "PEE.AvgPower"],
        obj(CELL_DN.format("suspect"), (1, "sValue", "50"), suspectFlag="true"),
        obj(CELL_DN.format("gaps"), (1, "isNull", "true"), (2, "sValue", "NIL"), (3, "sValue", "forty")),
        obj(CELL_DN.format("partial"), (2, "sValue", "7"), suspectFlag="false"),  # results missing for 1 and 3
        obj("ManagedElement=SEL-GN-0042,GNBDUFunction=1", (1, "sValue", "1")),
        obj("ManagedElement=SEL-GN-0042,GNBDUFunction=1,NRSectorCarrier=2", (1, "sValue", "1")),
    ))
    readings = perf3gpp_readings(event, COUNTERS)
    assert readings.counters == {"partial": {"RRC.ConnMean": 7.0}}
    assert readings.skipped == {"suspect": 1, "no_value": 3, "not_a_cell": 2, "no_counters": 2}


def test_counters_named_by_integer_ids_name_nothing_the_pipelines_model() -> None:
    event = perf3gpp({"measTypes": {"iMeasTypesList": [1, 2]}, "measValuesList": [obj("c1", (1, "iValue", 3))]})
    readings = perf3gpp_readings(event, COUNTERS)
    assert readings.counters == {} and readings.skipped == {"counter": 1, "no_counters": 1}


def test_optional_fields_absent_and_an_empty_list_are_read() -> None:
    readings = perf3gpp_readings(perf3gpp(), COUNTERS)
    assert readings.counters == {} and readings.granularity_s == 900
    readings = perf3gpp_readings(perf3gpp(block(["RRC.ConnMean"], {"measObjInstId": "c1", "measResults": []})), COUNTERS)
    assert readings.counters == {} and readings.skipped["no_counters"] == 1


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({}, "event.perf3gppFields"),
        ({"perf3gppFields": {"perf3gppFieldsVersion": "2.0"}}, "perf3gppFieldsVersion"),
        (perf3gpp(period=1_591_100_100_000), "granularityPeriod"),  # epoch milliseconds, as some samples write
        (perf3gpp(period="900"), "granularityPeriod"),
        (perf3gpp(period=900.5), "granularityPeriod"),
        (perf3gpp(period=0), "granularityPeriod"),
        (perf3gpp(measuredEntityDn=None), "measuredEntityDn"),
        (perf3gpp(measInfoList={"a": 1}), "measInfoList"),
        (perf3gpp(["x"]), r"measInfoList\[0\]"),  # type: ignore[arg-type]
        (perf3gpp({"measValuesList": []}), "measTypes"),
        (perf3gpp({"measTypes": {"sMeasTypesList": "RRC.ConnMean"}, "measValuesList": []}), "sMeasTypesList"),
        (perf3gpp({"measTypes": {}, "measValuesList": []}), "sMeasTypesList or iMeasTypesList"),
        (perf3gpp(block(["a"], {"measResults": []})), r"measValuesList\[0\].measObjInstId"),
        (perf3gpp(block(["a"], {"measObjInstId": "c", "measResults": {}})), "measResults"),
        (perf3gpp(block(["a"], obj("c", (2, "sValue", "1")))), r"measResults\[0\].p' is 2, the block names 1"),
        (perf3gpp(block(["a"], obj("c", (0, "sValue", "1")))), r"\.p' is 0"),
        (perf3gpp(block(["a"], obj("c", (True, "sValue", "1")))), r"\.p' must be an integer"),
        (perf3gpp(block(["a"], obj("c", (1, "sValue", 1)))), r"sValue' must be a string"),
        (perf3gpp(block(["a"], obj("c", (1, "iValue", 1.5)))), r"iValue' must be an integer"),
        (perf3gpp(block(["a"], obj("c", (1, "rValue", "1")))), r"rValue' must be a number"),
        (perf3gpp(block(["a"], obj("c", (1, "isNull", True)))), r"isNull' must be"),
        (perf3gpp(block(["a"], {"measObjInstId": "c", "measResults": [{"p": 1}]})), "one of iValue, rValue"),
        (perf3gpp(block(["a"], {"measObjInstId": "c", "measResults": [{"p": 1, "sValue": "1", "iValue": 1}]})), "one of"),
        (perf3gpp(block(["a"], obj("c", suspectFlag=False))), "suspectFlag"),
    ],
)
def test_a_perf3gpp_event_that_breaks_the_format_is_refused_naming_the_field(event: dict[str, Any], field: str) -> None:
    with pytest.raises(SchemaViolation, match=field):
        perf3gpp_readings(event, COUNTERS)


def test_a_counter_given_twice_for_one_cell_is_refused() -> None:
    event = perf3gpp(
        block(["RRC.ConnMean"], obj("c1", (1, "sValue", "5"))),
        block(["RRC.ConnMean"], obj(CELL_DN.format("c1"), (1, "sValue", "6"))),
    )
    with pytest.raises(SchemaViolation, match="'RRC.ConnMean' of cell 'c1' is given twice"):
        perf3gpp_readings(event, COUNTERS)


def measurement(*entries: Any, interval: object = 60) -> dict[str, Any]:
    return {"measurementFields": {"measurementFieldsVersion": "4.0", "measurementInterval": interval,
                                  "additionalMeasurements": list(entries)}}


def test_a_measurement_events_hash_maps_give_each_named_cell_its_counters() -> None:
    event = measurement(
        {"name": CELL_DN.format("c1"), "hashMap": {"RRC.ConnMean": "150", "DRB.UEThpDl": "9.5e4", "vendor.X": "1"}},
        {"name": "c2", "hashMap": {"RRC.ConnMean": "NIL"}},
        {"name": "ManagedElement=1,GNBDUFunction=1", "hashMap": {"RRC.ConnMean": "3"}},
    )
    readings = measurement_readings(event, COUNTERS)
    assert readings.granularity_s == 60
    assert readings.counters == {"c1": {"RRC.ConnMean": 150.0, "DRB.UEThpDl": 95000.0}}
    assert readings.skipped == {"counter": 1, "no_value": 1, "not_a_cell": 1, "no_counters": 1}
    assert measurement_readings({"measurementFields": {"measurementFieldsVersion": "4.0", "measurementInterval": 900}},
                                COUNTERS).counters == {}


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({}, "event.measurementFields"),
        (measurement(interval=None), "measurementInterval"),
        ({"measurementFields": {"measurementFieldsVersion": "3.0", "measurementInterval": 60}}, "measurementFieldsVersion"),
        ({"measurementFields": {"measurementFieldsVersion": "4.0", "measurementInterval": 60,
                                "additionalMeasurements": {}}}, "additionalMeasurements"),
        (measurement({"hashMap": {}}), r"additionalMeasurements\[0\].name"),
        (measurement({"name": "c1"}), r"additionalMeasurements\[0\].hashMap"),
        (measurement({"name": "c1", "hashMap": {"RRC.ConnMean": 150}}), "values must be strings"),
    ],
)
def test_a_measurement_event_that_breaks_the_format_is_refused_naming_the_field(event: dict[str, Any], field: str) -> None:
    with pytest.raises(SchemaViolation, match=field):
        measurement_readings(event, COUNTERS)


@pytest.mark.parametrize(
    ("instance", "cell"),
    [
        ("SubNetwork=kr,ManagedElement=me1,GNBDUFunction=1,NRCellDU=450-05-1-3", "450-05-1-3"),
        ("ManagedElement=me1,GNBCUCPFunction=1,NRCellCU=7", "7"),
        ("ManagedElement=me1,ENBFunction=1,EUtranCellFDD=A1", "A1"),
        ("EUtranCellTDD=B2", "B2"),
        ("103593989", "103593989"),
        ("ManagedElement=me1,GNBDUFunction=1", None),
        ("ManagedElement=me1,NRCellDU=", None),
        ("", None),
        ("   ", None),
    ],
)
def test_which_measured_objects_are_cells(instance: str, cell: str | None) -> None:
    assert cell_of(instance) == cell
