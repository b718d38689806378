"""The end of each session's last utterance, so that a value a caller splits across two turns
("제 번호는 010-1234" / "5678이에요") is found in the second as well (see `redaction.redact`).

It holds raw text (at most `SESSION_TAIL_CHARS` per session) in memory only: it is never
published, and it is bounded in sessions like the churn state beside it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from pipelines.cs_insights.redaction import SESSION_TAIL_CHARS


class SessionTails:
    """The last `SESSION_TAIL_CHARS` characters of each session's latest utterance, for at most
    `max_sessions` sessions (the least recently heard-from is forgotten first).

    Example: `tails.remember({"call-1": "제 번호는 010-1234"}); tails.previous("call-1")`.
    """

    def __init__(self, max_sessions: int) -> None:
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be >= 1, got {max_sessions}")
        self.max_sessions = max_sessions
        self._tails: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tails)

    def previous(self, session_id: str) -> str:
        """The end of the session's latest utterance, or "" when none is remembered."""
        return self._tails.get(session_id, "")

    def remember(self, latest: dict[str, str]) -> None:
        """Keep the end of each session's latest utterance (session id -> its text)."""
        for session_id, text in latest.items():
            self._tails[session_id] = text[-SESSION_TAIL_CHARS:]
            self._tails.move_to_end(session_id)
        while len(self._tails) > self.max_sessions:
            self._tails.popitem(last=False)

    def forget(self, session_ids: Iterable[str]) -> None:
        """Drop sessions (their partition moved to another replica)."""
        for session_id in session_ids:
            self._tails.pop(session_id, None)
