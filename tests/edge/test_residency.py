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
    assert POLICY.event_violation("kr-seoul", "any") is None
    assert "not this site's region 'kr-seoul'" in (POLICY.event_violation("jp-tokyo", "any") or "")
    assert POLICY.event_violation("kr-seoul ", "any") is not None and POLICY.event_violation(None, "any") is not None


def test_an_event_of_another_site_of_the_region_is_refused_when_the_sites_are_listed() -> None:
    policy = ResidencyPolicy("kr-seoul", frozenset({"SEL-GN-0042", "SEL-GN-0043"}))
    assert policy.event_violation("kr-seoul", "SEL-GN-0043") is None
    assert "SEL-GN-0042, SEL-GN-0043" in (policy.event_violation("kr-seoul", "SEL-GN-0099") or "")
    assert policy.event_violation("kr-seoul", None) is not None


def test_a_refusal_never_quotes_the_value_it_refuses() -> None:
    """A field can hold anything, personal data included, and the reason goes to the audit topic."""
    policy = ResidencyPolicy("kr-seoul", frozenset({"SEL-GN-0042"}))
    for region, site in (("010-1234-5678", "SEL-GN-0042"), ("kr-seoul", "minsu.kim@naver.com")):
        reason = policy.event_violation(region, site) or ""
        assert reason and region not in reason.replace("kr-seoul", "") and site not in reason.replace("SEL-GN-0042", "")
