"""Per-cell load history: the last few samples of PRB use and connected users that the forecast
model reads, each with the local hour it was measured at.

The same class builds the training data and the live model inputs, so the model sees what it was
trained on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from pipelines.entity_limits import grown_rows
from pipelines.state_data import exact, packed, read_count, read_float, unpacked

LOAD_COUNTERS = ("RRU.PrbTotDl", "RRC.ConnMean")
"""What the model forecasts: DL PRB use (percent) and mean RRC-connected users."""
POWER_COUNTER = "PEE.AvgPower"
N_LOADS = len(LOAD_COUNTERS)
WINDOW = 12
"""Samples of history per cell the model reads (3 hours of 15-minute PM periods)."""
HORIZON = 4
"""Periods forecast ahead of each sample (the next hour of 15-minute PM periods)."""
POWER_SAMPLES = 4
"""Recent PEE.AvgPower samples averaged into a cell's current power draw."""
_NUMBER_TYPES = (int, float)  # exact types: a JSON true/false is not a counter value


def local_hour(epoch_s: float, utc_offset_h: float) -> float:
    """Hour of the local day in [0, 24) of a POSIX time, for a fixed UTC offset."""
    return (epoch_s / 3600.0 + utc_offset_h) % 24.0


def load_values(counters: Mapping[str, object]) -> tuple[float, float, float]:
    """PRB use, connected users and power of one sample; NaN where a counter is missing, not a
    number, negative or not finite."""

    def value(name: str) -> float:
        raw = counters.get(name)
        if type(raw) not in _NUMBER_TYPES:
            return math.nan
        number = float(cast(float, raw))
        return number if math.isfinite(number) and number >= 0 else math.nan

    return value(LOAD_COUNTERS[0]), value(LOAD_COUNTERS[1]), value(POWER_COUNTER)


@dataclass
class HistoryRows:
    """Model inputs for a batch of samples, each row the cell's history up to and including it.

    `values`/`hours` are `[rows, WINDOW, N_LOADS]` (oldest first). A load never seen yet is NaN
    (`ready` false); a missing sample repeats the last one seen, and before the first one seen the
    window is padded with it.
    """

    values: npt.NDArray[np.float32]
    hours: npt.NDArray[np.float32]
    samples: npt.NDArray[np.int64]
    """Samples this cell has contributed since its history was (re)built, this one included."""
    ready: npt.NDArray[np.bool_]
    """Both loads have been seen at least once, so the row can be forecast."""
    late: npt.NDArray[np.bool_]
    """Not newer than the cell's latest sample (a duplicate or out of order): not added."""
    power_w: npt.NDArray[np.float64]
    """Mean of the cell's recent PEE.AvgPower samples (NaN if none)."""


