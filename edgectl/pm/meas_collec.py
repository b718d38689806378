"""3GPP TS 32.435 PM files (`measCollecFile` XML, plain or gzip) read into cell samples: per
measured cell and reporting period, the counters the KPI pipelines model.

The file's element and attribute names are those of TS 32.435: `fileHeader` (`measCollec
@beginTime`), `measData` per managed element, `measInfo` blocks with `granPeriod @duration
@endTime`, counter names in `measTypes` (a space-separated list) or `measType @p`, and per
object `measValue @measObjLdn` with `measResults` (by position) or `r @p`, and `suspect`. A cell's
counters spread over several blocks of one period make one sample, dated at the start of the
period (`endTime` less `duration`). Values that are not numbers (`NIL`) are no value.

Read with expat, one element at a time, so an error names its line; a file that declares XML
entities is refused (PM files need none, and an entity is how an XML bomb starts)."""

from __future__ import annotations

import gzip
import re
import xml.parsers.expat
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from pipelines.ves.cell_readings import COUNTER_NUMBER, cell_of

MAX_FILE_BYTES = 512 * 1024 * 1024
"""Largest PM file read, uncompressed."""
_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
_CHUNK = 1 << 20


class PmFileError(ValueError):
    """A PM file that cannot be read: its name and the line at fault are in the message."""


@dataclass(frozen=True)
class CellSample:
    """One cell's counters for one reporting period."""

    cell_id: str
    start: datetime
    granularity_s: int
    counters: dict[str, float]


@dataclass
class PmFile:
    """What one file held: its samples, and what was left out by reason (`counter`,
    `suspect`, `not_a_cell`, `no_value`, `no_counters`)."""

    path: Path
    begin: datetime | None = None
    samples: list[CellSample] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def _open(path: Path) -> BinaryIO:
    handle = path.open("rb")
    if handle.read(2) == b"\x1f\x8b":
        handle.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    handle.seek(0)
    return handle


def read_pm_file(path: Path, modelled: Collection[str]) -> PmFile:
    """The cell samples of one `measCollecFile`, in time order.

    Raises:
        PmFileError: the file is not well-formed XML, not a TS 32.435 file, or breaks its
            structure (named with the line), or is larger than `MAX_FILE_BYTES`.
    """
    reader = _MeasCollecReader(path, frozenset(modelled))
    try:
        with _open(path) as handle:
            read = 0
            while chunk := handle.read(_CHUNK):
                read += len(chunk)
                if read > MAX_FILE_BYTES:
                    raise PmFileError(f"{path}: larger than {MAX_FILE_BYTES} bytes uncompressed")
                reader.feed(chunk, final=False)
            reader.feed(b"", final=True)
    except (OSError, EOFError) as exc:
        raise PmFileError(f"{path}: cannot be read: {exc}") from exc
    return reader.result()


def file_begin(path: Path) -> datetime:
    """When a file's collection began (`fileHeader/measCollec @beginTime`), read from its start
    only: the order in which files are replayed.

    Raises:
        PmFileError: no begin time in the file's first megabyte.
    """
    reader = _MeasCollecReader(path, frozenset(), header_only=True)
    try:
        with _open(path) as handle:
            reader.feed(handle.read(_CHUNK), final=False)
    except _HeaderRead:
        pass
    except (OSError, EOFError) as exc:
        raise PmFileError(f"{path}: cannot be read: {exc}") from exc
    if reader.file.begin is None:
        raise PmFileError(f"{path}: no fileHeader/measCollec beginTime at its start: not a TS 32.435 measCollecFile")
    return reader.file.begin


class _HeaderRead(Exception):
    """The header's begin time is read: stop parsing (`file_begin`)."""


@dataclass
class _Block:
    """One `measInfo` being read."""

    line: int
    duration_s: int | None = None
    end: datetime | None = None
    types: list[str] = field(default_factory=list)
    typed: dict[int, str] = field(default_factory=dict)


@dataclass
class _Value:
    """One `measValue` being read."""

    line: int
    cell: str | None
    results: list[str] = field(default_factory=list)
    by_position: dict[int, str] = field(default_factory=dict)
    suspect: bool = False


