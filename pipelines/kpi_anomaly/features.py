"""Cell-KPI features: each sample's KPIs, and how far each sits from that cell's recent window.

The same code builds training data and live features, so the model sees what it was trained on.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

import kernels
from kernels import WindowFeaturesKernel
from pipelines.changelog import DeferredState
from pipelines.entity_limits import grown_rows
from pipelines.state_data import packed, read_count, unpacked

# Derived KPIs (name, counters it comes from). Rates are successes / attempts.
KPIS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("prb_dl_pct", ("RRU.PrbTotDl",)),
    ("prb_ul_pct", ("RRU.PrbTotUl",)),
    ("thp_dl_log_kbps", ("DRB.UEThpDl",)),
    ("thp_ul_log_kbps", ("DRB.UEThpUl",)),
    ("delay_dl_log_ms", ("DRB.AirIfDelayDl",)),
    ("users_log", ("RRC.ConnMean",)),
    ("rrc_setup_sr", ("RRC.ConnEstabSucc", "RRC.ConnEstabAtt")),
    ("ho_intra_sr", ("MM.HoExeIntraSucc", "MM.HoExeIntraReq")),
    ("ho_inter_sr", ("MM.HoExeInterSucc", "MM.HoExeInterReq")),
    ("power_log_w", ("PEE.AvgPower",)),
)
KPI_NAMES = tuple(name for name, _ in KPIS)
N_KPIS = len(KPIS)
FEATURE_NAMES = (
    tuple(KPI_NAMES)
    + tuple(f"{name}_dev" for name in KPI_NAMES)
    + ("hour_sin", "hour_cos")
)
N_FEATURES = len(FEATURE_NAMES)
WINDOW = 12
"""Samples of history kept per cell."""
MIN_HISTORY = 3
"""Samples needed before deviations from the window count."""
STD_FLOOR = np.array([0.02, 0.01, 0.05, 0.05, 0.05, 0.05, 0.01, 0.01, 0.015, 0.03])
"""Smallest spread a KPI's window may claim, so a flat history does not turn noise into alarms."""
FEATURE_CLIP = 50.0
"""Largest magnitude a feature may take, so one wild counter cannot dominate the model's input."""
_LOCAL_UTC_OFFSET_H = 9


COUNTERS = (
    "RRU.PrbTotDl", "RRU.PrbTotUl", "DRB.UEThpDl", "DRB.UEThpUl", "DRB.AirIfDelayDl", "RRC.ConnMean",
    "RRC.ConnEstabSucc", "RRC.ConnEstabAtt", "MM.HoExeIntraSucc", "MM.HoExeIntraReq",
    "MM.HoExeInterSucc", "MM.HoExeInterReq", "PEE.AvgPower",
)
_NUMBER_TYPES = (int, float)  # exact types: a JSON true/false is not a counter value
_PLAIN_TYPES = frozenset({int, float, type(None)})
"""What a column holds when every sample is well-formed (None: the counter is missing)."""


def _counter_value(value: object) -> float:
    """One counter as a float; NaN for anything but a number within float range."""
    if type(value) in _NUMBER_TYPES:
        try:
            return float(value)  # type: ignore[arg-type]
        except OverflowError:
            return math.nan
    return math.nan


def _counter_column(samples: Sequence[Mapping[str, object]], name: str) -> npt.NDArray[np.float64]:
    values = [s.get(name) for s in samples]
    # The usual case, checked and converted by C loops: numbers and gaps only (None becomes NaN).
    if set(map(type, values)) <= _PLAIN_TYPES:
        try:
            return np.array(values, dtype=np.float64)
        except OverflowError:  # an integer beyond float range: let the slow path refuse it
            pass
    return np.array([_counter_value(v) for v in values], dtype=np.float64)


