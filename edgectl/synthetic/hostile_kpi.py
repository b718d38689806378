"""Cell-KPI record values as a hostile network might send them: a site's real cells reporting, a
flood of cell ids never seen before, and records built to hurt (huge or forged cell ids, repeated
keys, odd encodings, timestamps far in the future or past, bytes that are not JSON).

Values are raw bytes, not events: most hostile ones are not valid events at all. For soaks and
benchmarks of the pipelines' intake and per-cell state (`edgectl.bench.state`)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from edgectl.synthetic.cell_kpi import SCHEMA

HOSTILE_KINDS = (
    "huge_cell_id", "long_cell_id", "duplicate_keys", "utf8_bom", "utf16", "invalid_utf8",
    "non_ascii_cell_id", "escaped_cell_id", "lone_surrogate", "far_future_ts", "ancient_ts", "not_json",
)
"""What a hostile record may be; each is drawn equally often."""
_START = datetime(2026, 11, 22, tzinfo=UTC)


@dataclass(frozen=True)
class HostileMix:
    """Shares of a hostile KPI feed, e.g. `HostileMix(new_cell_share=0.5, hostile_share=0.05)`:
    half the records name a cell never seen before, 5% are hostile (`HOSTILE_KINDS`, equally),
    the rest come from the site's `site_cells` real cells in turn.

    `seconds_per_record` is how far event time moves per record; `huge_cell_id_chars` is the
    length of the huge cell ids (the default keeps a record under the 1 MiB record limit).
    """

    site_cells: int = 200
    new_cell_share: float = 0.5
    hostile_share: float = 0.0
    seconds_per_record: float = 0.3
    huge_cell_id_chars: int = 900_000

    def __post_init__(self) -> None:
        if self.site_cells < 1:
            raise ValueError(f"site_cells must be >= 1, got {self.site_cells}")
        if not (0 <= self.new_cell_share and 0 <= self.hostile_share and self.new_cell_share + self.hostile_share <= 1):
            raise ValueError(
                f"new_cell_share and hostile_share must be >= 0 with a sum <= 1, got "
                f"{self.new_cell_share} and {self.hostile_share}"
            )
        if self.seconds_per_record < 0:
            raise ValueError(f"seconds_per_record must be >= 0, got {self.seconds_per_record}")


class HostileKpiFeed:
    """Record values drawn by `HostileMix`, in order; `counts` says how many of each kind
    (`site`, `new_cell` and the `HOSTILE_KINDS`) it has made, and `new_cells` how many distinct new
    cell ids.

    Example: `HostileKpiFeed("kr-seoul", "SEL-GN-0042", HostileMix(hostile_share=0.05)).values(4000)`.
    """

    def __init__(self, region: str, site_id: str, mix: HostileMix | None = None, *, seed: int = 0) -> None:
        self.region = region
        self.site_id = site_id
        self.mix = mix if mix is not None else HostileMix()
        self._rng = random.Random(seed)
        self._made = 0
        self.new_cells = 0
        self.counts: dict[str, int] = dict.fromkeys(("site", "new_cell", *HOSTILE_KINDS), 0)
        # One huge value, reused: the feed itself must not be what fills memory.
        self._huge: bytes | None = None
        self._last_ts, self._last_text = _START, _rfc3339(_START).encode()
        # Records are filled into one skeleton with a few counter sets: the feed must allocate
        # little beside what it measures (a soak may trace every allocation).
        self._head = orjson.dumps({"schema": SCHEMA, "region": region, "site_id": site_id})[:-1] + b',"event_id":'
        self._counters = [_counters_json(self._rng) for _ in range(16)]

    def values(self, count: int) -> list[tuple[str, bytes]]:
        """The next `count` records as (kind, value)."""
        return [self._next() for _ in range(count)]

    def _next(self) -> tuple[str, bytes]:
        mix = self.mix
        ts = _START + timedelta(seconds=self._made * mix.seconds_per_record)
        n = self._made
        self._made += 1
        draw = self._rng.random()
        if draw < mix.hostile_share:
            kind = HOSTILE_KINDS[self._rng.randrange(len(HOSTILE_KINDS))]
            value = self._hostile(kind, n, ts)
        elif draw < mix.hostile_share + mix.new_cell_share:
            kind = "new_cell"
            value = self._event(n, f"450-05-{9_000_000 + self.new_cells}-1", ts)
            self.new_cells += 1
        else:
            kind = "site"
            value = self._event(n, site_cell_id(n % mix.site_cells), ts)
        self.counts[kind] += 1
        return kind, value

    def _event(self, n: int, cell_id: str, ts: datetime) -> bytes:
        counters = self._counters[self._rng.randrange(len(self._counters))]
        return b'%s"soak-%d","cell_id":%s,"ts":"%s",%s' % (
            self._head, n, orjson.dumps(cell_id), self._timestamp(ts), counters
        )

    def _timestamp(self, ts: datetime) -> bytes:
        if ts != self._last_ts:
            self._last_ts, self._last_text = ts, _rfc3339(ts).encode()
        return self._last_text

    def _hostile(self, kind: str, n: int, ts: datetime) -> bytes:
        cell = site_cell_id(n % self.mix.site_cells)
        if kind == "huge_cell_id":
            if self._huge is None:
                self._huge = self._event(n, "H" * self.mix.huge_cell_id_chars, ts)
            return self._huge
        if kind == "long_cell_id":
            return self._event(n, f"450-05-{n}-" + "x" * 1000, ts)
        if kind == "duplicate_keys":
            # The second cell_id would win in a lenient parser: a key repeated to smuggle a value.
            body = self._event(n, cell, ts)
            return body[:-1] + b',"cell_id":"450-05-666-6"}'
        if kind == "utf8_bom":
            return b"\xef\xbb\xbf" + self._event(n, cell, ts)
        if kind == "utf16":
            return self._event(n, cell, ts).decode().encode("utf-16")
        if kind == "invalid_utf8":
            return self._event(n, "CELL-@@", ts).replace(b"@@", b"\xc3\x28")
        if kind == "non_ascii_cell_id":
            return self._event(n, f"셀-{n}", ts)
        if kind == "escaped_cell_id":
            # A site cell's id spelled with escapes: the same cell to a JSON reader.
            return self._event(n, cell, ts).replace(b'"450-', b'"\\u0034\\u0035\\u0030-', 1)
        if kind == "lone_surrogate":
            return self._event(n, cell, ts).replace(cell.encode(), b"\\ud800" + str(n).encode())
        if kind == "far_future_ts":
            return self._event(n, cell, datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
        if kind == "ancient_ts":
            return self._event(n, cell, datetime(1, 1, 1, 0, 1, tzinfo=UTC))
        return b"\x00\xff not json " + str(n).encode()


def _counters_json(rng: random.Random) -> bytes:
    """`"granularity_s":60,"counters":{...}}`: the rest of one plausible cell-KPI event."""
    prb = round(rng.uniform(5.0, 60.0), 1)
    counters = {
        "RRU.PrbTotDl": prb, "RRU.PrbTotUl": round(prb / 2, 1), "DRB.UEThpDl": 150_000.0, "DRB.UEThpUl": 20_000.0,
        "DRB.AirIfDelayDl": 4.0, "RRC.ConnMean": rng.randrange(10, 300), "RRC.ConnEstabAtt": 5200,
        "RRC.ConnEstabSucc": 5150, "MM.HoExeIntraReq": 800, "MM.HoExeIntraSucc": 790, "MM.HoExeInterReq": 230,
        "MM.HoExeInterSucc": 224, "PEE.AvgPower": round(400.0 + 4 * prb, 1),
    }
    return b'"granularity_s":60,"counters":' + orjson.dumps(counters) + b"}"


def site_cell_id(k: int) -> str:
    """The id of the site's `k`th real cell (three to an eNB)."""
    return f"450-05-{1_000_000 + k // 3}-{k % 3}"


def _rfc3339(ts: datetime) -> str:
    """`ts` (UTC) in RFC 3339 with a `Z`, four-digit years included (`0001-01-01T00:01:00Z`)."""
    return ts.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
