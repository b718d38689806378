"""The sleep policy: from each cell's load forecast and its neighbours', decide when a cell should
enter energy saving (3GPP `energySavingControl: toBeEnergySaving`) and when it must come back
(`toBeNotEnergySaving`), with guards for coverage, capacity and flapping.

Recommendations are leases: a cell sleeps from `valid_from` to `valid_until` unless woken
earlier, and the policy renews the lease while the forecast stays low. A replica that stops (or
loses the cell's partition) stops renewing, so its cells wake by themselves when their leases run
out: losing the pipeline never leaves cells asleep.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from pipelines.energy_saving.neighbours import co_sited_group
from pipelines.energy_saving.settings import EnergySavingSettings
from pipelines.state_data import exact, packed, read_flag, read_float, unpacked

Control = Literal["toBeEnergySaving", "toBeNotEnergySaving"]
Reason = Literal["lowForecastLoad", "neighbourOverload", "coverage", "loadRising"]
Floats = npt.NDArray[np.float64]


@dataclass
class _CellPlan:
    group: str
    sleeping: bool = False
    since_s: float = -math.inf
    """When the current state (asleep or awake) began; -inf: awake as far as this replica knows."""
    lease_until_s: float = -math.inf
    saving_w: float = 0.0
    prb: Floats = field(default_factory=lambda: np.zeros(0))
    users: Floats = field(default_factory=lambda: np.zeros(0))
    forecast_at_s: float = -math.inf


@dataclass(frozen=True)
class Decision:
    """One recommendation for one cell. Times are POSIX seconds (event time, not wall clock)."""

    cell_id: str
    control: Control
    reason: Reason
    valid_from_s: float
    valid_until_s: float | None
    """End of the sleep lease; None for a wake (the cell stays on until told otherwise)."""
    renewal: bool
    group: str
    absorbing_cells: tuple[str, ...]
    """The awake neighbours that carry the group's load while this cell sleeps."""
    expected_saving_w: float | None
    group_prb_per_awake_pct: float
    """Highest forecast PRB use per awake cell over the horizon, the group's sleeping cells'
    load included, after this decision."""
    group_users_per_awake: float