class _MeasCollecReader:
    def __init__(self, path: Path, modelled: frozenset[str], *, header_only: bool = False) -> None:
        self.file = PmFile(path)
        self.modelled = modelled
        self.header_only = header_only
        self._parser = xml.parsers.expat.ParserCreate(namespace_separator="}")
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end
        self._parser.CharacterDataHandler = self._text
        self._parser.EntityDeclHandler = self._entity
        self._stack: list[str] = []
        self._text_parts: list[str] = []
        self._block: _Block | None = None
        self._value: _Value | None = None
        self._p: int | None = None
        self._samples: dict[tuple[str, datetime, int], dict[str, float]] = {}
        self._root_seen = False

    def feed(self, data: bytes, *, final: bool) -> None:
        try:
            self._parser.Parse(data, final)
        except xml.parsers.expat.ExpatError as exc:
            raise PmFileError(f"{self.file.path}:{exc.lineno}: not well-formed XML: {xml.parsers.expat.ErrorString(exc.code)}") from exc

    def result(self) -> PmFile:
        if not self._root_seen:
            raise PmFileError(f"{self.file.path}: empty, or not a TS 32.435 measCollecFile")
        for (cell, start, period), counters in sorted(self._samples.items(), key=lambda item: (item[0][1], item[0][0])):
            if counters:
                self.file.samples.append(CellSample(cell, start, period, counters))
            else:
                self.file.skipped["no_counters"] += 1
        return self.file

    def _fail(self, message: str) -> PmFileError:
        return PmFileError(f"{self.file.path}:{self._parser.CurrentLineNumber}: {message}")

    def _entity(self, name: str, *args: object) -> None:
        raise self._fail(f"declares the XML entity {name!r}: PM files need none, the file is refused")

    def _start(self, qualified: str, attrs: dict[str, str]) -> None:
        name = qualified.rsplit("}", 1)[-1]
        parent = self._stack[-1] if self._stack else None
        self._stack.append(name)
        self._text_parts = []
        if parent is None:
            if name != "measCollecFile":
                raise self._fail(f"the root element is {name!r}, not measCollecFile: not a TS 32.435 PM file")
            self._root_seen = True
        elif name == "measCollec" and parent == "fileHeader":
            self.file.begin = self._time(attrs, "beginTime", "measCollec")
            if self.header_only:
                raise _HeaderRead
        elif name == "measInfo":
            self._block = _Block(self._parser.CurrentLineNumber)
        elif name == "granPeriod" and self._block is not None:
            self._block.duration_s = self._duration(attrs.get("duration"))
            self._block.end = self._time(attrs, "endTime", "granPeriod")
        elif name == "measValue" and self._block is not None:
            ldn = attrs.get("measObjLdn")
            if not ldn:
                raise self._fail("measValue has no measObjLdn")
            self._value = _Value(self._parser.CurrentLineNumber, cell_of(ldn))
        elif name in ("measType", "r"):
            self._p = self._position(attrs)

    def _text(self, data: str) -> None:
        self._text_parts.append(data)

    def _end(self, qualified: str) -> None:
        name = self._stack.pop()
        text = "".join(self._text_parts).strip()
        self._text_parts = []
        block, value = self._block, self._value
        if block is None:
            return
        if name == "measTypes":
            block.types = text.split()
        elif name == "measType" and self._p is not None:
            block.typed[self._p] = text
        elif value is not None and name == "measResults":
            value.results = text.split()
        elif value is not None and name == "r" and self._p is not None:
            value.by_position[self._p] = text
        elif value is not None and name == "suspect":
            value.suspect = text.lower() in ("true", "1")
        elif name == "measValue" and value is not None:
            self._settle(block, value)
            self._value = None
        elif name == "measInfo":
            self._block = None

    def _settle(self, block: _Block, value: _Value) -> None:
        """One object's values in one block, added to its cell's sample of the block's period."""
        if block.duration_s is None or block.end is None:
            raise self._fail(f"measInfo (line {block.line}) has no granPeriod before its measValue")
        names = dict(enumerate(block.types, 1)) | block.typed
        values = dict(enumerate(value.results, 1)) if value.results else value.by_position
        if value.results and len(value.results) != len(names):
            raise self._fail(
                f"measValue (line {value.line}) has {len(value.results)} measResults for the {len(names)} counters "
                f"of its measInfo (line {block.line})"
            )
        if value.cell is None:
            self.file.skipped["not_a_cell"] += 1
            return
        start = block.end - timedelta(seconds=block.duration_s)
        counters = self._samples.setdefault((value.cell, start, block.duration_s), {})
        if value.suspect:
            self.file.skipped["suspect"] += 1
            return
        for position, text in values.items():
            counter = names.get(position)
            if counter is None:
                raise self._fail(f"r p=\"{position}\" (measValue line {value.line}) names no counter of its measInfo")
            if counter not in self.modelled:
                self.file.skipped["counter"] += 1
            elif COUNTER_NUMBER.fullmatch(text):
                if counter in counters:
                    raise self._fail(f"counter {counter!r} of cell {value.cell[:80]!r} is given twice for one period")
                counters[counter] = float(text)
            else:
                self.file.skipped["no_value"] += 1

    def _position(self, attrs: dict[str, str]) -> int:
        text = attrs.get("p", "")
        if not text.isdigit() or int(text) < 1:
            raise self._fail(f"attribute p is {text[:20]!r}: a positive integer expected")
        return int(text)

    def _duration(self, text: str | None) -> int:
        match = _DURATION.fullmatch(text or "")
        if text is None or match is None or not any(match.groups()):
            raise self._fail(f"granPeriod duration is {str(text)[:40]!r}: an ISO 8601 duration such as PT900S expected")
        days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
        if not 1 <= total <= 86_400:
            raise self._fail(f"granPeriod duration is {text!r}: from 1 second to 1 day expected")
        return total

    def _time(self, attrs: dict[str, str], name: str, element: str) -> datetime:
        text = attrs.get(name)
        try:
            if text is None:
                raise ValueError
            at = datetime.fromisoformat(text)
        except ValueError:
            raise self._fail(f"{element} {name} is {str(text)[:40]!r}: a date-time with an offset expected") from None
        if at.tzinfo is None:
            raise self._fail(f"{element} {name} is {text!r}: it has no UTC offset")
        return at.astimezone(UTC)
