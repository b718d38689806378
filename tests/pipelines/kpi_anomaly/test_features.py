"""KPI features: counters become KPIs, windows remember each cell, deviations flag departures."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.kpi_anomaly.features import (
    KPI_NAMES,
    MIN_HISTORY,
    N_FEATURES,
    N_KPIS,
    WINDOW,
    CellWindows,
    contributing_counters,
    kpi_vector,
)

COUNTERS = {
    "RRU.PrbTotDl": 50.0, "RRU.PrbTotUl": 20.0, "DRB.UEThpDl": 100000.0, "DRB.UEThpUl": 20000.0,
    "DRB.AirIfDelayDl": 3.0, "RRC.ConnMean": 100, "RRC.ConnEstabAtt": 1000, "RRC.ConnEstabSucc": 990,
    "MM.HoExeIntraReq": 200, "MM.HoExeIntraSucc": 198, "MM.HoExeInterReq": 50, "MM.HoExeInterSucc": 49,
    "PEE.AvgPower": 500.0,
}


def test_kpis_are_derived_from_counters() -> None:
    kpis = dict(zip(KPI_NAMES, kpi_vector(COUNTERS), strict=True))
    assert kpis["prb_dl_pct"] == 0.5
    assert kpis["rrc_setup_sr"] == 0.99
    assert math.isclose(kpis["thp_dl_log_kbps"], math.log1p(100.0))


def test_missing_wrong_or_zero_attempt_counters_become_nan() -> None:
    broken = dict(COUNTERS, **{"RRU.PrbTotDl": "lots", "RRC.ConnEstabAtt": 0, "PEE.AvgPower": -1.0})
    del broken["DRB.UEThpDl"]
    kpis = dict(zip(KPI_NAMES, kpi_vector(broken), strict=True))
    for name in ("prb_dl_pct", "thp_dl_log_kbps", "rrc_setup_sr", "power_log_w"):
        assert math.isnan(kpis[name]), name
    assert kpis["ho_intra_sr"] == 0.99


def test_a_cell_without_history_has_no_deviation_and_missing_values_are_filled() -> None:
    windows = CellWindows()
    kpis = np.array([kpi_vector(COUNTERS)])
    kpis[0, 0] = np.nan
    rows, history = windows.features(["c1"], kpis, np.zeros((1, 2)))
    assert rows.shape == (1, N_FEATURES) and rows.dtype == np.float32
    assert history.tolist() == [0]
    assert rows[0, 0] == 0.0
    assert not rows[0, N_KPIS : 2 * N_KPIS].any()


def test_a_departure_from_the_cells_own_history_shows_as_a_large_deviation() -> None:
    windows = CellWindows()
    rng = np.random.default_rng(0)
    base = kpi_vector(COUNTERS)
    for _ in range(WINDOW):
        windows.features(["c1"], (base * rng.uniform(0.98, 1.02, N_KPIS))[None], np.zeros((1, 2)))
    spike = base.copy()
    spike[KPI_NAMES.index("power_log_w")] += math.log(2.5)
    rows, history = windows.features(["c1", "c2"], np.stack([spike, base]), np.zeros((2, 2)))
    deviations = rows[0, N_KPIS : 2 * N_KPIS]
    assert history.tolist() == [WINDOW, 0]
    assert np.argmax(np.abs(deviations)) == KPI_NAMES.index("power_log_w")
    assert deviations[KPI_NAMES.index("power_log_w")] > 5


def test_rows_of_one_cell_in_a_batch_see_the_rows_before_them() -> None:
    windows = CellWindows()
    kpis = np.tile(kpi_vector(COUNTERS), (MIN_HISTORY + 2, 1))
    _, history = windows.features(["c1"] * len(kpis), kpis, np.zeros((len(kpis), 2)))
    assert history.tolist() == list(range(len(kpis)))


def test_forgetting_a_cell_rebuilds_its_state_from_scratch() -> None:
    windows = CellWindows()
    windows.features(["c1"], kpi_vector(COUNTERS)[None], np.zeros((1, 2)))
    assert windows.history("c1") == 1
    windows.forget(["c1"])
    assert windows.history("c1") == 0


def test_windows_grow_past_their_initial_capacity() -> None:
    windows = CellWindows()
    cells = [f"c{i}" for i in range(200)]
    kpis = np.tile(kpi_vector(COUNTERS), (200, 1))
    windows.features(cells, kpis, np.zeros((200, 2)))
    assert len(windows) == 200 and windows.history("c199") == 1


def test_contributing_counters_name_the_counters_of_the_worst_kpis() -> None:
    contributions = np.zeros((1, N_FEATURES), dtype=np.float32)
    contributions[0, KPI_NAMES.index("ho_intra_sr") + N_KPIS] = 9.0
    contributions[0, KPI_NAMES.index("power_log_w")] = 4.0
    top = contributing_counters(contributions, top=2)[0]
    assert top == ["MM.HoExeIntraSucc", "MM.HoExeIntraReq", "PEE.AvgPower"]


def test_a_cell_arriving_after_another_was_forgotten_gets_a_window_of_its_own() -> None:
    windows = CellWindows()
    windows.features(["c1", "c2"], np.tile(kpi_vector(COUNTERS), (2, 1)), np.zeros((2, 2)))
    windows.forget(["c1"])
    windows.features(["c3"], kpi_vector(COUNTERS)[None], np.zeros((1, 2)))
    assert windows.history("c2") == 1 and windows.history("c3") == 1


def test_kpis_of_the_wrong_shape_are_refused_with_the_expected_shape() -> None:
    with pytest.raises(ValueError, match=rf"kpis must have shape \(2, {N_KPIS}\)"):
        CellWindows().features(["c1", "c2"], np.zeros((2, N_KPIS - 1)), np.zeros((2, 2)))


def test_a_batch_of_counters_gives_the_same_kpis_as_one_sample_at_a_time() -> None:
    from pipelines.kpi_anomaly.features import kpi_matrix

    odd = dict(COUNTERS, **{"RRU.PrbTotUl": True, "DRB.AirIfDelayDl": float("inf"), "PEE.AvgPower": None})
    samples = [COUNTERS, odd, {}, dict(COUNTERS, **{"MM.HoExeIntraReq": 0})]
    matrix = kpi_matrix(samples)
    assert matrix.shape == (4, N_KPIS)
    for row, sample in zip(matrix, samples, strict=True):
        np.testing.assert_array_equal(row, kpi_vector(sample))
    odd_kpis = dict(zip(KPI_NAMES, matrix[1], strict=True))
    for name in ("prb_ul_pct", "delay_dl_log_ms", "power_log_w"):
        assert math.isnan(odd_kpis[name]), f"{name}: a boolean, infinite or null counter is not a value"
    assert np.isnan(matrix[2]).all()
    assert math.isnan(matrix[3][KPI_NAMES.index("ho_intra_sr")])


def _reference_counter(value: object) -> float:
    """A counter as the contract reads it, one value at a time."""
    if type(value) not in (int, float):
        return math.nan
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:
        return math.nan
    return number if math.isfinite(number) and number >= 0 else math.nan


_COUNTER_VALUES = st.one_of(
    st.none(), st.booleans(), st.text(max_size=3), st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20), st.just(10**400),
)


@given(st.lists(st.dictionaries(st.sampled_from(["RRU.PrbTotDl", "PEE.AvgPower"]), _COUNTER_VALUES), max_size=12))
def test_every_counter_value_of_a_batch_is_read_as_the_contract_says(samples: list[dict[str, object]]) -> None:
    """Whole columns of plain numbers take a fast path; any odd value in a column sends it down
    the per-value path; both read every value alike (only non-negative finite numbers count)."""
    from pipelines.kpi_anomaly.features import kpi_matrix

    matrix = kpi_matrix(samples)
    for row, sample in zip(matrix, samples, strict=True):
        prb = _reference_counter(sample.get("RRU.PrbTotDl"))
        power = _reference_counter(sample.get("PEE.AvgPower"))
        np.testing.assert_allclose(row[KPI_NAMES.index("prb_dl_pct")], prb / 100.0, equal_nan=True)
        np.testing.assert_allclose(row[KPI_NAMES.index("power_log_w")], np.log1p(power), equal_nan=True)
