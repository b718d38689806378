"""Test support: a pipeline's changelog records out of its batch outcomes, as a restore reads them."""

from __future__ import annotations

from collections.abc import Iterable

from pipelines.outcome import BatchOutcome

Latest = dict[tuple[int, bytes | None], tuple[int, bytes | None]]


def latest_changelog(outcomes: Iterable[BatchOutcome], topic: str) -> Latest:
    """The latest record per (partition, key) of `topic` among the outcomes' outputs, each with
    its position (an offset) in the order written."""
    latest: Latest = {}
    offset = 0
    for outcome in outcomes:
        for o in outcome.outputs:
            if o.topic == topic:
                assert o.partition is not None, "a changelog record names its partition"
                latest[(o.partition, o.key)] = (offset, o.value)
                offset += 1
    return latest
