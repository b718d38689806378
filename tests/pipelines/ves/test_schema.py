"""Every VES record the product writes validates against a VES 7.2 schema written from the
published field list (`ves_7_2.schema.json`: header, fault, measurement, perf3gpp and
stndDefined), and that schema refuses what VES 7.2 refuses, so the check can fail."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from edgectl.synthetic.co_sited_cells import CoSitedCells
from edgectl.synthetic.ves import VesDomain, VesTraffic
from tests.pipelines.ves.ves_schemas import VES as VALIDATOR
from tests.pipelines.ves.ves_schemas import VES_SCHEMA as SCHEMA


def written(domain: VesDomain, rounds: int = 3) -> list[dict[str, Any]]:
    cells = CoSitedCells("kr-seoul", "SEL-GN-0042", enbs=4, cells_per_enb=3, seed=2, granularity_s=60, anomaly_rate=0.2)
    traffic = VesTraffic(cells, domain)
    return [e.event for _ in range(rounds) for e in traffic.next_round()]


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("domain", ["perf3gpp", "measurement"])
def test_every_ves_event_the_generator_writes_validates(domain: VesDomain) -> None:
    events = written(domain)
    assert len(events) == 12
    for event in events:
        VALIDATOR.validate(event)


def _perf3gpp() -> dict[str, Any]:
    return copy.deepcopy(written("perf3gpp", 1)[0])


def _set(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    node: Any = event
    for name in parents:
        node = node[int(name)] if isinstance(node, list) else node[name]
    if value is ...:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return event


COLLECTION = "event.perf3gppFields.measDataCollection"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("event.commonEventHeader.sourceName", ...),
        ("event.commonEventHeader.sequence", "0"),
        ("event.commonEventHeader.priority", "Urgent"),
        ("event.commonEventHeader.vesEventListenerVersion", "7.3"),
        ("event.commonEventHeader.colour", "red"),
        ("event.perf3gppFields.perf3gppFieldsVersion", "2.0"),
        (f"{COLLECTION}.granularityPeriod", "60"),
        (f"{COLLECTION}.measInfoList.0.measTypes", {"sMeasTypesList": "RRC.ConnMean"}),
        (f"{COLLECTION}.measInfoList.0.measValuesList.0.suspectFlag", False),
        (f"{COLLECTION}.measInfoList.0.measValuesList.0.measResults.0", {"p": 1, "sValue": "1", "iValue": 1}),
        (f"{COLLECTION}.measInfoList.0.measValuesList.0.measResults.0", {"p": "1", "sValue": "1"}),
        ("event.unknownFields", {}),
    ],
)
def test_the_schema_refuses_what_ves_7_2_refuses(path: str, value: Any) -> None:
    assert not VALIDATOR.is_valid(_set(_perf3gpp(), path, value))
