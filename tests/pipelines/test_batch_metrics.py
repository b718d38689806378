"""A delivered batch counts its events per topic and partition as the runtime gives them, and
its end-to-end latency is sampled once every `LATENCY_SAMPLE_EVERY` records counted on across
batches, so that every record weighs the same whatever the batch sizes. Run in a process of its
own: a meter provider is installed once per process."""

from __future__ import annotations

import json

from tests.pipelines.metric_points import run_with_reader

SCRIPT = """
from collections import Counter
from pipelines.metrics import LATENCY_SAMPLE_EVERY, PipelineMetrics
from pipelines.outcome import BatchOutcome
from pipelines.records import ConsumedRecord

NOW_MS = 1_764_403_200_000

replica = PipelineMetrics("kpi-anomaly")
offset = 0
def batch(size, partitions=(0,), topic="kr-seoul.ran.kpi", timestamp=NOW_MS - 40):
    global offset
    records = []
    for i in range(size):
        records.append(ConsumedRecord(topic, partitions[i % len(partitions)], offset, None, b"{}", timestamp=timestamp))
        offset += 1
    return records

# Small batches, one large and one interleaving two topics: 3 + 5 + 1 + 200 + 30 records.
sizes = []
for records in [batch(3), batch(5), batch(1), batch(200, partitions=(1, 2, 3)),
                batch(20, partitions=(4,)) + batch(10, topic="kr-seoul.ves.kpi")]:
    consumed = Counter((r.topic, r.partition) for r in records)
    replica.batch_delivered(consumed, records, BatchOutcome(events_in=len(records)), NOW_MS)
    sizes.append(len(records))
# Records without a timestamp are counted, never sampled.
untimed = batch(3 * LATENCY_SAMPLE_EVERY, timestamp=-1)
replica.batch_delivered({("kr-seoul.ran.kpi", 0): len(untimed)}, untimed, BatchOutcome(events_in=len(untimed)), NOW_MS)
print(json.dumps({"points": points(), "every": LATENCY_SAMPLE_EVERY, "sizes": sizes}))
"""


def test_events_are_counted_per_partition_and_latency_sampled_evenly_across_batches() -> None:
    seen = run_with_reader(SCRIPT)
    points, every = seen["points"], seen["every"]
    events = "edge_pipeline_events_in"

    def counted(topic: str, partition: int) -> int:
        return points[events + json.dumps(
            {"partition": str(partition), "pipeline": "kpi-anomaly", "topic": topic}, sort_keys=True)]

    assert counted("kr-seoul.ran.kpi", 0) == 3 + 5 + 1 + 3 * every
    assert [counted("kr-seoul.ran.kpi", p) for p in (1, 2, 3, 4)] == [67, 67, 66, 20]
    assert counted("kr-seoul.ves.kpi", 0) == 10
    timed = sum(seen["sizes"])  # 239 records with a timestamp, one sample every `every` of them
    assert points['edge_pipeline_end_to_end_latency{"pipeline": "kpi-anomaly"}'] == -(-timed // every)
