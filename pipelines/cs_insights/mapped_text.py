"""Text rewritten for matching that still knows where each of its characters came from.

Redaction matches personal data on a rewritten form of an utterance (full-width forms folded,
number words as digits, separators made one), but masks the characters of the utterance as it
was written. `MappedText` carries, for every character of the rewritten text, the span of the
original it stands for, through any number of rewrites.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class MappedText:
    """`text`, where `text[i]` stands for `original[starts[i]:ends[i]]` (no `starts` and
    `ends`: every character stands for itself, as most utterances need no rewrite).

    Example: `MappedText.of("공일공").rewrite([(0, 3, "010")]).original_span(0, 3) == (0, 3)`.
    """

    text: str
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    @classmethod
    def of(cls, original: str) -> MappedText:
        """The original itself: every character stands for itself."""
        return cls(original)

    def rewrite(self, edits: Iterable[tuple[int, int, str]]) -> MappedText:
        """Replace `text[start:end]` by each edit's string (edits in text order, not overlapping).
        Every character of a replacement stands for the whole original span of what it replaced;
        an empty replacement deletes."""
        parts: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        n = len(self.text)
        old_starts = range(n) if self.starts is None else self.starts
        old_ends = range(1, n + 1) if self.ends is None else self.ends
        cursor = 0
        for start, end, replacement in edits:
            if start < cursor or end < start:
                raise ValueError(f"edit ({start}, {end}) overlaps or runs backwards")
            parts.append(self.text[cursor:start])
            starts += old_starts[cursor:start]
            ends += old_ends[cursor:start]
            if replacement:
                if end > start:
                    origin = (old_starts[start], old_ends[end - 1])
                else:  # an insertion stands for the character before it (or the start)
                    at = old_ends[start - 1] if start else 0
                    origin = (at, at)
                parts.append(replacement)
                starts += [origin[0]] * len(replacement)
                ends += [origin[1]] * len(replacement)
            cursor = end
        if not parts:
            return self
        parts.append(self.text[cursor:])
        starts += old_starts[cursor:]
        ends += old_ends[cursor:]
        return MappedText("".join(parts), tuple(starts), tuple(ends))

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original span that `text[start:end]` (not empty) stands for."""
        if self.starts is None or self.ends is None:
            return start, end
        return min(self.starts[start:end]), max(self.ends[start:end])
