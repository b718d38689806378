"""The energy-saving pipeline's tunables, read from `ENERGY_SAVING_*` environment variables: when
a cell may sleep, when it must wake, and the power figures behind the expected saving."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class EnergySavingSettings(BaseSettings):
    """When to recommend cell sleep. Immutable; also the value object the sleep policy reads.

    Example: `EnergySavingSettings(sleep_max_prb_pct=10, min_sleep_s=3600)` lets a cell sleep only
    when every forecast step stays at or under 10 % PRB use, and then for at least an hour.
    """

    model_config = SettingsConfigDict(
        env_prefix="ENERGY_SAVING_", extra="ignore", use_attribute_docstrings=True, frozen=True
    )

    utc_offset_h: float = Field(9.0, ge=-12, le=14)
    """The site's local time offset from UTC in hours: the model reads the local time of day."""
    sleep_max_prb_pct: float = Field(15.0, gt=0, le=100)
    """A cell may sleep only if its forecast PRB use stays at or under this at every step."""
    sleep_max_users: float = Field(60.0, gt=0)
    """... and its forecast RRC-connected users stay at or under this at every step."""
    wake_min_prb_pct: float = Field(25.0, gt=0, le=100)
    """A sleeping cell whose own forecast PRB use exceeds this at any step wakes (once its minimum
    sleep is over). Above `sleep_max_prb_pct`: the gap is the hysteresis."""
    wake_min_users: float = Field(100.0, gt=0)
    """... likewise for forecast users; above `sleep_max_users`."""
    absorb_max_prb_pct: float = Field(50.0, gt=0, le=100)
    """A cell may sleep only if the group's awake cells, carrying the forecast load of every
    sleeping cell of the group too, would average at most this PRB use at every step."""
    absorb_max_users: float = Field(250.0, gt=0)
    """... and at most this many connected users each."""
    overload_prb_pct: float = Field(65.0, gt=0, le=100)
    """Sleeping cells wake at once, minimum sleep or not, when the awake cells' forecast average
    PRB use (sleeping cells' load included) passes this. Above `absorb_max_prb_pct`."""
    overload_users: float = Field(320.0, gt=0)
    """... or their forecast users per awake cell pass this. Above `absorb_max_users`."""
    min_awake_per_group: int = Field(1, ge=1)
    """Cells of a neighbour group that always stay awake (coverage and emergency calls)."""
    min_sleep_s: float = Field(1800.0, ge=0)
    """Shortest sleep recommended; the cell's own rising forecast does not end it earlier (the
    overload and coverage guards do)."""
    min_awake_s: float = Field(3600.0, ge=0)
    """After waking, a cell stays awake at least this long before it may sleep again."""
    min_history_samples: int = Field(4, ge=1)
    """Samples a cell's history needs (after a restart or rebalance) before it may be put to sleep."""
    stale_after_periods: float = Field(2.0, gt=0)
    """A neighbour whose latest forecast is older than this many periods cannot absorb load."""
    sleep_power_w: float = Field(40.0, ge=0)
    """Power a cell draws while asleep (radio in deep sleep; calibrate per radio model)."""
    neighbour_w_per_prb_pct: float = Field(3.5, ge=0)
    """Extra power the awake neighbours draw per PRB percent of load moved onto them."""

    @model_validator(mode="after")
    def _thresholds_leave_a_gap(self) -> EnergySavingSettings:
        pairs = (
            ("sleep_max_prb_pct", "wake_min_prb_pct"),
            ("sleep_max_users", "wake_min_users"),
            ("absorb_max_prb_pct", "overload_prb_pct"),
            ("absorb_max_users", "overload_users"),
        )
        for low, high in pairs:
            if getattr(self, low) >= getattr(self, high):
                raise ValueError(
                    f"{high} ({getattr(self, high)}) must be above {low} ({getattr(self, low)}), "
                    "or cells flap between sleep and wake"
                )
        return self