def counter_matrix(
    samples: Sequence[Mapping[str, object]], names: Sequence[str] = COUNTERS
) -> npt.NDArray[np.float64]:
    """The counters `names` of many samples as reported, `[rows, len(names)]`: NaN where a counter
    is missing or not a number (a JSON true/false, a string, an object). One pass per counter."""
    out = np.empty((len(samples), len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        out[:, j] = _counter_column(samples, name)
    return out


_COLUMN = {name: j for j, name in enumerate(COUNTERS)}


def kpis_from_counters(counters: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The KPIs of `counter_matrix` rows, `[rows, N_KPIS]`; NaN where a counter is missing, not a
    non-negative finite number, or a rate has no attempts."""
    valid = np.array(counters, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        valid[~np.isfinite(valid) | (valid < 0)] = math.nan
    c = {name: valid[:, j] for name, j in _COLUMN.items()}

    def rate(succ: str, att: str) -> npt.NDArray[np.float64]:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(c[att] > 0, np.minimum(c[succ] / c[att], 1.0), math.nan)

    out = np.empty((len(valid), N_KPIS), dtype=np.float64)
    out[:, 0] = c["RRU.PrbTotDl"] / 100.0
    out[:, 1] = c["RRU.PrbTotUl"] / 100.0
    out[:, 2] = np.log1p(c["DRB.UEThpDl"] / 1000.0)
    out[:, 3] = np.log1p(c["DRB.UEThpUl"] / 1000.0)
    out[:, 4] = np.log1p(c["DRB.AirIfDelayDl"])
    out[:, 5] = np.log1p(c["RRC.ConnMean"])
    out[:, 6] = rate("RRC.ConnEstabSucc", "RRC.ConnEstabAtt")
    out[:, 7] = rate("MM.HoExeIntraSucc", "MM.HoExeIntraReq")
    out[:, 8] = rate("MM.HoExeInterSucc", "MM.HoExeInterReq")
    out[:, 9] = np.log1p(c["PEE.AvgPower"])
    return out


def kpi_matrix(samples: Sequence[Mapping[str, object]]) -> npt.NDArray[np.float64]:
    """The KPIs of many samples' counters, `[rows, N_KPIS]` (see `kpis_from_counters`)."""
    return kpis_from_counters(counter_matrix(samples))


def kpi_vector(counters: Mapping[str, object]) -> npt.NDArray[np.float64]:
    """The KPIs of one sample (see `kpi_matrix`)."""
    row: npt.NDArray[np.float64] = kpi_matrix([counters])[0]
    return row


def _hour_point(hour_utc: int, minute: int) -> tuple[float, float]:
    hour = (hour_utc + _LOCAL_UTC_OFFSET_H + minute / 60) % 24
    angle = 2 * math.pi * hour / 24
    return math.sin(angle), math.cos(angle)


_HOUR_POINTS = np.array([_hour_point(m // 60, m % 60) for m in range(24 * 60)])
_HOUR_POINTS.flags.writeable = False


def hour_features(ts: datetime) -> tuple[float, float]:
    """Local time of day as a point on the unit circle, from a UTC time."""
    return _hour_point(ts.hour, ts.minute)


def hour_features_of_minutes(minutes: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """`hour_features` of many UTC minutes of the day (0-1439), `[rows, 2]`, by table lookup."""
    return _HOUR_POINTS[np.asarray(minutes, dtype=np.intp)]


def _batch_array(name: str, given: npt.ArrayLike, rows: int, width: int) -> npt.NDArray[np.float64]:
    array = np.ascontiguousarray(given, dtype=np.float64)
    if array.size == 0 and rows == 0:
        return array.reshape(0, width)
    if array.shape != (rows, width):
        raise ValueError(
            f"{name} must have shape ({rows}, {width}), one row per cell id, got {array.shape}"
        )
    return array


class WindowRows(DeferredState):
    """A cell's window as it stood after a batch, in the form `CellWindows.snapshot` gives."""

    __slots__ = ("rows", "samples", "window")

    def __init__(self, samples: int, rows: npt.NDArray[np.float64], window: int) -> None:
        self.samples = samples
        self.rows = rows
        self.window = window

    def fragment(self) -> orjson.Fragment:
        filled = packed(self.rows[: min(self.samples, self.window)], "<f8")
        return orjson.Fragment(b'{"samples":%d,"rows":"%s"}' % (self.samples, filled.encode()))


class CellWindows:
    """A ring buffer of recent KPI vectors per cell.

    `features(cells, kpis, hours)` scores each sample against the history *before* it, then
    appends it, so rows of one cell within a batch are handled in arrival order. Python keeps the
    cell -> slot map and grows the buffers; the per-row work is one call to `kernel` per batch
    (by default the one `kernels` selected).
    """

    def __init__(
        self, window: int = WINDOW, kernel: WindowFeaturesKernel | None = None, *, max_cells: int | None = None
    ) -> None:
        self.window = window
        self.kernel = kernels.window_features if kernel is None else kernel
        self.max_cells = max_cells
        """The most cells expected at once (the pipeline's limit): the buffers grow to it, not past."""
        self._index: dict[str, int] = {}
        # Slots of forgotten cells. New cells take these first: with cells forgotten,
        # len(self._index) can name a slot that a live cell still holds.
        self._free: list[int] = []
        self._values = np.full((64, window, N_KPIS), np.nan)
        self._counts = np.zeros(64, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self) -> Iterator[str]:
        """The cells held."""
        return iter(self._index)

    @property
    def slots(self) -> int:
        """Rows of the buffers: they grow to the most cells held at once and are reused after."""
        return len(self._counts)

    def history(self, cell_id: str) -> int:
        """Samples currently held for a cell (0 for an unknown cell)."""
        idx = self._index.get(cell_id)
        return 0 if idx is None else int(min(self._counts[idx], self.window))

    def snapshots(self, cell_ids: Sequence[str]) -> list[WindowRows]:
        """`snapshot` of many held cells (the changelog of a batch of thousands): their rows are
        copied at once, and each made JSON only if its state is written."""
        slots = np.fromiter(map(self._index.__getitem__, cell_ids), dtype=np.intp, count=len(cell_ids))
        rows = self._values[slots]
        return list(map(WindowRows, self._counts[slots].tolist(), rows, repeat(self.window)))

    def snapshot(self, cell_id: str) -> dict[str, Any] | None:
        """A cell's window as changelog data: the samples it has taken (`samples`) and its ring
        rows as they lie, little-endian float64 in base64 (`rows`, only those filled). None for
        an unknown cell. `load` puts it back bit for bit, so features come out the same."""
        idx = self._index.get(cell_id)
        if idx is None:
            return None
        count = int(self._counts[idx])
        return {"samples": count, "rows": packed(self._values[idx, : min(count, self.window)], "<f8")}

    def load(self, cell_id: str, snapshot: Mapping[str, Any]) -> None:
        """Hold a cell's window as `snapshot` gave it.

        Raises:
            ValueError: the snapshot does not describe a window of this shape.
        """
        count = read_count(snapshot, "samples")
        held = min(count, self.window)
        encoded = snapshot.get("rows")
        # Only the filled rows, or every ring row: the form earlier releases wrote for a batch.
        whole = isinstance(encoded, str) and len(encoded) == self.window * N_KPIS * 8 * 4 // 3
        rows = unpacked(snapshot, "rows", "<f8", (self.window if whole else held, N_KPIS))
        idx = self._slot(cell_id)
        self._values[idx] = np.nan
        self._values[idx, : len(rows)] = rows
        self._counts[idx] = count

    def forget(self, cell_ids: Sequence[str]) -> None:
        """Drop the state of some cells (their partitions moved to another replica)."""
        for cell_id in cell_ids:
            idx = self._index.pop(cell_id, None)
            if idx is not None:
                self._values[idx] = np.nan
                self._counts[idx] = 0
                self._free.append(idx)

    def _slot(self, cell_id: str) -> int:
        idx = self._index.get(cell_id)
        if idx is None:
            if self._free:
                idx = self._free.pop()
            else:
                idx = len(self._index)
                if idx >= len(self._counts):
                    grow = grown_rows(len(self._counts), self.max_cells) - len(self._counts)
                    empty = np.full((grow, self.window, N_KPIS), np.nan)
                    self._values = np.concatenate([self._values, empty])
                    self._counts = np.concatenate([self._counts, np.zeros(grow, dtype=np.int64)])
            self._index[cell_id] = idx
        return idx

    def features(
        self, cell_ids: Sequence[str], kpis: npt.ArrayLike, hours: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """Feature rows (float32, `N_FEATURES` wide) and each row's history length before it.

        Args:
            cell_ids: the cell of each row.
            kpis: `[rows, N_KPIS]` from `kpis_from_counters` or `kpi_matrix` (NaN for missing).
            hours: `[rows, 2]` from `hour_features_of_minutes` or `hour_features`.
        """
        rows = len(cell_ids)
        kpi_rows = _batch_array("kpis", kpis, rows, N_KPIS)
        hour_rows = _batch_array("hours", hours, rows, 2)
        index = self._index
        try:
            slots = [index[cell_id] for cell_id in cell_ids]
        except KeyError:
            slots = [self._slot(cell_id) for cell_id in cell_ids]
        out = np.empty((rows, N_FEATURES), dtype=np.float32)
        history = np.empty(rows, dtype=np.int64)
        self.kernel(
            self._values, self._counts, np.array(slots, dtype=np.int64), kpi_rows, hour_rows,
            STD_FLOOR, MIN_HISTORY, FEATURE_CLIP, out, history,
        )
        return out, history


def worst_kpis(contributions: npt.NDArray[np.float32], top: int = 3) -> npt.NDArray[np.intp]:
    """For each row of per-feature reconstruction errors, the indices of its `top` worst KPIs
    (a KPI's error is that of its value plus that of its deviation from the cell's window)."""
    per_kpi = contributions[:, :N_KPIS] + contributions[:, N_KPIS : 2 * N_KPIS]
    return np.argsort(-per_kpi, axis=1)[:, :top]


def contributing_counters(contributions: npt.NDArray[np.float32], top: int = 3) -> list[list[str]]:
    """For each row, the counters behind its `top` worst KPIs."""
    return [[counter for k in row for counter in KPIS[k][1]] for row in worst_kpis(contributions, top)]
