"""The sleep policy: a cell sleeps only when its load stays low and its neighbours can carry it,
never the whole group, at least the minimum time, without flapping, and wakes when coverage or
capacity needs it."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from pipelines.energy_saving.policy import Decision, SleepPolicy, expected_saving_w
from pipelines.energy_saving.settings import EnergySavingSettings

P = 900.0  # 15-minute periods; the horizon is 4 of them
T0 = 1_795_000_000.0
LOW = (8.0, 30.0)  # PRB percent, users: well under the sleep thresholds
A, B, C = "450-05-1-1", "450-05-1-2", "450-05-1-3"


def _policy(**overrides: float) -> SleepPolicy:
    return SleepPolicy(EnergySavingSettings(**overrides))


def _observe(
    policy: SleepPolicy, at: float, cell: str, load: tuple[float, float], *, samples: int = 12, power_w: float = 400.0
) -> Decision | None:
    prb, users = load
    return policy.observe(cell, at, P, [prb] * 4, [users] * 4, samples, power_w)


def _period(policy: SleepPolicy, at: float, loads: dict[str, tuple[float, float]]) -> dict[str, Decision]:
    out = {}
    for cell, load in loads.items():
        decision = _observe(policy, at, cell, load)
        if decision is not None:
            out[cell] = decision
    return out


def test_low_load_cells_sleep_while_one_cell_of_the_group_stays_awake_for_the_others() -> None:
    policy = _policy()
    first = _period(policy, T0, {A: LOW, B: LOW, C: LOW})
    assert set(first) == {B, C}, "A is seen first, with no known neighbour; B and C hand their users to A"
    assert all(d.control == "toBeEnergySaving" and d.absorbing_cells == (A,) for d in first.values())
    assert _period(policy, T0 + P, {A: LOW, B: LOW, C: LOW}) == {}, "A is the last awake cell: it never sleeps"
    assert not policy.is_sleeping(A) and policy.is_sleeping(B) and policy.is_sleeping(C)


def test_a_sleep_recommendation_runs_from_the_next_period_for_the_horizon_or_the_minimum_sleep() -> None:
    policy = _policy(min_sleep_s=1800)
    _observe(policy, T0, A, LOW)
    decision = _observe(policy, T0, B, (6.0, 20.0), power_w=380.0)
    assert decision is not None and decision.reason == "lowForecastLoad" and not decision.renewal
    assert decision.valid_from_s == T0 + P
    assert decision.valid_until_s == T0 + P + 4 * P
    longer = _policy(min_sleep_s=3 * 3600)
    _observe(longer, T0, A, LOW)
    stretched = _observe(longer, T0, B, LOW)
    assert stretched is not None and stretched.valid_until_s == T0 + P + 3 * 3600


def test_the_expected_saving_is_the_power_drawn_less_sleep_power_less_the_load_moved_to_neighbours() -> None:
    settings = EnergySavingSettings(sleep_power_w=40.0, neighbour_w_per_prb_pct=3.5)
    assert expected_saving_w(380.0, [6.0, 6.0, 8.0, 8.0], settings) == pytest.approx(380.0 - 40.0 - 3.5 * 7.0)
    policy = SleepPolicy(settings)
    _observe(policy, T0, A, LOW)
    decision = _observe(policy, T0, B, (6.0, 20.0), power_w=380.0)
    assert decision is not None and decision.expected_saving_w == pytest.approx(380.0 - 40.0 - 3.5 * 6.0)


def test_no_sleep_when_the_neighbours_lack_capacity_for_the_load() -> None:
    policy = _policy(absorb_max_prb_pct=50.0, absorb_max_users=250.0)
    assert _period(policy, T0, {A: (44.0, 100.0), B: LOW}) == {}, "44 % + 8 % PRB would exceed 50 % on A"
    assert _period(policy, T0 + P, {A: (30.0, 240.0), B: LOW}) == {}, "240 + 30 users would exceed 250 on A"
    assert set(_period(policy, T0 + 2 * P, {A: (30.0, 100.0), B: LOW})) == {B}


def test_no_sleep_when_the_cells_own_forecast_is_not_low_at_every_step() -> None:
    policy = _policy(sleep_max_prb_pct=15.0)
    _observe(policy, T0, A, LOW)
    assert policy.observe(B, T0, P, [8.0, 9.0, 12.0, 16.0], [30.0] * 4, 12, 400.0) is None


def test_no_sleep_without_enough_history_a_power_reading_or_a_known_neighbour_group() -> None:
    policy = _policy(min_history_samples=4)
    _observe(policy, T0, A, LOW)
    assert _observe(policy, T0, B, LOW, samples=3) is None, "history rebuilt after a restart is too short"
    assert _observe(policy, T0, B, LOW, power_w=float("nan")) is None, "no saving can be claimed"
    _observe(policy, T0, "cell-x", LOW)
    assert _observe(policy, T0, "cell-y", LOW) is None, "ids of unknown shape have no neighbours"


def test_a_cell_sleeps_at_least_the_minimum_time_even_when_its_own_load_rises() -> None:
    policy = _policy(min_sleep_s=1800, wake_min_prb_pct=25.0)
    _period(policy, T0, {A: LOW, B: LOW})
    assert policy.is_sleeping(B)
    rising = (30.0, 40.0)
    assert _period(policy, T0 + P, {A: LOW, B: rising}) == {}, "within the minimum sleep"
    woken = _period(policy, T0 + 3 * P, {A: LOW, B: rising})
    assert woken[B].control == "toBeNotEnergySaving" and woken[B].reason == "loadRising"
    assert woken[B].valid_from_s == T0 + 3 * P and woken[B].valid_until_s is None


def test_hysteresis_keeps_a_cell_asleep_between_the_sleep_and_wake_thresholds_and_renews_its_lease() -> None:
    policy = _policy(sleep_max_prb_pct=15.0, wake_min_prb_pct=25.0, min_sleep_s=0)
    _period(policy, T0, {A: LOW, B: LOW})
    between = (20.0, 30.0)
    assert _period(policy, T0 + P, {A: LOW, B: between}) == {}
    renewed = _period(policy, T0 + 3 * P, {A: LOW, B: between})[B]
    assert renewed.control == "toBeEnergySaving" and renewed.renewal
    assert renewed.valid_from_s == T0 + P, "the sleep still began when it began"
    assert renewed.valid_until_s == T0 + 3 * P + P + 4 * P


def test_a_woken_cell_stays_awake_for_the_minimum_awake_time() -> None:
    policy = _policy(min_sleep_s=0, min_awake_s=3600)
    busy = (20.0, 60.0)  # A carries B but is too busy to sleep itself
    _period(policy, T0, {A: busy, B: LOW})
    assert _period(policy, T0 + P, {A: busy, B: (30.0, 40.0)})[B].reason == "loadRising"
    assert _period(policy, T0 + 2 * P, {A: busy, B: LOW}) == {}
    assert _period(policy, T0 + 4 * P, {A: busy, B: LOW}) == {}
    assert set(_period(policy, T0 + 5 * P, {A: busy, B: LOW})) == {B}, "an hour after it woke"


def test_sleeping_cells_wake_at_once_when_the_awake_neighbours_would_be_overloaded() -> None:
    policy = _policy(min_sleep_s=3600, overload_prb_pct=65.0)
    _period(policy, T0, {A: LOW, B: LOW, C: LOW})
    assert policy.is_sleeping(B) and policy.is_sleeping(C)
    woken = _period(policy, T0 + P, {A: (55.0, 150.0), B: LOW, C: LOW})
    assert list(woken) == [B] and woken[B].reason == "neighbourOverload", "55 + 8 + 8 > 65 % on A alone"
    assert not policy.is_sleeping(B) and policy.is_sleeping(C), "two awake cells now share 71 %"


def test_a_sleeping_cell_wakes_when_its_awake_neighbours_fall_silent() -> None:
    policy = _policy(min_sleep_s=3600, stale_after_periods=2)
    _period(policy, T0, {A: LOW, B: LOW})
    assert _period(policy, T0 + 2 * P, {B: LOW}) == {}, "A's forecast is two periods old: still fresh"
    woken = _period(policy, T0 + 3 * P, {B: LOW})
    assert woken[B].reason == "coverage" and woken[B].absorbing_cells == ()


def test_an_unrenewed_lease_lapses_and_the_cell_counts_as_awake_again() -> None:
    policy = _policy(min_awake_s=3600)
    _period(policy, T0, {A: LOW, B: LOW})
    policy.forget([A])  # A's partition moved; nobody vouches for B's neighbour any more
    lapse = T0 + P + 4 * P
    assert _observe(policy, lapse, B, LOW) is None, "the lease has run out: awake since it ended"
    assert not policy.is_sleeping(B)


def test_a_group_never_sleeps_whole_under_random_load_and_missing_reports() -> None:
    rng = random.Random(7)
    policy = _policy(min_sleep_s=0, min_awake_s=0)
    groups = {f"450-05-{g}": [f"450-05-{g}-{i}" for i in range(1, 2 + g)] for g in range(1, 4)}
    sleeps = 0
    for step in range(400):
        for cells in groups.values():
            for cell in cells:
                if rng.random() < 0.1:
                    continue  # a missing report
                decision = _observe(policy, T0 + step * P, cell, (rng.uniform(0, 20), rng.uniform(0, 80)))
                sleeps += decision is not None and decision.control == "toBeEnergySaving"
            assert not all(policy.is_sleeping(c) for c in cells), f"step {step}: whole group asleep"
    assert sleeps > 50, "the scenario exercises sleeping at all"


def test_thresholds_that_leave_no_hysteresis_are_refused() -> None:
    with pytest.raises(ValidationError, match="wake_min_prb_pct"):
        EnergySavingSettings(sleep_max_prb_pct=30.0, wake_min_prb_pct=25.0)
    with pytest.raises(ValidationError, match="overload_users"):
        EnergySavingSettings(absorb_max_users=400.0, overload_users=300.0)


def test_a_plan_loaded_from_its_snapshot_joins_its_group_and_decides_as_the_original() -> None:
    original = _policy(min_sleep_s=3600)
    _period(original, T0, {A: LOW, B: LOW, C: LOW})
    restored = _policy(min_sleep_s=3600)
    for cell in (C, A, B):  # any order: a plan's neighbours are found through the group, not the plan
        restored.load(cell, original.snapshot(cell), 4)
    assert restored.is_sleeping(B) and restored.is_sleeping(C) and not restored.is_sleeping(A)
    overload = {A: (55.0, 150.0), B: LOW, C: LOW}
    assert _period(restored, T0 + P, overload) == _period(original, T0 + P, overload)
    assert [restored.snapshot(c) for c in (A, B, C)] == [original.snapshot(c) for c in (A, B, C)]


def test_loading_no_plan_or_forgetting_a_loaded_one_leaves_the_group_without_it() -> None:
    policy = _policy()
    _period(policy, T0, {A: LOW, B: LOW})
    snapshot = policy.snapshot(A)
    policy.load(A, None, 4)
    assert A not in policy and policy.snapshot(A) is None
    woken = _observe(policy, T0 + P, B, LOW)
    assert woken is not None and woken.reason == "coverage", "B's only neighbour is gone"
    policy.load(A, snapshot, 4)
    policy.forget([A, B])
    assert A not in policy and B not in policy
    assert _observe(policy, T0 + 2 * P, C, LOW) is None, "C is alone in its group again"


def test_a_plan_with_forecasts_of_another_horizon_is_refused_before_it_can_join_a_group() -> None:
    policy = _policy()
    _period(policy, T0, {A: LOW, B: LOW})
    snapshot = policy.snapshot(B)
    with pytest.raises(ValueError, match="`prb` must hold 6 values"):
        policy.load(B, snapshot, 6)
    assert policy.snapshot(B) == snapshot, "what was held stands"
