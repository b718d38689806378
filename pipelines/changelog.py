"""Per-entity state as changelog records: one record per entity per batch on the pipeline's
compacted `{region}.state.{pipeline}` topic, in the partition numbered like the input partition
that brought the entity, so a replica restores exactly the state of the partitions it is assigned.

A record's key is the entity's key (a cell id, a session id); its value a JSON envelope:
`{"pipeline": "kpi-anomaly", "version": 1, "topic": "kr-seoul.ran.kpi", "clock_s": 1764...,
"state": {...}}`, where `state` is what the pipeline's `entity_state` gave, `version` the
pipeline's `state_version` when it was written, `topic` the input topic that brought the entity
and `clock_s` the pipeline's event clock then. A tombstone (no value) says the entity's state was
dropped (evicted by the replica's limits), so that a restore does not bring it back."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from pipelines.errors import StateRefused
from pipelines.records import OutboundRecord

Partition = tuple[str, int]


class EntityChange(NamedTuple):
    """The state an entity has after a batch (None: dropped), and the input partition it belongs to.

    A tuple: thousands are made a batch, and one in an interval is written (`PendingCommit`)."""

    partition: Partition
    state: dict[str, Any] | None
    clock_s: float = -math.inf


class DeferredState(ABC):
    """Part of an entity's state as it stood after a batch, kept as it is held and made JSON only
    when written: a batch changes thousands of entities, and the commit interval writes each one's
    latest state once however many batches changed it."""

    __slots__ = ()

    @abstractmethod
    def fragment(self) -> orjson.Fragment:
        """The part as JSON."""


def _deferred(value: object) -> orjson.Fragment:
    if isinstance(value, DeferredState):
        return value.fragment()
    raise TypeError(f"{type(value).__name__} is not changelog data")


@dataclass(frozen=True)
class RestoredEntity:
    """One entity read back from a changelog record."""

    key: str
    partition: Partition
    version: int
    clock_s: float
    state: dict[str, Any]


def changelog_records(
    topic: str, pipeline: str, version: int, changes: Mapping[str, EntityChange]
) -> list[OutboundRecord]:
    """The changelog records of one batch's changes, one per entity. Thousands a batch: the
    envelope is made once per input topic and clock, and each state serialised into it."""
    records = []
    heads: dict[tuple[str, float], bytes] = {}
    dumps, numpy = orjson.dumps, orjson.OPT_SERIALIZE_NUMPY
    for key, change in changes.items():
        (source, partition) = change.partition
        value = None
        if change.state is not None:
            head = heads.get((source, change.clock_s))
            if head is None:
                clock = change.clock_s if math.isfinite(change.clock_s) else None
                head = heads[(source, change.clock_s)] = b'{"pipeline":%b,"version":%d,"topic":%b,"clock_s":%b,"state":' % (
                    dumps(pipeline), version, dumps(source), dumps(clock))
            value = head + dumps(change.state, option=numpy, default=_deferred) + b"}"
        records.append(OutboundRecord(topic, key.encode(), value, [], partition))
    return records


def read_changelog_record(
    pipeline: str, readable_versions: range, partition: int, where: str, key: bytes | None, value: bytes
) -> RestoredEntity:
    """Decode one changelog record written by `changelog_records` (not a tombstone) of the
    changelog partition `partition`.

    Raises:
        StateRefused: the record is not this pipeline's state, or has a version this release
            cannot read (`where` names the topic, partition and offset; the key is never quoted).
    """
    try:
        envelope = orjson.loads(value)
        entity = key.decode() if key is not None else None
        version = envelope["version"]
        owner, source, state = envelope["pipeline"], envelope["topic"], envelope["state"]
        clock = envelope.get("clock_s")
    except (orjson.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise StateRefused(f"{where}: not a state record of {pipeline} ({type(exc).__name__})") from exc
    if owner != pipeline or entity is None or not isinstance(source, str) or not isinstance(state, dict):
        raise StateRefused(f"{where}: not a state record of {pipeline}")
    if type(version) is not int or version not in readable_versions:
        newest = readable_versions[-1]
        advice = (
            "it was written by a newer release: roll the pipeline forward to that release, or delete the "
            "changelog topic to start from empty state"
            if type(version) is int and version > newest
            else "no release reads it any more: delete the changelog topic to start from empty state"
        )
        raise StateRefused(
            f"{where}: state version {version!r} of {pipeline}; this release reads versions "
            f"{readable_versions[0]} to {newest}; {advice}"
        )
    clock_s = float(clock) if isinstance(clock, (int, float)) and not isinstance(clock, bool) else -math.inf
    return RestoredEntity(entity, (source, partition), version, clock_s, state)
