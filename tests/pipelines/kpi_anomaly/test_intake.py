"""The KPI intake: the codec's rows and the shared intake's rows make one batch in arrival order,
and every refusal reaches the DLQ with its reason, whichever codec runs."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest

from edge.topics import SiteTopics
from pipelines.kpi_anomaly.codec import load_codec
from pipelines.kpi_anomaly.features import COUNTERS
from pipelines.kpi_anomaly.intake import CellKpiIntake
from pipelines.outcome import BatchOutcome
from pipelines.records import ConsumedRecord

REGION = "kr-seoul"


def kpi_event(n: int, **changes: Any) -> dict[str, Any]:
    return {
        "schema": "ran.cell_kpi.v1", "event_id": f"e-{n}", "region": REGION, "site_id": "SEL-GN-0042",
        "cell_id": f"cell-{n}", "ts": "2026-11-22T09:05:00+09:00",
        "counters": {"RRU.PrbTotDl": float(n), "RRC.ConnMean": n},
    } | changes


@pytest.mark.parametrize("implementation", ["native", "reference"])
def test_a_mixed_batch_keeps_arrival_order_and_refuses_with_reasons(implementation: str) -> None:
    values = [
        orjson.dumps(kpi_event(0)),
        orjson.dumps(kpi_event(1, site_id="서울-0042")),  # valid, but not plain ASCII
        b"{not json",
        orjson.dumps(kpi_event(3, region="jp-tokyo")),
        orjson.dumps(kpi_event(4, ts="2026-11-22 00:05:00Z")),  # valid, unusual spelling
        orjson.dumps(kpi_event(5, cell_id="")),
        orjson.dumps(kpi_event(6)),
    ]
    records = [ConsumedRecord(f"{REGION}.ran.kpi", 0, i, None, v) for i, v in enumerate(values)]
    intake = CellKpiIntake(
        "kpi-anomaly", SiteTopics(REGION), "SEL-GN-0042", load_codec(implementation),  # type: ignore[arg-type]
        served_site_ids={"SEL-GN-0042", "서울-0042"},
    )
    outcome = BatchOutcome(events_in=len(records))
    batch = intake.screen(records, outcome)
    assert [r.offset for r in batch.records] == [0, 1, 4, 6]
    assert batch.event_ids == ["e-0", "e-1", "e-4", "e-6"]
    assert batch.site_ids == ["SEL-GN-0042", "서울-0042", "SEL-GN-0042", "SEL-GN-0042"]
    assert batch.minutes.tolist() == [5, 5, 5, 5]
    prb = COUNTERS.index("RRU.PrbTotDl")
    assert batch.counters[:, prb].tolist() == [0.0, 1.0, 4.0, 6.0]
    assert np.isnan(batch.counters[:, COUNTERS.index("PEE.AvgPower")]).all()
    assert outcome.dlq_by_reason == {"malformed": 1, "residency": 1, "schema": 1}
    dlq = [orjson.loads(o.value) for o in outcome.outputs if o.topic == f"{REGION}.dlq"]
    assert sorted(d["source"]["offset"] for d in dlq) == [2, 3, 5]
    assert batch.event(1)["site_id"] == "서울-0042"


@pytest.mark.parametrize("implementation", ["native", "reference"])
def test_an_event_of_a_site_not_served_here_is_refused_for_residency_and_audited(implementation: str) -> None:
    values = [orjson.dumps(kpi_event(0)), orjson.dumps(kpi_event(1, site_id="SEL-GN-0043")), orjson.dumps(kpi_event(2))]
    records = [ConsumedRecord(f"{REGION}.ran.kpi", 0, i, None, v) for i, v in enumerate(values)]
    intake = CellKpiIntake("kpi-anomaly", SiteTopics(REGION), "SEL-GN-0042", load_codec(implementation))  # type: ignore[arg-type]
    outcome = BatchOutcome(events_in=len(records))
    batch = intake.screen(records, outcome)
    assert batch.event_ids == ["e-0", "e-2"] and outcome.dlq_by_reason == {"residency": 1}
    dlq, audit = (orjson.loads(o.value) for o in outcome.outputs)
    assert dlq["source"]["offset"] == 1 and "SEL-GN-0043" not in dlq["detail"]
    assert audit["action"] == "refused-event" and "SEL-GN-0042" in audit["reason"]


@pytest.mark.parametrize("implementation", ["native", "reference"])
@pytest.mark.parametrize("field", ["schema", "event_id", "region", "site_id", "ts", "cell_id", "counters"])
def test_an_event_that_names_a_field_twice_is_refused_as_schema_by_either_codec(implementation: str, field: str) -> None:
    good = kpi_event(0)
    foreign = {"region": "jp-tokyo", "site_id": "TYO-0001", "cell_id": "cell-x", "counters": {}}.get(field, "other")
    # The foreign value first, ours last: a reader taking the last sees a good event.
    text = orjson.dumps(good).decode()
    twice = "{" + f'"{field}": {orjson.dumps(foreign).decode()}, ' + text[1:]
    records = [ConsumedRecord(f"{REGION}.ran.kpi", 0, 0, None, twice.encode())]
    intake = CellKpiIntake("kpi-anomaly", SiteTopics(REGION), "SEL-GN-0042", load_codec(implementation))  # type: ignore[arg-type]
    outcome = BatchOutcome(events_in=1)
    batch = intake.screen(records, outcome)
    assert batch.event_ids == [] and outcome.dlq_by_reason == {"schema": 1}
    (dlq,) = (orjson.loads(o.value) for o in outcome.outputs)
    assert f"field {field!r} appears more than once" in dlq["detail"]


@pytest.mark.parametrize("implementation", ["native", "reference"])
def test_a_cell_id_over_the_limit_is_refused_as_schema_naming_the_field_and_the_limit(implementation: str) -> None:
    values = [
        orjson.dumps(kpi_event(0, cell_id="c" * 16)),
        orjson.dumps(kpi_event(1, cell_id="c" * 17)),
        orjson.dumps(kpi_event(2, cell_id="셀" * 17)),  # the shared path's limit counts characters
        orjson.dumps(kpi_event(3, cell_id="H" * 900_000)),
    ]
    records = [ConsumedRecord(f"{REGION}.ran.kpi", 0, i, None, v) for i, v in enumerate(values)]
    intake = CellKpiIntake(
        "kpi-anomaly", SiteTopics(REGION), "SEL-GN-0042", load_codec(implementation),  # type: ignore[arg-type]
        max_cell_id_chars=16,
    )
    outcome = BatchOutcome(events_in=len(records))
    batch = intake.screen(records, outcome)
    assert batch.cell_ids == ["c" * 16]
    assert outcome.dlq_by_reason == {"schema": 3}
    details = [orjson.loads(o.value)["detail"] for o in outcome.outputs if o.topic == f"{REGION}.dlq"]
    assert details[2] == "field 'cell_id' is 900000 characters, the limit is 16 (it starts 'HHHHHHHHHHHHHHHH')"
    assert all("the limit is 16" in d and len(d) < 120 for d in details), details
