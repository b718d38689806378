"""The end of a session's last turn is kept only as long as a conversation's next turn could
take, for a bounded number of sessions, and never past a revoke."""

from __future__ import annotations

import pytest

from pipelines.cs_insights.redaction import SESSION_TAIL_CHARS
from pipelines.cs_insights.session_text import SessionTails


def test_the_tail_of_the_latest_turn_is_kept_cut_to_its_length() -> None:
    tails = SessionTails(max_sessions=10)
    tails.remember({"call-1": "x" * 500 + "제 번호는 010-1234"})
    assert tails.previous("call-1").endswith("010-1234") and len(tails.previous("call-1")) == SESSION_TAIL_CHARS
    assert tails.previous("call-2") == ""


def test_a_tail_older_than_its_age_is_neither_joined_nor_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("pipelines.cs_insights.session_text.time.monotonic", lambda: clock[0])
    tails = SessionTails(max_sessions=10, max_age_s=60)
    tails.remember({"call-1": "제 번호는 010-1234"})
    clock[0] += 61
    assert tails.previous("call-1") == ""
    tails.remember({"call-2": "안녕하세요"})
    assert len(tails) == 1, "the stale tail is dropped, not just ignored"


def test_the_least_recently_heard_session_goes_first_and_revoked_ones_at_once() -> None:
    tails = SessionTails(max_sessions=2)
    tails.remember({"a": "1"})
    tails.remember({"b": "2"})
    tails.remember({"a": "3", "c": "4"})
    assert (tails.previous("a"), tails.previous("b"), tails.previous("c")) == ("3", "", "4")
    tails.forget(["a"])
    assert tails.previous("a") == "" and len(tails) == 1


def test_limits_below_one_are_refused() -> None:
    with pytest.raises(ValueError, match="max_sessions"):
        SessionTails(max_sessions=0)
    with pytest.raises(ValueError, match="max_age_s"):
        SessionTails(max_sessions=1, max_age_s=0)
