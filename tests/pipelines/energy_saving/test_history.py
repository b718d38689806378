"""Load history: what each cell's window holds, and how it copes with missing, late and silent data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipelines.energy_saving.history import (
    HORIZON,
    WINDOW,
    HistoryRows,
    LoadHistory,
    load_values,
    local_hour,
    target_hours,
)

T0 = 1_795_000_000.0  # any POSIX time will do
NAN = math.nan


def _add(
    history: LoadHistory, cell: str, ts: float, prb: float, users: float, power: float = 400.0, period: int = 900
) -> HistoryRows:
    return history.append([cell], [[prb, users, power]], [ts], [period], utc_offset_h=9.0)


def test_counters_become_prb_users_and_power_with_nan_for_missing_or_bad_values() -> None:
    assert load_values({"RRU.PrbTotDl": 12.5, "RRC.ConnMean": 40, "PEE.AvgPower": 350.0}) == (12.5, 40.0, 350.0)
    values = load_values({"RRU.PrbTotDl": "high", "RRC.ConnMean": True, "PEE.AvgPower": -3.0})
    assert all(math.isnan(v) for v in values)


def test_the_first_sample_pads_the_whole_window_and_later_ones_shift_in() -> None:
    history = LoadHistory()
    first = _add(history, "c", T0, 10.0, 30.0)
    assert first.ready[0] and first.samples[0] == 1
    assert np.all(first.values[0, :, 0] == 10.0) and np.all(first.values[0, :, 1] == 30.0)
    second = _add(history, "c", T0 + 900, 20.0, 50.0)
    assert list(second.values[0, -2:, 0]) == [10.0, 20.0] and second.samples[0] == 2
    assert second.hours[0, -1, 0] == pytest.approx(local_hour(T0 + 900, 9.0))
    assert second.hours[0, 0, 0] == pytest.approx(local_hour(T0, 9.0)), "padding keeps the hour it was measured at"


def test_a_missing_counter_repeats_the_last_value_seen_with_its_hour() -> None:
    history = LoadHistory()
    _add(history, "c", T0, 10.0, 30.0)
    rows = _add(history, "c", T0 + 900, NAN, 35.0)
    assert rows.values[0, -1, 0] == 10.0 and rows.values[0, -1, 1] == 35.0
    assert rows.hours[0, -1, 0] == pytest.approx(local_hour(T0, 9.0))


def test_a_cell_is_not_ready_until_both_loads_were_reported() -> None:
    history = LoadHistory()
    assert not _add(history, "c", T0, NAN, 30.0).ready[0]
    assert _add(history, "c", T0 + 900, 5.0, NAN).ready[0]


def test_duplicates_and_out_of_order_samples_are_flagged_late_and_not_added() -> None:
    history = LoadHistory()
    _add(history, "c", T0, 10.0, 30.0)
    _add(history, "c", T0 + 900, 20.0, 30.0)
    replay = _add(history, "c", T0 + 900, 99.0, 99.0)
    assert replay.late[0] and replay.samples[0] == 2 and replay.values[0, -1, 0] == 20.0


def test_a_silence_longer_than_the_window_starts_the_history_afresh() -> None:
    history = LoadHistory()
    for i in range(5):
        _add(history, "c", T0 + 900 * i, 10.0, 30.0)
    rows = _add(history, "c", T0 + 900 * (5 + WINDOW + 1), 50.0, 80.0)
    assert rows.samples[0] == 1 and np.all(rows.values[0, :, 0] == 50.0)


def test_rows_of_one_cell_in_a_batch_each_see_the_history_up_to_themselves() -> None:
    history = LoadHistory()
    rows = history.append(
        ["a", "b", "a"], [[1.0, 1.0, 300.0], [5.0, 5.0, 300.0], [2.0, 2.0, 500.0]],
        [T0, T0, T0 + 60], [60, 60, 60], 9.0,
    )
    assert list(rows.samples) == [1, 1, 2]
    assert rows.values[0, -1, 0] == 1.0 and rows.values[2, -1, 0] == 2.0 and rows.values[2, -2, 0] == 1.0
    assert rows.power_w[2] == 400.0, "mean of the recent power samples"


def test_forgotten_cells_start_again_and_their_slots_are_reused() -> None:
    history = LoadHistory()
    _add(history, "a", T0, 10.0, 30.0)
    _add(history, "b", T0, 10.0, 30.0)
    history.forget(["a"])
    assert "a" not in history and len(history) == 1
    assert _add(history, "c", T0, 70.0, 90.0).samples[0] == 1
    assert _add(history, "b", T0 + 900, 10.0, 30.0).samples[0] == 2, "another cell's slot was not reused"


def test_target_hours_are_the_local_hours_of_the_next_periods() -> None:
    hours = target_hours([T0], [900], 9.0)
    assert hours.shape == (1, HORIZON)
    assert list(hours[0]) == pytest.approx([local_hour(T0 + 900 * (h + 1), 9.0) for h in range(HORIZON)])


def test_a_history_loaded_from_its_snapshot_gives_the_same_rows_bit_for_bit() -> None:
    original, restored = LoadHistory(), LoadHistory()
    for i, (prb, users, power) in enumerate([(10.1, 30.7, 401.3), (NAN, 31.9, NAN), (12.3, NAN, 399.9)]):
        _add(original, "c", T0 + 900 * i, prb, users, power)
    snapshot = original.snapshot("c")
    assert snapshot is not None and original.snapshot("unknown") is None
    restored.load("c", snapshot)
    after_original, after_restored = _add(original, "c", T0 + 2700, 11.1, 29.3), _add(restored, "c", T0 + 2700, 11.1, 29.3)
    for field in ("values", "hours", "samples", "ready", "late", "power_w"):
        assert getattr(after_original, field).tobytes() == getattr(after_restored, field).tobytes(), field
    assert _add(restored, "c", T0 + 2700, 1.0, 1.0).late[0], "the latest sample's time came back too"


def test_a_history_snapshot_of_another_window_is_refused_naming_the_field() -> None:
    history = LoadHistory()
    _add(history, "c", T0, 10.0, 30.0)
    snapshot = history.snapshot("c")
    assert snapshot is not None
    with pytest.raises(ValueError, match="`values` must hold 8 values"):
        LoadHistory(window=4).load("c", snapshot)
