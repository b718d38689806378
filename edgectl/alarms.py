"""`edge alarms list`: the open alarms of a region, read from its compacted `{region}.ran.alarms-open`
topic as an OSS resynchronises its alarm list: every alarm's latest notification, less those a
tombstone has cleared. Reads up to the end offsets seen when it starts, committed records only."""

from __future__ import annotations

from typing import Any

import orjson
from aiokafka.admin import AIOKafkaAdminClient

from edge.compacted import CompactedReadTimedOut, read_latest
from edge.kafka import client_options
from edge.settings import EdgeSettings
from edge.topics import SiteTopics

COLUMNS = ("alarmId", "cell_id", "perceivedSeverity", "alarmRaisedTime", "alarmChangedTime", "probableCause")


class AlarmListUnavailable(Exception):
    """The open-alarm topic cannot be read (missing, or not read within the time given)."""


async def open_alarms(edge: EdgeSettings, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """The region's open alarms, oldest raised first.

    Raises:
        AlarmListUnavailable: the topic does not exist, or was not read to its end in `timeout_s`.
    """
    topic = SiteTopics(edge.region).alarms_open
    partitions = await _partitions(edge, topic)
    if not partitions:
        raise AlarmListUnavailable(f"{topic} does not exist: no kpi-anomaly pipeline of region {edge.region} has started yet")
    try:
        read = await read_latest(edge, topic, partitions, timeout_s)
    except CompactedReadTimedOut as exc:
        raise AlarmListUnavailable(str(exc)) from exc
    alarms = [orjson.loads(value) for (_, key), (_, value) in read.latest.items() if key is not None and value is not None]
    return sorted(alarms, key=lambda a: (str(a.get("alarmRaisedTime")), str(a.get("alarmId"))))


async def _partitions(edge: EdgeSettings, topic: str) -> list[int]:
    """The partitions of `topic`; none when it does not exist."""
    admin = AIOKafkaAdminClient(**client_options(edge))
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return [] if described.get("error_code") else sorted(p["partition"] for p in described["partitions"])


def alarm_table(alarms: list[dict[str, Any]]) -> str:
    """The alarms as aligned columns with a header, and a count line."""
    rows = [COLUMNS, *[tuple("" if a.get(c) is None else str(a.get(c)) for c in COLUMNS) for a in alarms]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    count = "1 open alarm" if len(alarms) == 1 else f"{len(alarms)} open alarms"
    return "\n".join([*lines, count])
