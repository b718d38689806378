"""Cell-KPI samples written as 3GPP TS 32.435 PM files (`measCollecFile` XML), one file per
reporting period, as a site's PM collection would store them: for the tests of `edge import pm`
and to try it without an operator's files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from pipelines.cell_kpi import managed_object

NAMESPACE = "http://www.3gpp.org/ftp/specs/archive/32_series/32.435#measCollec"


def _time(at: datetime) -> str:
    return at.isoformat()


def meas_collec_file(samples: Sequence[dict[str, Any]], *, positional: bool = True, suspect: Sequence[str] = ()) -> str:
    """One period's samples (ran.cell_kpi.v1, one site, one `ts`) as a `measCollecFile`: counters
    as a `measTypes` list and `measResults` by position (`positional`), or as `measType`/`r` with
    `p`; cells in `suspect` flagged so. A missing counter is written `NIL`."""
    first = samples[0]
    start = datetime.fromisoformat(first["ts"])
    period = int(first["granularity_s"])
    end = start + timedelta(seconds=period)
    names = sorted({name for s in samples for name in s["counters"]})
    site, region = first["site_id"], first["region"]
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<measCollecFile xmlns="{NAMESPACE}">',
        f'  <fileHeader fileFormatVersion="32.435 V10.0" vendorName="SovereignEdge" dnPrefix={quoteattr(f"SubNetwork={region}")}>',
        f'    <fileSender localDn={quoteattr(f"MeContext={site}")} elementType="gNB"/>',
        f'    <measCollec beginTime="{_time(start)}"/>',
        "  </fileHeader>",
        "  <measData>",
        f'    <managedElement localDn={quoteattr(f"ManagedElement={site}")} swVersion="synthetic"/>',
        '    <measInfo measInfoId="cellKpi">',
        '      <job jobId="sovereign-edge"/>',
        f'      <granPeriod duration="PT{period}S" endTime="{_time(end)}"/>',
    ]
    if positional:
        lines.append(f"      <measTypes>{' '.join(names)}</measTypes>")
    else:
        lines.extend(f'      <measType p="{p}">{escape(name)}</measType>' for p, name in enumerate(names, 1))
    for sample in samples:
        ldn = managed_object(sample["region"], sample["site_id"], sample["cell_id"])
        values = [sample["counters"].get(name) for name in names]
        texts = ["NIL" if v is None else repr(float(v)) for v in values]
        lines.append(f"      <measValue measObjLdn={quoteattr(ldn)}>")
        if positional:
            lines.append(f"        <measResults>{' '.join(texts)}</measResults>")
        else:
            lines.extend(f'        <r p="{p}">{text}</r>' for p, text in enumerate(texts, 1) if text != "NIL")
        if sample["cell_id"] in suspect:
            lines.append("        <suspect>true</suspect>")
        lines.append("      </measValue>")
    lines += [
        "    </measInfo>",
        "  </measData>",
        "  <fileFooter>",
        f'    <measCollec endTime="{_time(end)}"/>',
        "  </fileFooter>",
        "</measCollecFile>",
        "",
    ]
    return "\n".join(lines)


def file_name(samples: Sequence[dict[str, Any]]) -> str:
    """The TS 32.432 style name of a period's file, e.g. `A20261122.0900+0000-0915+0000_SEL-GN-0042.xml`."""
    first = samples[0]
    start = datetime.fromisoformat(first["ts"])
    end = start + timedelta(seconds=int(first["granularity_s"]))
    return f"A{start:%Y%m%d.%H%M%z}-{end:%H%M%z}_{first['site_id']}.xml"