class LoadHistory:
    """A window of recent loads per cell, keyed by cell id.

    A gap longer than the window (the cell was silent, or its partition came back) starts the
    cell's history afresh, as does `forget`.
    """

    def __init__(self, window: int = WINDOW, *, max_cells: int | None = None) -> None:
        if window < 2:
            raise ValueError(f"window must be >= 2, got {window}")
        self.window = window
        self.max_cells = max_cells
        """The most cells expected at once (the pipeline's limit): the buffers grow to it, not past."""
        self._index: dict[str, int] = {}
        self._free: list[int] = []
        self._values = np.full((0, window, N_LOADS), np.nan, dtype=np.float32)
        self._hours = np.zeros((0, window, N_LOADS), dtype=np.float32)
        self._power = np.full((0, POWER_SAMPLES), np.nan)
        self._samples = np.zeros(0, dtype=np.int64)
        self._last_ts = np.zeros(0)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, cell_id: object) -> bool:
        return cell_id in self._index

    def forget(self, cell_ids: Sequence[str]) -> None:
        """Drop the history of some cells (their partitions moved to another replica)."""
        for cell_id in cell_ids:
            idx = self._index.pop(cell_id, None)
            if idx is not None:
                self._reset(idx)
                self._free.append(idx)

    def snapshot(self, cell_id: str) -> dict[str, Any] | None:
        """A cell's history as changelog data (None for an unknown cell): the samples it has
        taken, its latest sample's time, and its window of loads, their local hours and its recent
        power readings as they lie, in base64 of their own little-endian float32/float64 bytes.
        `load` puts it back bit for bit, so the model reads the same rows."""
        idx = self._index.get(cell_id)
        if idx is None:
            return None
        return {
            "samples": int(self._samples[idx]),
            "last_ts": exact(float(self._last_ts[idx])),
            "values": packed(self._values[idx], "<f4"),
            "hours": packed(self._hours[idx], "<f4"),
            "power": packed(self._power[idx], "<f8"),
        }

    def load(self, cell_id: str, snapshot: Mapping[str, Any]) -> None:
        """Hold a cell's history as `snapshot` gave it.

        Raises:
            ValueError: the snapshot is not a history of this window (the message names the
                field, never the cell).
        """
        shape = (self.window, N_LOADS)
        values = unpacked(snapshot, "values", "<f4", shape)
        hours = unpacked(snapshot, "hours", "<f4", shape)
        power = unpacked(snapshot, "power", "<f8", (POWER_SAMPLES,))
        samples, last_ts = read_count(snapshot, "samples"), read_float(snapshot, "last_ts")
        if math.isnan(last_ts):
            raise ValueError("`last_ts` must be a time")
        idx = self._slot(cell_id)
        self._values[idx], self._hours[idx], self._power[idx] = values, hours, power
        self._samples[idx], self._last_ts[idx] = samples, last_ts

    def _reset(self, idx: int) -> None:
        self._values[idx] = np.nan
        self._hours[idx] = 0.0
        self._power[idx] = np.nan
        self._samples[idx] = 0
        self._last_ts[idx] = -math.inf

    def _slot(self, cell_id: str) -> int:
        idx = self._index.get(cell_id)
        if idx is not None:
            return idx
        if self._free:
            idx = self._free.pop()
        else:
            idx = len(self._index)
            if idx >= len(self._samples):
                grow = grown_rows(len(self._samples), self.max_cells) - len(self._samples)
                self._values = np.concatenate([self._values, np.full((grow, self.window, N_LOADS), np.nan, np.float32)])
                self._hours = np.concatenate([self._hours, np.zeros((grow, self.window, N_LOADS), np.float32)])
                self._power = np.concatenate([self._power, np.full((grow, POWER_SAMPLES), np.nan)])
                self._samples = np.concatenate([self._samples, np.zeros(grow, dtype=np.int64)])
                self._last_ts = np.concatenate([self._last_ts, np.full(grow, -math.inf)])
        self._reset(idx)
        self._index[cell_id] = idx
        return idx

    def append(
        self,
        cell_ids: Sequence[str],
        loads: npt.ArrayLike,
        epoch_s: npt.ArrayLike,
        granularity_s: npt.ArrayLike,
        utc_offset_h: float,
    ) -> HistoryRows:
        """Add a batch of samples in arrival order and return each one's model inputs.

        Args:
            loads: `[rows, 3]` from `load_values` (PRB use, users, power).
            epoch_s: each sample's time (POSIX seconds).
            granularity_s: each sample's reporting period.
        """
        rows = len(cell_ids)
        load_rows = np.asarray(loads, dtype=np.float64).reshape(rows, N_LOADS + 1)
        times = np.asarray(epoch_s, dtype=np.float64).reshape(rows)
        periods = np.asarray(granularity_s, dtype=np.float64).reshape(rows)
        values = np.empty((rows, self.window, N_LOADS), dtype=np.float32)
        hours = np.empty((rows, self.window, N_LOADS), dtype=np.float32)
        samples = np.empty(rows, dtype=np.int64)
        late = np.zeros(rows, dtype=bool)
        power = np.empty((rows, POWER_SAMPLES))
        for i, cell_id in enumerate(cell_ids):
            idx = self._slot(cell_id)
            ts = times[i]
            if ts <= self._last_ts[idx]:
                late[i] = True
            else:
                if ts - self._last_ts[idx] > self.window * periods[i]:
                    self._reset(idx)
                self._push(idx, load_rows[i], local_hour(ts, utc_offset_h))
                self._last_ts[idx] = ts
            values[i] = self._values[idx]
            hours[i] = self._hours[idx]
            samples[i] = self._samples[idx]
            power[i] = self._power[idx]
        seen = np.isfinite(power)
        counts = seen.sum(axis=1)
        power_w = np.where(counts > 0, np.where(seen, power, 0.0).sum(axis=1) / np.maximum(counts, 1), math.nan)
        ready = np.logical_not(np.isnan(values[:, -1, :]).any(axis=1))
        return HistoryRows(values, hours, samples, ready, late, power_w)

    def _push(self, idx: int, sample: npt.NDArray[np.float64], hour: float) -> None:
        values, hours = self._values[idx], self._hours[idx]
        values[:-1] = values[1:].copy()
        hours[:-1] = hours[1:].copy()
        for k in range(N_LOADS):
            if not math.isnan(sample[k]):
                if math.isnan(values[-2, k]):
                    # First sighting of this load: pad the whole window with it.
                    values[:, k] = sample[k]
                    hours[:, k] = hour
                else:
                    values[-1, k] = sample[k]
                    hours[-1, k] = hour
            else:
                values[-1, k] = values[-2, k]
                hours[-1, k] = hours[-2, k]
        power = self._power[idx]
        power[:-1] = power[1:].copy()
        power[-1] = sample[N_LOADS]
        self._samples[idx] += 1


def target_hours(
    epoch_s: npt.ArrayLike, granularity_s: npt.ArrayLike, utc_offset_h: float, horizon: int = HORIZON
) -> npt.NDArray[np.float32]:
    """`[rows, horizon]` local hours of the periods after each sample: t + g, t + 2g, ..."""
    times = np.asarray(epoch_s, dtype=np.float64).reshape(-1, 1)
    steps = np.asarray(granularity_s, dtype=np.float64).reshape(-1, 1) * np.arange(1, horizon + 1)
    return ((((times + steps) / 3600.0) + utc_offset_h) % 24.0).astype(np.float32)