class SleepPolicy:
    """Per-cell sleep state and the rules. `observe` each forecast in event order.

    Rules, per cell, judged at each of its samples with the latest forecasts of its group:
    - sleep when the cell's forecast stays at or under `sleep_max_*` for the whole horizon, its
      history has `min_history_samples`, it has been awake `min_awake_s` since it last woke, at
      least `min_awake_per_group` neighbours with fresh forecasts stay awake, those neighbours can
      carry the group's whole forecast load within `absorb_max_*` on average at every step, and
      the expected saving is positive;
    - wake at once when fewer than `min_awake_per_group` fresh awake neighbours remain (coverage)
      or the awake ones would pass `overload_*` (neighbourOverload);
    - wake when the cell's own forecast passes `wake_min_*`, once `min_sleep_s` is over;
    - otherwise renew the lease when less than half a horizon of it is left.
    """

    def __init__(
        self, settings: EnergySavingSettings, group_of: Callable[[str], str] = co_sited_group
    ) -> None:
        self.settings = settings
        self.group_of = group_of
        self._plans: dict[str, _CellPlan] = {}
        self._groups: dict[str, set[str]] = {}

    def forget(self, cell_ids: Sequence[str]) -> None:
        """Drop the state of some cells; their leases run out unless the new owner renews them."""
        for cell_id in cell_ids:
            plan = self._plans.pop(cell_id, None)
            if plan is not None:
                members = self._groups[plan.group]
                members.discard(cell_id)
                if not members:
                    del self._groups[plan.group]

    def __contains__(self, cell_id: object) -> bool:
        return cell_id in self._plans

    def snapshot(self, cell_id: str) -> dict[str, Any] | None:
        """A cell's plan as changelog data; None when the policy has not judged the cell yet.

        Its neighbour group is not written: `load` asks `group_of` again, so the plan joins the
        group this replica's topology gives, and the group's other cells are their own entities
        with their own records. The latest forecast is kept bit for bit (little-endian float64 in
        base64), since the group's decisions read it."""
        plan = self._plans.get(cell_id)
        if plan is None:
            return None
        return {
            "sleeping": plan.sleeping,
            "since_s": exact(plan.since_s),
            "lease_until_s": exact(plan.lease_until_s),
            "saving_w": exact(plan.saving_w),
            "prb": packed(plan.prb, "<f8"),
            "users": packed(plan.users, "<f8"),
            "forecast_at_s": exact(plan.forecast_at_s),
        }

    def load(self, cell_id: str, snapshot: Mapping[str, Any] | None, steps: int) -> None:
        """Hold a cell's plan as `snapshot` gave it (None: the cell has none), in its group.

        Args:
            steps: the forecast steps of every plan (the model's horizon): a group's forecasts
                are added up step by step.

        Raises:
            ValueError: the snapshot is not a plan with forecasts of `steps` steps (the message
                names the field, never the cell).
        """
        if snapshot is None:
            self.forget([cell_id])
            return
        plan = _CellPlan(
            self.group_of(cell_id),
            sleeping=read_flag(snapshot, "sleeping"),
            since_s=_read_time(snapshot, "since_s"),
            lease_until_s=_read_time(snapshot, "lease_until_s"),
            saving_w=read_float(snapshot, "saving_w"),
            prb=unpacked(snapshot, "prb", "<f8", (steps,)),
            users=unpacked(snapshot, "users", "<f8", (steps,)),
            forecast_at_s=_read_time(snapshot, "forecast_at_s"),
        )
        self.forget([cell_id])
        self._plans[cell_id] = plan
        self._groups.setdefault(plan.group, set()).add(cell_id)

    def is_sleeping(self, cell_id: str) -> bool:
        plan = self._plans.get(cell_id)
        return plan is not None and plan.sleeping

    def observe(
        self,
        cell_id: str,
        at_s: float,
        period_s: float,
        prb: npt.ArrayLike,
        users: npt.ArrayLike,
        history_samples: int,
        power_w: float,
    ) -> Decision | None:
        """Record a cell's forecast made at `at_s` and decide on it (None: nothing to change)."""
        plan = self._plans.get(cell_id)
        if plan is None:
            plan = self._plans[cell_id] = _CellPlan(self.group_of(cell_id))
            self._groups.setdefault(plan.group, set()).add(cell_id)
        plan.prb = np.asarray(prb, dtype=np.float64)
        plan.users = np.asarray(users, dtype=np.float64)
        plan.forecast_at_s = at_s
        if plan.sleeping and at_s >= plan.lease_until_s:
            # The lease ran out unrenewed: the controller has woken the cell by itself.
            plan.sleeping, plan.since_s = False, plan.lease_until_s
        if plan.sleeping:
            return self._while_asleep(cell_id, plan, at_s, period_s)
        return self._while_awake(cell_id, plan, at_s, period_s, history_samples, power_w)

    def _group_load(self, cell_id: str, plan: _CellPlan, at_s: float, period_s: float) -> tuple[list[str], Floats, Floats]:
        """The fresh awake neighbours, and the group load they would carry at each step (the
        cell's own, its sleeping neighbours' and their own)."""
        stale_s = self.settings.stale_after_periods * period_s
        awake: list[str] = []
        prb, users = plan.prb.copy(), plan.users.copy()
        for other in sorted(self._groups[plan.group]):
            if other == cell_id:
                continue
            o = self._plans[other]
            asleep = o.sleeping and at_s < o.lease_until_s
            if not asleep and abs(at_s - o.forecast_at_s) > stale_s:
                # Silent (or, while partitions catch up unevenly, far ahead in time): neither
                # counted on to absorb load nor known to need help.
                continue
            prb += o.prb
            users += o.users
            if not asleep:
                awake.append(other)
        return awake, prb, users

    def _while_awake(
        self, cell_id: str, plan: _CellPlan, at_s: float, period_s: float, history_samples: int, power_w: float
    ) -> Decision | None:
        s = self.settings
        if history_samples < s.min_history_samples or at_s - plan.since_s < s.min_awake_s:
            return None
        if not (np.all(plan.prb <= s.sleep_max_prb_pct) and np.all(plan.users <= s.sleep_max_users)):
            return None
        awake, prb, users = self._group_load(cell_id, plan, at_s, period_s)
        if len(awake) < s.min_awake_per_group:
            return None
        prb_per_awake, users_per_awake = float(prb.max()) / len(awake), float(users.max()) / len(awake)
        if prb_per_awake > s.absorb_max_prb_pct or users_per_awake > s.absorb_max_users:
            return None
        saving_w = expected_saving_w(power_w, plan.prb, s)
        if not saving_w > 0:
            return None
        start = at_s + period_s
        plan.sleeping, plan.since_s, plan.saving_w = True, start, saving_w
        plan.lease_until_s = start + max(len(plan.prb) * period_s, s.min_sleep_s)
        return Decision(
            cell_id, "toBeEnergySaving", "lowForecastLoad", start, plan.lease_until_s, False, plan.group,
            tuple(awake), saving_w, prb_per_awake, users_per_awake,
        )

    def _while_asleep(self, cell_id: str, plan: _CellPlan, at_s: float, period_s: float) -> Decision | None:
        s = self.settings
        awake, prb, users = self._group_load(cell_id, plan, at_s, period_s)
        n = len(awake)
        prb_per_awake = float(prb.max()) / n if n else math.inf
        users_per_awake = float(users.max()) / n if n else math.inf
        reason: Reason | None = None
        if n < s.min_awake_per_group:
            reason = "coverage"
        elif prb_per_awake > s.overload_prb_pct or users_per_awake > s.overload_users:
            reason = "neighbourOverload"
        elif np.any(plan.prb > s.wake_min_prb_pct) or np.any(plan.users > s.wake_min_users):
            if at_s - plan.since_s < s.min_sleep_s:
                return None  # the minimum sleep holds; the lease already covers it
            reason = "loadRising"
        if reason is not None:
            plan.sleeping, plan.since_s = False, at_s
            # Awake again, the cell carries its own load: per awake cell, one more to share it.
            return Decision(
                cell_id, "toBeNotEnergySaving", reason, at_s, None, False, plan.group, tuple(awake), None,
                float(prb.max()) / (n + 1), float(users.max()) / (n + 1),
            )
        horizon_s = len(plan.prb) * period_s
        if plan.lease_until_s - at_s > horizon_s / 2:
            return None
        plan.lease_until_s = at_s + period_s + horizon_s
        return Decision(
            cell_id, "toBeEnergySaving", "lowForecastLoad", plan.since_s, plan.lease_until_s, True, plan.group,
            tuple(awake), plan.saving_w, prb_per_awake, users_per_awake,
        )


def _read_time(snapshot: Mapping[str, Any], field: str) -> float:
    """A plan's time: POSIX seconds, or -inf for "never"."""
    value = read_float(snapshot, field)
    if math.isnan(value) or value == math.inf:
        raise ValueError(f"`{field}` must be a time or -Infinity")
    return value


def expected_saving_w(power_w: float, prb_forecast: npt.ArrayLike, settings: EnergySavingSettings) -> float:
    """Power saved while a cell sleeps: what it draws now (mean of its recent PEE.AvgPower), less
    what it draws asleep, less what its neighbours draw extra to carry its forecast load
    (`neighbour_w_per_prb_pct` per PRB percent, at the mean forecast). NaN without a power reading."""
    if not math.isfinite(power_w):
        return math.nan
    moved_w = settings.neighbour_w_per_prb_pct * float(np.mean(np.asarray(prb_forecast, dtype=np.float64)))
    return power_w - settings.sleep_power_w - moved_w
