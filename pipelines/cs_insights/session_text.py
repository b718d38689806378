"""The end of each session's last utterance, so that a value a caller splits across two turns
("제 번호는 010-1234" / "5678이에요") is found in the second as well (see `redaction.redact`).

It holds raw text (at most `SESSION_TAIL_CHARS` per session) in memory only: it is never
published, it is bounded in sessions like the churn state beside it, and it is kept only as
long as the next turn of a live conversation could take (`max_age_s`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable

from pipelines.cs_insights.redaction import SESSION_TAIL_CHARS


class SessionTails:
    """The last `SESSION_TAIL_CHARS` characters of each session's latest utterance, for at most
    `max_sessions` sessions (the least recently heard-from is forgotten first) and at most
    `max_age_s` seconds.

    Example: `tails.remember({"call-1": "제 번호는 010-1234"}); tails.previous("call-1")`.
    """

    def __init__(self, max_sessions: int, max_age_s: float = 300.0) -> None:
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be >= 1, got {max_sessions}")
        if not max_age_s > 0:
            raise ValueError(f"max_age_s must be > 0, got {max_age_s}")
        self.max_sessions = max_sessions
        self.max_age_s = max_age_s
        self._tails: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tails)

    def previous(self, session_id: str) -> str:
        """The end of the session's latest utterance, or "" when none is remembered or it is
        older than `max_age_s`."""
        tail = self._tails.get(session_id)
        if tail is None or time.monotonic() - tail[1] > self.max_age_s:
            return ""
        return tail[0]

    def remember(self, latest: dict[str, str]) -> None:
        """Keep the end of each session's latest utterance (session id -> its text)."""
        now = time.monotonic()
        for session_id, text in latest.items():
            self._tails[session_id] = (text[-SESSION_TAIL_CHARS:], now)
            self._tails.move_to_end(session_id)
        while self._tails and (
            len(self._tails) > self.max_sessions or now - next(iter(self._tails.values()))[1] > self.max_age_s
        ):
            self._tails.popitem(last=False)

    def forget(self, session_ids: Iterable[str]) -> None:
        """Drop sessions (their partition moved to another replica, or their state was evicted)."""
        for session_id in session_ids:
            self._tails.pop(session_id, None)
