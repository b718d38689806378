"""Reading TS 32.435 PM files: counters by position (`measTypes`/`measResults`) or by `p`
(`measType`/`r`), a cell's counters over several blocks and files' managed elements made one
sample per period, suspect, NIL and non-cell values left out and counted, gzip read alike; and a
file that breaks XML or the format refused with its name and line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from edgectl.pm.meas_collec import PmFileError, file_begin, read_pm_file
from edgectl.synthetic.cell_kpi import CellKpiGenerator
from edgectl.synthetic.meas_collec import NAMESPACE, meas_collec_file
from pipelines.kpi_anomaly.features import COUNTERS

HEADER = f"""<?xml version="1.0" encoding="UTF-8"?>
<measCollecFile xmlns="{NAMESPACE}">
  <fileHeader fileFormatVersion="32.435 V10.0" vendorName="Acme">
    <fileSender elementType="gNB"/>
    <measCollec beginTime="2026-11-22T09:00:00+09:00"/>
  </fileHeader>
"""
FOOTER = """  <fileFooter><measCollec endTime="2026-11-22T09:15:00+09:00"/></fileFooter>
</measCollecFile>
"""
CELL = "ManagedElement=gnb1,GNBDUFunction=1,NRCellDU={}"


def _info(types: str, *values: str, period: str = "PT900S", end: str = "2026-11-22T09:15:00+09:00") -> str:
    return f"""    <measInfo measInfoId="x">
      <granPeriod duration="{period}" endTime="{end}"/>
      {types}
      {"".join(values)}
    </measInfo>
