"""The fibre-sensing pipeline against a real accelerator process: all windows of a batch go out
in one inference call, events come back as located alerts, and bad windows go to the DLQ."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from accel.model import Tensor
from edge.settings import EdgeSettings
from edgectl.synthetic.das import DasWindowGenerator, encode_samples
from edgectl.traffic import encode
from pipelines.accel_client import AcceleratorClient, InferResult
from pipelines.fiber_sensing.pipeline import FiberSensingPipeline
from pipelines.records import ConsumedRecord, InboundRecord
from pipelines.results import result_id

REGION, SITE = "kr-seoul", "SEL-GN-0042"


class CountingAcceleratorClient(AcceleratorClient):
    """The real client, counting its inference calls and rows."""

    calls: list[int]

    async def infer(self, model: str, inputs: Mapping[str, Tensor], outputs: list[str]) -> InferResult:
        self.calls.append(len(inputs["features"]))
        return await super().infer(model, inputs, outputs)


def _settings(accel_port: int = 1) -> EdgeSettings:
    return EdgeSettings(region=REGION, site_id=SITE, accel_targets=f"127.0.0.1:{accel_port}")


def _records(values: list[bytes]) -> list[InboundRecord]:
    return [ConsumedRecord("kr-seoul.fiber.das", 0, i, b"F01", v) for i, v in enumerate(values)]


async def test_every_window_of_a_batch_is_classified_in_one_call_and_events_become_located_alerts(
    accel_port: int,
) -> None:
    generator = DasWindowGenerator(REGION, SITE, fibers=6, seed=404, event_rate=1.0,
                                   kinds=("digging", "vehicle", "cable_strain"))
    windows = generator.next_windows()
    client = CountingAcceleratorClient(_settings(accel_port), timeout_s=10, attempts=2)
    client.calls = []
    async with client:
        pipeline = FiberSensingPipeline(REGION, SITE, client)
        outcome = await pipeline.process(_records([encode(w.labelled)[1] for w in windows]), asyncio.Event())
    assert client.calls == [6 * 64], "one request carries every channel of every window"
    assert outcome.dlq == 0 and outcome.events_in == 6
    alerts = [orjson.loads(r.value) for r in outcome.outputs]
    assert {r.topic for r in outcome.outputs} == {"kr-seoul.fiber.alerts"}
    assert outcome.results == outcome.anomalies == len(alerts)
    for window in windows:
        truth = window.truth
        assert truth is not None
        mine = [a for a in alerts if a["event_id"] == window.labelled.event["event_id"]]
        assert any(a["event_class"] == truth.kind and abs(a["channel"] - truth.channel) <= 2 for a in mine), (truth, mine)
    for alert, record in zip(alerts, outcome.outputs, strict=True):
        assert record.key == alert["fiber_id"].encode()
        assert alert["position_m"] == alert["channel"] * 4.0
        assert alert["channel_span"][0] <= alert["channel"] <= alert["channel_span"][1]
        assert alert["result_id"] == result_id("fiber-sensing", alert["event_id"], f"alert/{alert['channel_span'][0]}")
        assert alert["model"] == {"name": "fiber-events", "version": "1"}
        assert alert["confidence"] >= 0.8 and alert["severity"] in {"high", "low"}


def _bad(event: dict[str, Any], **changes: Any) -> bytes:
    return orjson.dumps(dict(event, **changes))


async def test_bad_windows_go_to_the_dlq_with_the_field_and_limit_and_never_reach_the_accelerator() -> None:
    event = DasWindowGenerator(REGION, SITE, fibers=1, seed=5).next_round()[0].event
    nan = np.zeros((1000, 64), dtype=np.float32)
    nan[3, 7] = np.nan
    values = [
        _bad(event, samples=encode_samples(np.zeros((999, 64), dtype=np.float32))),
        _bad(event, samples=encode_samples(nan)),
        _bad(event, n_channels=300),
        _bad(event, region="jp-tokyo"),
        b'{"schema": "fiber.das_window.v1"',
    ]
    # Never started: a call to it would fail, and none is needed for a batch of refusals.
    pipeline = FiberSensingPipeline(REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1))
    outcome = await pipeline.process(_records(values), asyncio.Event())
    dlq = [orjson.loads(r.value) for r in outcome.outputs if r.topic == "kr-seoul.dlq"]
    audit = [orjson.loads(r.value) for r in outcome.outputs if r.topic == "kr-seoul.audit"]
    assert [d["reason"] for d in dlq] == ["schema", "schema", "schema", "residency", "malformed"]
    assert "field 'samples' decodes to 255744 bytes, expected n_samples*n_channels*4" in dlq[0]["detail"]
    assert "field 'samples' holds 1 non-finite values" in dlq[1]["detail"] and "channel 7" in dlq[1]["detail"]
    assert "field 'n_channels' is 300, the limits are 16 to 256 channels per window" in dlq[2]["detail"]
    assert all(d["pipeline"] == "fiber-sensing" and d["source"]["topic"] == "kr-seoul.fiber.das" for d in dlq)
    assert base64.b64decode(dlq[2]["original_value_b64"]) == values[2]
    assert len(audit) == 1 and "not this site's region 'kr-seoul'" in audit[0]["reason"]
    assert outcome.dlq == 5 and outcome.dlq_by_reason == {"schema": 3, "residency": 1, "malformed": 1}
    assert outcome.results == 0


def test_the_pipeline_reads_and_writes_only_its_regions_fibre_topics() -> None:
    pipeline = FiberSensingPipeline(REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1))
    assert pipeline.name == "fiber-sensing"
    assert pipeline.input_topics == ["kr-seoul.fiber.das"]
    assert pipeline.output_topics == ["kr-seoul.fiber.alerts", "kr-seoul.dlq", "kr-seoul.audit"]
    pipeline.forget_keys([("kr-seoul.fiber.das", 0)])


def test_the_pipeline_keeps_no_per_fibre_state_so_it_has_no_changelog_to_write_or_restore() -> None:
    """Each window is classified on its own: nothing outlives a batch, so there is nothing to restore."""
    pipeline = FiberSensingPipeline(REGION, SITE, AcceleratorClient(_settings(), timeout_s=1, attempts=1))
    assert pipeline.keys is None and pipeline.entity_limits is None
    assert pipeline.state_topic is None and pipeline.compacted_topics == []
    assert pipeline.entities_held == 0
