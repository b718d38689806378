"""Cell-KPI samples written as VES 7.2 events, as a site's VES collector would publish them: one
`perf3gpp` (or `measurement`) event per reporting period of a network function, each cell a
measured object named by its distinguished name. `edge generate kpi --format ves` and the tests
use it; the KPI pipelines read the events back into the same samples."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Literal

from edgectl.synthetic import LabelledEvent, TrafficGenerator
from pipelines.cell_kpi import managed_object
from pipelines.ves.events import epoch_us, write_header

VesDomain = Literal["perf3gpp", "measurement"]


def network_function(cell_id: str) -> str:
    """The gNB a synthetic cell belongs to: its id less the last part (`450-05-1193046-3` is
    cell 3 of gNB `450-05-1193046`)."""
    return cell_id.rsplit("-", 1)[0]


def common_header(
    domain: str, event_id: str, site_id: str, source: str, start_us: int, period_s: int, sequence: int = 0
) -> dict[str, Any]:
    """A cell-KPI event's `commonEventHeader`; `source` is the reporting network function."""
    return write_header(
        domain, event_id, "cellKpi", source=source, reporting_entity=f"ves-collector-{site_id}", start_us=start_us,
        last_us=start_us + period_s * 1_000_000, sequence=sequence,
    )


def perf3gpp_event(samples: Sequence[dict[str, Any]], event_id: str, sequence: int = 0) -> dict[str, Any]:
    """One `perf3gpp` event holding `samples` (ran.cell_kpi.v1, all of one site and `ts`)."""
    first = samples[0]
    period = first["granularity_s"]
    names = sorted({name for s in samples for name in s["counters"]})
    values = [
        {
            "measObjInstId": managed_object(s["region"], s["site_id"], s["cell_id"]),
            "suspectFlag": "false",
            "measResults": [
                {"p": p, "sValue": repr(float(s["counters"][name]))}
                for p, name in enumerate(names, 1) if s["counters"].get(name) is not None
            ],
        }
        for s in samples
    ]
    return {"event": {
        "commonEventHeader": common_header(
            "perf3gpp", event_id, first["site_id"], _source(first), epoch_us(first["ts"]), period, sequence
        ),
        "perf3gppFields": {
            "perf3gppFieldsVersion": "1.0",
            "measDataCollection": {
                "granularityPeriod": period,
                "measuredEntityDn": f"SubNetwork={first['region']},MeContext={first['site_id']},"
                                    f"ManagedElement={first['site_id']},GNBDUFunction={network_function(first['cell_id'])}",
                "measuredEntityUserName": first["site_id"],
                "measuredEntitySoftwareVersion": "synthetic",
                "measInfoList": [{"measInfoId": {"sMeasInfoId": "cellKpi"}, "measTypes": {"sMeasTypesList": names},
                                  "measValuesList": values}],
            },
        },
    }}


def measurement_event(samples: Sequence[dict[str, Any]], event_id: str, sequence: int = 0) -> dict[str, Any]:
    """One `measurement` event holding `samples` (ran.cell_kpi.v1, all of one site and `ts`)."""
    first = samples[0]
    period = first["granularity_s"]
    return {"event": {
        "commonEventHeader": common_header(
            "measurement", event_id, first["site_id"], _source(first), epoch_us(first["ts"]), period, sequence
        ),
        "measurementFields": {
            "measurementFieldsVersion": "4.0",
            "measurementInterval": period,
            "additionalMeasurements": [
                {"name": managed_object(s["region"], s["site_id"], s["cell_id"]),
                 "hashMap": {name: repr(float(v)) for name, v in s["counters"].items() if v is not None}}
                for s in samples
            ],
        },
    }}


def _source(sample: dict[str, Any]) -> str:
    return f"gNB-{network_function(sample['cell_id'])}"


def reporting_groups(samples: Sequence[dict[str, Any]], cells_per_event: int = 100) -> list[list[int]]:
    """Which samples share a VES event, by index: consecutive samples of one gNB, site, period
    and time, up to `cells_per_event`."""
    groups: list[list[int]] = []
    for i, sample in enumerate(samples):
        if groups:
            first = samples[groups[-1][0]]
            if len(groups[-1]) < cells_per_event and _source(sample) == _source(first) and all(
                sample[k] == first[k] for k in ("site_id", "ts", "granularity_s")
            ):
                groups[-1].append(i)
                continue
        groups.append([i])
    return groups


def ves_events(samples: Sequence[dict[str, Any]], domain: VesDomain = "perf3gpp", cells_per_event: int = 100
               ) -> list[tuple[str, dict[str, Any]]]:
    """The samples as VES events, `(key, event)`, grouped by `reporting_groups`; the key is the
    event's `sourceName`, so a gNB's events keep their order in one partition, as a VES
    collector keyed by source would."""
    write = perf3gpp_event if domain == "perf3gpp" else measurement_event
    events = []
    for sequence, group in enumerate(reporting_groups(samples, cells_per_event)):
        event = write([samples[i] for i in group], str(uuid.uuid4()), sequence)
        events.append((event["event"]["commonEventHeader"]["sourceName"], event))
    return events


class VesTraffic:
    """A cell-KPI generator's rounds as VES events (`TrafficGenerator`): one record per gNB and
    period, keyed by its `sourceName`, labelled with the ground truth of its cells (joined with
    `,`; none when every cell is normal)."""

    def __init__(self, cells: TrafficGenerator, domain: VesDomain = "perf3gpp") -> None:
        self.cells = cells
        self.domain: VesDomain = domain
        self._sequence = 0

    def next_round(self) -> list[LabelledEvent]:
        labelled = self.cells.next_round()
        samples = [e.event for e in labelled]
        write = perf3gpp_event if self.domain == "perf3gpp" else measurement_event
        out = []
        for group in reporting_groups(samples):
            event = write([samples[i] for i in group], str(uuid.uuid4()), self._sequence)
            self._sequence += 1
            labels = sorted({label for i in group if (label := labelled[i].label)})
            out.append(LabelledEvent(event, event["event"]["commonEventHeader"]["sourceName"], ",".join(labels) or None))
        return out