"""


def _file(tmp_path: Path, *infos: str, name: str = "pm.xml", data: list[str] | None = None) -> Path:
    body = "".join(f"  <measData><managedElement localDn=\"gnb1\"/>\n{''.join(infos)}  </measData>\n" for _ in [0])
    if data is not None:
        body = "".join(data)
    path = tmp_path / name
    path.write_text(HEADER + body + FOOTER, encoding="utf-8")
    return path


def test_counters_by_position_and_by_p_over_several_blocks_make_one_sample_per_cell(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        _info("<measTypes>RRU.PrbTotDl RRU.PrbUsedDl RRC.ConnMean</measTypes>",
              f'<measValue measObjLdn="{CELL.format("c1")}"><measResults>43.5 110 187</measResults></measValue>',
              f'<measValue measObjLdn="{CELL.format("c2")}"><measResults>NIL 5 12</measResults></measValue>'),
        _info('<measType p="1">PEE.AvgPower</measType><measType p="2">DRB.UEThpDl</measType>',
              f'<measValue measObjLdn="{CELL.format("c1")}"><r p="2">152000</r><r p="1">640.5</r></measValue>',
              '<measValue measObjLdn="ManagedElement=gnb1,GNBDUFunction=1"><r p="1">1</r></measValue>'),
    )
    pm = read_pm_file(path, COUNTERS)
    assert [(s.cell_id, s.start.isoformat(), s.granularity_s) for s in pm.samples] == [
        ("c1", "2026-11-22T00:00:00+00:00", 900), ("c2", "2026-11-22T00:00:00+00:00", 900)]
    assert pm.samples[0].counters == {"RRU.PrbTotDl": 43.5, "RRC.ConnMean": 187.0, "PEE.AvgPower": 640.5, "DRB.UEThpDl": 152000.0}
    assert pm.samples[1].counters == {"RRC.ConnMean": 12.0}
    assert pm.skipped == {"counter": 2, "no_value": 1, "not_a_cell": 1}
    assert file_begin(path).isoformat() == "2026-11-22T00:00:00+00:00"


def test_suspect_values_are_left_out_and_a_cell_left_without_counters_is_counted(tmp_path: Path) -> None:
    path = _file(tmp_path, _info(
        "<measTypes>RRC.ConnMean</measTypes>",
        f'<measValue measObjLdn="{CELL.format("c1")}"><measResults>5</measResults><suspect>true</suspect></measValue>',
        f'<measValue measObjLdn="{CELL.format("c2")}"><measResults>6</measResults><suspect>false</suspect></measValue>',
    ))
    pm = read_pm_file(path, COUNTERS)
    assert [s.cell_id for s in pm.samples] == ["c2"]
    assert pm.skipped == {"suspect": 1, "no_counters": 1}


def test_a_gzip_file_reads_as_the_plain_one(tmp_path: Path) -> None:
    generator = CellKpiGenerator("kr-seoul", "SEL-GN-0042", cells=4, seed=3)
    text = meas_collec_file([e.event for e in generator.next_round()], positional=False)
    plain, packed = tmp_path / "a.xml", tmp_path / "a.xml.gz"
    plain.write_text(text, encoding="utf-8")
    packed.write_bytes(gzip.compress(text.encode()))
    gz, xml = read_pm_file(packed, COUNTERS), read_pm_file(plain, COUNTERS)
    assert (gz.begin, gz.samples, gz.skipped) == (xml.begin, xml.samples, xml.skipped)
    assert len(xml.samples) == 4 and file_begin(packed) == file_begin(plain)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("  <measData><measInfo>\n", r"pm.xml:\d+: not well-formed XML"),
        (_info("<measTypes>RRC.ConnMean</measTypes>", '<measValue><measResults>1</measResults></measValue>'),
         r"pm.xml:\d+: measValue has no measObjLdn"),
        (_info("<measTypes>RRC.ConnMean DRB.UEThpDl</measTypes>",
               f'<measValue measObjLdn="{CELL.format("c")}"><measResults>1</measResults></measValue>'),
         "has 1 measResults for the 2 counters"),
        (_info('<measType p="1">RRC.ConnMean</measType>', f'<measValue measObjLdn="{CELL.format("c")}"><r p="3">1</r></measValue>'),
         'r p="3" .* names no counter'),
        (_info('<measType p="one">RRC.ConnMean</measType>'), "attribute p is 'one'"),
        (_info("<measTypes>RRC.ConnMean</measTypes>", period="15 minutes"), "granPeriod duration is '15 minutes'"),
        (_info("<measTypes>RRC.ConnMean</measTypes>", period="P2D"), "from 1 second to 1 day"),
        (_info("<measTypes>RRC.ConnMean</measTypes>", end="2026-11-22T09:15:00"), "it has no UTC offset"),
        (('    <measInfo><measTypes>RRC.ConnMean</measTypes>'
          f'<measValue measObjLdn="{CELL.format("c")}"><measResults>1</measResults></measValue></measInfo>\n'),
         "has no granPeriod"),
        (_info("<measTypes>RRC.ConnMean RRC.ConnMean</measTypes>",
               f'<measValue measObjLdn="{CELL.format("c")}"><measResults>1 2</measResults></measValue>'),
         "'RRC.ConnMean' of cell 'c' is given twice"),
    ],
)
def test_a_file_that_breaks_xml_or_the_format_is_refused_with_its_name_and_line(
    tmp_path: Path, body: str, message: str
) -> None:
    path = _file(tmp_path, data=[f"  <measData>\n{body}  </measData>\n"] if "measData" not in body else [body])
    with pytest.raises(PmFileError, match=message):
        read_pm_file(path, COUNTERS)


def test_the_line_named_is_the_line_at_fault(tmp_path: Path) -> None:
    path = _file(tmp_path, _info("<measTypes>RRC.ConnMean</measTypes>", '\n\n<measValue><measResults>1</measResults></measValue>'))
    with pytest.raises(PmFileError) as caught:
        read_pm_file(path, COUNTERS)
    line = int(str(caught.value).split(":")[1])
    assert "<measValue>" in path.read_text(encoding="utf-8").splitlines()[line - 1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not well-formed XML|empty"),
        ('<?xml version="1.0"?><measDataFile/>', "root element is 'measDataFile'"),
        ('<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]><measCollecFile>&b;</measCollecFile>',
         "declares the XML entity 'a'"),
    ],
)
def test_what_is_not_a_pm_file_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PmFileError, match=message):
        read_pm_file(path, COUNTERS)
    with pytest.raises(PmFileError):
        file_begin(path)


def test_a_file_that_unpacks_past_the_size_limit_is_refused_before_it_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edgectl.pm import meas_collec

    monkeypatch.setattr(meas_collec, "MAX_FILE_BYTES", 3 * 1024 * 1024)
    bomb = tmp_path / "bomb.xml.gz"
    padding = b"<!-- " + b"x" * (8 * 1024 * 1024) + b" -->"
    bomb.write_bytes(gzip.compress(HEADER.encode() + padding + FOOTER.encode()))
    assert bomb.stat().st_size < 100 * 1024, "small on disk"
    with pytest.raises(PmFileError, match=r"bomb.xml.gz: larger than 3145728 bytes uncompressed"):
        read_pm_file(bomb, COUNTERS)
