"""Cell-KPI features: each sample's KPIs, and how far each sits from that cell's recent window.

The same code builds training data and live features, so the model sees what it was trained on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt

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
_STD_FLOOR = np.array([0.02, 0.01, 0.05, 0.05, 0.05, 0.05, 0.01, 0.01, 0.015, 0.03])
"""Smallest spread a KPI's window may claim, so a flat history does not turn noise into alarms."""
_LOCAL_UTC_OFFSET_H = 9


def kpi_vector(counters: Mapping[str, object]) -> npt.NDArray[np.float64]:
    """The KPIs of one sample; NaN where a counter is missing, not a number, or a rate has no attempts."""
    def get(name: str) -> float:
        value = counters.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return math.nan
        return float(value) if math.isfinite(value) and value >= 0 else math.nan

    def rate(succ: str, att: str) -> float:
        s, a = get(succ), get(att)
        return min(s / a, 1.0) if a > 0 else math.nan

    return np.array(
        [
            get("RRU.PrbTotDl") / 100.0,
            get("RRU.PrbTotUl") / 100.0,
            math.log1p(get("DRB.UEThpDl") / 1000.0),
            math.log1p(get("DRB.UEThpUl") / 1000.0),
            math.log1p(get("DRB.AirIfDelayDl")),
            math.log1p(get("RRC.ConnMean")),
            rate("RRC.ConnEstabSucc", "RRC.ConnEstabAtt"),
            rate("MM.HoExeIntraSucc", "MM.HoExeIntraReq"),
            rate("MM.HoExeInterSucc", "MM.HoExeInterReq"),
            math.log1p(get("PEE.AvgPower")),
        ]
    )


def hour_features(ts: datetime) -> tuple[float, float]:
    """Local time of day as a point on the unit circle."""
    hour = (ts.hour + _LOCAL_UTC_OFFSET_H + ts.minute / 60) % 24
    angle = 2 * math.pi * hour / 24
    return math.sin(angle), math.cos(angle)


class CellWindows:
    """A ring buffer of recent KPI vectors per cell.

    `features(cells, kpis, hours)` scores each sample against the history *before* it, then
    appends it, so rows of one cell within a batch are handled in arrival order.
    """

    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self._index: dict[str, int] = {}
        self._values = np.full((64, window, N_KPIS), np.nan)
        self._counts = np.zeros(64, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._index)

    def history(self, cell_id: str) -> int:
        """Samples currently held for a cell (0 for an unknown cell)."""
        idx = self._index.get(cell_id)
        return 0 if idx is None else int(min(self._counts[idx], self.window))

    def forget(self, cell_ids: Sequence[str]) -> None:
        """Drop the state of some cells (their partitions moved to another replica)."""
        for cell_id in cell_ids:
            idx = self._index.pop(cell_id, None)
            if idx is not None:
                self._values[idx] = np.nan
                self._counts[idx] = 0

    def _slot(self, cell_id: str) -> int:
        idx = self._index.get(cell_id)
        if idx is None:
            idx = len(self._index)
            if idx >= len(self._counts):
                grow = len(self._counts)
                self._values = np.concatenate([self._values, np.full((grow, self.window, N_KPIS), np.nan)])
                self._counts = np.concatenate([self._counts, np.zeros(grow, dtype=np.int64)])
            self._index[cell_id] = idx
        return idx

    def features(
        self, cell_ids: Sequence[str], kpis: npt.NDArray[np.float64], hours: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """Feature rows (float32, `N_FEATURES` wide) and each row's history length before it.

        Args:
            cell_ids: the cell of each row.
            kpis: `[rows, N_KPIS]` from `kpi_vector` (NaN for missing).
            hours: `[rows, 2]` from `hour_features`.
        """
        rows = len(cell_ids)
        out = np.zeros((rows, N_FEATURES), dtype=np.float32)
        history = np.zeros(rows, dtype=np.int64)
        for row, cell_id in enumerate(cell_ids):
            idx = self._slot(cell_id)
            count = int(self._counts[idx])
            held = min(count, self.window)
            current = kpis[row]
            if held:
                past = self._values[idx, :held]
                valid = ~np.isnan(past)
                n = valid.sum(axis=0)
                mean = np.where(n > 0, np.nansum(past, axis=0) / np.maximum(n, 1), np.nan)
            else:
                n = np.zeros(N_KPIS, dtype=np.int64)
                mean = np.full(N_KPIS, np.nan)
            filled = np.where(np.isnan(current), mean, current)
            out[row, :N_KPIS] = np.nan_to_num(filled, nan=0.0)
            enough = n >= MIN_HISTORY
            if enough.any():
                spread = np.sqrt(np.nansum((past - mean) ** 2, axis=0) / np.maximum(n - 1, 1))
                dev = (current - mean) / np.maximum(spread, _STD_FLOOR)
                out[row, N_KPIS : 2 * N_KPIS] = np.where(enough & ~np.isnan(current), dev, 0.0)
            out[row, 2 * N_KPIS :] = hours[row]
            history[row] = held
            self._values[idx, count % self.window] = current
            self._counts[idx] = count + 1
        np.clip(out, -50.0, 50.0, out=out)
        return out, history


def contributing_counters(contributions: npt.NDArray[np.float32], top: int = 3) -> list[list[str]]:
    """For each row of per-feature reconstruction errors, the counters behind its `top` worst KPIs."""
    per_kpi = contributions[:, :N_KPIS] + contributions[:, N_KPIS : 2 * N_KPIS]
    order = np.argsort(-per_kpi, axis=1)[:, :top]
    return [[counter for k in row for counter in KPIS[k][1]] for row in order]
