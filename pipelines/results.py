"""What every result shares: a deterministic id, so downstream can de-duplicate redeliveries."""

from __future__ import annotations

import uuid

_RESULT_NAMESPACE = uuid.UUID("7d1c5a8e-2f42-4f0b-9a55-3f1e6c0b9e11")


def result_id(pipeline: str, event_id: str, kind: str) -> str:
    """The id of the `kind` result of an event: the same every time that event is processed."""
    return str(uuid.uuid5(_RESULT_NAMESPACE, f"{pipeline}/{kind}/{event_id}"))
