"""Limits on per-entity state are checked when made, an operator's settings override a pipeline's
own, a batch's event time is its median, read from a fixed sample of its timestamps, and state
buffers grow to their limit and no further until they must."""

from __future__ import annotations

import math

import pytest

from pipelines.entity_limits import EntityLimits, grown_rows, median_time_s, sampled_times_s
from pipelines.settings import PipelineSettings


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"max_entities": 0}, "max_entities"), ({"idle_s": -1.0}, "idle_s"), ({"idle_s": math.nan}, "idle_s"),
     ({"max_key_chars": 0}, "max_key_chars")],
)
def test_limits_that_bound_nothing_are_refused_by_name(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EntityLimits(**changes)  # type: ignore[arg-type]


def test_settings_override_a_pipelines_own_limits_only_where_set() -> None:
    own = EntityLimits(max_entities=40_000, idle_s=60.0, max_key_chars=64)
    assert PipelineSettings(max_entities=None, entity_idle_s=30, max_key_chars=128).entity_limits(own) == EntityLimits(
        max_entities=40_000, idle_s=30.0, max_key_chars=128
    )
    assert PipelineSettings(max_entities=5).entity_limits(own).max_entities == 5


def test_the_settings_come_from_pipeline_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_MAX_ENTITIES", "1234")
    monkeypatch.setenv("PIPELINE_ENTITY_IDLE_S", "0")
    monkeypatch.setenv("PIPELINE_MAX_KEY_CHARS", "32")
    limits = PipelineSettings().entity_limits(EntityLimits())
    assert limits == EntityLimits(max_entities=1234, idle_s=0.0, max_key_chars=32)


def test_a_batch_is_as_late_as_its_median_event() -> None:
    assert median_time_s([5.0, 1.0, 9e12, 3.0, 4.0]) == 4.0
    assert median_time_s([]) == -math.inf


def test_a_large_batch_is_timed_from_a_fixed_sample_of_its_timestamps() -> None:
    stamps = [f"2026-11-22T00:{minute % 60:02d}:00Z" for minute in range(4000)]
    times = sampled_times_s(stamps)
    assert 33 <= len(times) <= 34
    assert times[0] == 1_795_305_600.0  # 2026-11-22T00:00:00Z
    assert sampled_times_s(["2026-11-22T09:00:00+09:00"]) == [1_795_305_600.0]


def test_a_state_buffer_doubles_up_to_its_limit_and_past_it_only_when_full() -> None:
    assert [grown_rows(rows, 100) for rows in (0, 32, 64, 100, 150)] == [64, 64, 100, 200, 300]
    assert grown_rows(64, None) == 128
