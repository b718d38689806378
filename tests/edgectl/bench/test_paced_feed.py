"""The paced feed's events: each template made whole again with an event id that carries its
production time, the rest of the event as the template had it."""

from __future__ import annotations

import orjson

from edgectl.bench.paced_feed import paced_event, sent_ms_of, split_templates
from edgectl.synthetic.cell_kpi import CellKpiGenerator


def test_a_paced_event_is_its_template_with_an_id_that_carries_the_production_time() -> None:
    templates = [orjson.dumps(e.event) for e in CellKpiGenerator("kr-seoul", "S1", cells=3, seed=2).next_round()]
    for template, (head, tail, key) in zip(templates, split_templates(templates), strict=True):
        event = orjson.loads(paced_event(head, tail, 1764403200123, 42))
        original = orjson.loads(template)
        assert sent_ms_of(event["event_id"]) == 1764403200123 and event["event_id"].endswith("-000000000000000042")
        assert {k: v for k, v in event.items() if k != "event_id"} == {k: v for k, v in original.items() if k != "event_id"}
        assert key == original["cell_id"].encode()
