"""The residency policy keeps topics, accelerators and events inside the site's region."""

from __future__ import annotations

import pytest

from edge.residency import ResidencyPolicy, ResidencyViolation

POLICY = ResidencyPolicy("kr-seoul")


def test_only_topics_prefixed_with_the_region_are_allowed() -> None:
    assert POLICY.allows_topic("kr-seoul.ran.kpi")
    assert not POLICY.allows_topic("kr-seoul-2.ran.kpi")
    assert not POLICY.allows_topic("jp-tokyo.ran.kpi")


def test_foreign_topics_are_all_named_in_the_refusal() -> None:
    with pytest.raises(ResidencyViolation, match="jp-tokyo.dlq, us-east.ran.anomalies"):
        POLICY.require_topics(["kr-seoul.ran.kpi", "us-east.ran.anomalies", "jp-tokyo.dlq"], "produce to")


def test_an_accelerator_without_a_declared_region_is_refused() -> None:
    with pytest.raises(ResidencyViolation, match="declares region None"):
        POLICY.require_accelerator("10.0.0.1:8001", None)
    POLICY.require_accelerator("10.0.0.1:8001", "kr-seoul")


def test_event_regions_are_compared_exactly() -> None:
    assert POLICY.event_region_violation("kr-seoul") is None
    assert "'jp-tokyo' is not this site's region" in (POLICY.event_region_violation("jp-tokyo") or "")
    assert POLICY.event_region_violation(None) is not None
