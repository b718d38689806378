"""`edge alarms list` prints the open alarms as aligned columns, and says when there is no list to read."""

from __future__ import annotations

import pytest

from edge.settings import EdgeSettings
from edgectl.alarms import AlarmListUnavailable, alarm_table, open_alarms
from edgectl.broker import free_port
from edgectl.cli import main


def test_the_table_aligns_columns_leaves_absent_fields_blank_and_counts_the_alarms() -> None:
    alarms = [
        {"alarmId": "a-1", "cell_id": "450-05-1-1", "perceivedSeverity": "MAJOR", "alarmRaisedTime": "t1",
         "alarmChangedTime": None, "probableCause": "congestion"},
        {"alarmId": "a-22", "cell_id": "c", "perceivedSeverity": "CRITICAL", "alarmRaisedTime": "t2",
         "alarmChangedTime": "t3", "probableCause": "powerProblem"},
    ]
    lines = alarm_table(alarms).splitlines()
    assert lines[0].startswith("alarmId  cell_id     perceivedSeverity")
    assert lines[1].split() == ["a-1", "450-05-1-1", "MAJOR", "t1", "congestion"]
    assert lines[2].split() == ["a-22", "c", "CRITICAL", "t2", "t3", "powerProblem"]
    assert lines[0].index("cell_id") == lines[1].index("450-05-1-1") == lines[2].index("c ")
    assert lines[-1] == "2 open alarms"
    assert alarm_table([]).splitlines()[-1] == "0 open alarms"


@pytest.mark.kafka_only  # Tansu creates a topic that a metadata request names
async def test_a_region_whose_list_does_not_exist_yet_is_told_so(broker: str) -> None:
    edge = EdgeSettings(region="kr-busan", site_id="BSN-0001", kafka_bootstrap_servers=broker)
    with pytest.raises(AlarmListUnavailable, match="kr-busan.ran.alarms-open does not exist"):
        await open_alarms(edge, timeout_s=10)


def test_no_broker_is_one_line_naming_the_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    address = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("EDGE_KAFKA_BOOTSTRAP_SERVERS", address)
    monkeypatch.setenv("EDGE_REGION", "kr-busan")
    monkeypatch.setenv("EDGE_SITE_ID", "BSN-0001")
    with pytest.raises(SystemExit) as exited:
        main(["alarms", "list"])
    assert str(exited.value) == f"edge alarms list: cannot reach the brokers at {address}"
