"""The fibre-sensing pipeline: validates DAS windows, classifies every channel of every window of
a batch with one inference call, and publishes one located alert per detected event.

Quiet windows produce nothing: field operations read `{region}.fiber.alerts` as a list of things
to go and look at, and a per-window "all quiet" record would outnumber the alerts by far (an
interrogator sends a window per fibre segment every second). A fibre that stops sending shows up
as a stalled input topic, not as missing results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.telemetry import trace_headers
from edge.topics import SiteTopics
from pipelines.accel_client import AcceleratorClient, InferResult
from pipelines.base import BatchOutcome
from pipelines.errors import InferenceRejected
from pipelines.fiber_sensing.alerts import AlertPolicy, detect_spans
from pipelines.fiber_sensing.classes import CLASSES
from pipelines.fiber_sensing.features import das_features, excess_power
from pipelines.fiber_sensing.results import alert_record
from pipelines.fiber_sensing.window import SCHEMA, DasWindow, parse_das_window
from pipelines.intake import AcceptedEvent, EventIntake
from pipelines.records import InboundRecord, OutboundRecord

GUARDED_FIELDS = ("fiber_id", "first_channel", "channel_spacing_m", "sample_rate_hz", "n_channels", "n_samples", "samples")
"""Fields a window may not name twice: they place an alert on the fibre."""
NAME = "fiber-sensing"
MODEL = "fiber-events"
_OUTPUTS = ["probabilities"]


class FiberSensingPipeline:
    """DAS windows in (`{region}.fiber.das`), alerts (`{region}.fiber.alerts`) out."""

    name = NAME
    batch_records = 1_000

    def __init__(
        self,
        region: str,
        site_id: str,
        accel: AcceleratorClient,
        *,
        retry_backoff_s: float = 0.5,
        alert_policy: AlertPolicy | None = None,
        served_site_ids: Collection[str] = (),
    ) -> None:
        self.topics = SiteTopics(region)
        self.site_id = site_id
        self.intake = EventIntake(
            NAME, SCHEMA, self.topics, site_id, self._decode_window,
            served_site_ids=served_site_ids, guarded_fields=GUARDED_FIELDS,
        )
        # Windows decoded by the intake's field check, by id() of their event, so that the
        # samples (the bulk of every record) are decoded once. Filled and emptied within one
        # synchronous `screen` call and the line after it.
        self._decoded: dict[int, DasWindow] = {}
        self.accel = accel
        self.alert_policy = alert_policy or AlertPolicy()
        self.retry_backoff_s = retry_backoff_s
        self.input_topics = [self.topics.fiber_das]
        self.output_topics = [self.topics.fiber_alerts, self.topics.dlq, self.topics.audit]

    def forget_keys(self, partitions: Sequence[tuple[str, int]]) -> None:
        """Nothing to drop: each window is classified on its own, with no per-fibre state."""

    async def process(self, records: Sequence[InboundRecord], stopping: asyncio.Event) -> BatchOutcome:
        outcome = BatchOutcome(events_in=len(records))
        accepted = self.intake.screen(records, outcome)
        decoded, self._decoded = self._decoded, {}
        windows = [(item, decoded[id(item.event)]) for item in accepted]
        if not windows:
            return outcome
        features = [das_features(window.samples, window.sample_rate_hz) for _, window in windows]
        try:
            result = await self.accel.infer_until_answered(
                MODEL, {"features": np.concatenate(features)}, _OUTPUTS, stopping, self.retry_backoff_s
            )
            probabilities = _probabilities(result, sum(len(f) for f in features))
        except InferenceRejected as exc:
            for item, _ in windows:
                self.intake.reject(outcome, item.record, "inference", str(exc))
            return outcome
        start = 0
        for (item, window), rows in zip(windows, features, strict=True):
            window_probabilities = probabilities[start : start + len(rows)]
            start += len(rows)
            self._emit(outcome, item, window, window_probabilities, rows, result)
        return outcome

    def _decode_window(self, event: dict[str, Any]) -> None:
        """The intake's field check: raises `SchemaViolation` naming the field and the limit."""
        self._decoded[id(event)] = parse_das_window(event)

    def _emit(
        self,
        outcome: BatchOutcome,
        item: AcceptedEvent,
        window: DasWindow,
        probabilities: npt.NDArray[np.float32],
        features: npt.NDArray[np.float32],
        result: InferResult,
    ) -> None:
        spans = detect_spans(probabilities, excess_power(features), self.alert_policy)
        if not spans:
            return
        key = window.fiber_id.encode()
        headers = trace_headers(item.record.headers)
        for span in spans:
            body = alert_record(
                pipeline=NAME, event=item.event, window=window, span=span,
                model_name=result.model_name, model_version=result.model_version,
            )
            outcome.outputs.append(OutboundRecord(self.topics.fiber_alerts, key, body, headers))
        outcome.results += len(spans)
        outcome.anomalies += len(spans)


def _probabilities(result: InferResult, rows: int) -> npt.NDArray[np.float32]:
    """The model's answer, checked against what this pipeline asked and can read."""
    if "probabilities" not in result.outputs:
        raise InferenceRejected(f"{MODEL} version {result.model_version} answered no 'probabilities' output")
    probabilities = np.asarray(result.outputs["probabilities"], dtype=np.float32)
    if probabilities.shape != (rows, len(CLASSES)):
        raise InferenceRejected(
            f"{MODEL} version {result.model_version} answered probabilities of shape {probabilities.shape}, "
            f"this pipeline reads ({rows}, {len(CLASSES)}): one column per class of {CLASSES}"
        )
    return probabilities
