"""State evictions are counted by pipeline and reason, and the entities held are a gauge per
pipeline that forgets holders no longer alive. Run in a process of its own: a meter provider is
installed once per process."""

from __future__ import annotations

from tests.pipelines.metric_points import run_with_reader

SCRIPT = """
import gc

from pipelines.cs_insights.churn import ChurnPolicy, ChurnTracker
from pipelines.entity_limits import EntityLimits
from pipelines.partition_keys import PartitionKeys
from pipelines.records import ConsumedRecord
import numpy as np

records = [ConsumedRecord("kr-seoul.ran.kpi", 0, i, None, b"{}") for i in range(5)]
kpi = PartitionKeys(EntityLimits(max_entities=2), pipeline="kpi-anomaly")
kpi.note_keys(records[:3], ["a", "b", "c"])
kpi.note_keys(records[:2], ["d", "e"])
gone = PartitionKeys(EntityLimits(max_entities=2), pipeline="energy-saving")
gone.note_keys(records[:1], ["x"])
churn = ChurnTracker(ChurnPolicy(max_sessions=1))
churn.observe("s1", True, np.zeros(12, np.float32), np.zeros(8, np.float32))
churn.observe("s2", True, np.zeros(12, np.float32), np.zeros(8, np.float32))
first = points()
del gone
gc.collect()
second = points()
print(json.dumps({"first": first, "second": second}))
"""


def test_evictions_are_counted_and_the_entities_held_reported_per_pipeline() -> None:
    seen = run_with_reader(SCRIPT)
    first, second = seen["first"], seen["second"]
    evictions = "edge_pipeline_state_evictions"
    assert first[evictions + '{"pipeline": "kpi-anomaly", "reason": "capacity"}'] == 3
    assert first[evictions + '{"pipeline": "cs-insights", "reason": "capacity"}'] == 1
    held = "edge_pipeline_state_entities"
    assert first[held + '{"pipeline": "kpi-anomaly"}'] == 2
    assert first[held + '{"pipeline": "energy-saving"}'] == 1
    assert first[held + '{"pipeline": "cs-insights"}'] == 1
    assert held + '{"pipeline": "energy-saving"}' not in second, "a holder that is gone is no longer reported"
