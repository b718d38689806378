"""The fibre-sensing pipeline: validates DAS windows, classifies every channel of every window of
a batch with one inference call, and publishes one located alert per detected event.

Quiet windows produce nothing: field operations read `{region}.fiber.alerts` as a list of things
to go and look at, and a per-window "all quiet" record would outnumber the alerts by far (an
interrogator sends a window per fibre segment every second). A fibre that stops sending shows up
as a stalled input topic, not as missing results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, NamedTuple, Unpack

import numpy as np
import numpy.typing as npt

from edge.telemetry import trace_headers
from pipelines.accel_client import AcceleratorClient, InferResult
from pipelines.base import Pipeline, SiteOptions
from pipelines.errors import InferenceRejected
from pipelines.fiber_sensing.alerts import AlertPolicy, detect_spans
from pipelines.fiber_sensing.classes import CLASSES
from pipelines.fiber_sensing.features import das_features, excess_power
from pipelines.fiber_sensing.results import alert_record
from pipelines.fiber_sensing.window import SCHEMA, DasWindow, parse_das_window
from pipelines.intake import AcceptedEvent, EventIntake
from pipelines.outcome import BatchOutcome
from pipelines.records import InboundRecord, OutboundRecord

GUARDED_FIELDS = ("fiber_id", "first_channel", "channel_spacing_m", "sample_rate_hz", "n_channels", "n_samples", "samples")
"""Fields a window may not name twice: they place an alert on the fibre."""
NAME = "fiber-sensing"
MODEL = "fiber-events"
_OUTPUTS = ["probabilities"]


class _PreparedWindows(NamedTuple):
    """A batch's accepted windows, decoded, and the features of every channel of each."""

    windows: list[tuple[AcceptedEvent, DasWindow]]
    features: list[npt.NDArray[np.float32]]

    @property
    def records(self) -> list[InboundRecord]:
        return [item.record for item, _ in self.windows]


class FiberSensingPipeline(Pipeline[_PreparedWindows]):
    """DAS windows in (`{region}.fiber.das`), alerts (`{region}.fiber.alerts`) out."""

    name = NAME
    batch_records = 1_000
    overlapping = True
    """Each window is classified on its own, with no per-fibre state: the next batch's features
    may be computed while this one's inference is out."""
    intake: EventIntake

    def __init__(
        self, region: str, site_id: str, accel: AcceleratorClient, *, alert_policy: AlertPolicy | None = None,
        **options: Unpack[SiteOptions],
    ) -> None:
        super().__init__(region, site_id, accel, **options)
        self.intake = EventIntake(
            NAME, SCHEMA, self.topics, site_id, self._decode_window,
            served_site_ids=self.served_site_ids, guarded_fields=GUARDED_FIELDS,
        )
        # Windows decoded by the intake's field check, by id() of their event, so that the
        # samples (the bulk of every record) are decoded once. Filled and emptied within one
        # synchronous `screen` call and the line after it.
        self._decoded: dict[int, DasWindow] = {}
        self.alert_policy = alert_policy or AlertPolicy()
        self.input_topics = [self.topics.fiber_das]
        self.output_topics = [self.topics.fiber_alerts, self.topics.dlq, self.topics.audit]

    def prepare(self, records: Sequence[InboundRecord], outcome: BatchOutcome) -> _PreparedWindows | None:
        """Screen and decode the batch's windows and compute every channel's features."""
        accepted = self.intake.screen(records, outcome)
        decoded, self._decoded = self._decoded, {}
        windows = [(item, decoded[id(item.event)]) for item in accepted]
        if not windows:
            return None
        return _PreparedWindows(windows, [das_features(w.samples, w.sample_rate_hz) for _, w in windows])

    async def infer(self, prepared: _PreparedWindows, stopping: asyncio.Event) -> tuple[npt.NDArray[np.float32], InferResult]:
        """Class probabilities of every channel of every window, in one call."""
        features = prepared.features
        result = await self.call_model(MODEL, {"features": np.concatenate(features)}, _OUTPUTS, stopping)
        return _probabilities(result, sum(len(f) for f in features)), result

    def emit(
        self, outcome: BatchOutcome, prepared: _PreparedWindows, answer: tuple[npt.NDArray[np.float32], InferResult]
    ) -> None:
        probabilities, result = answer
        start = 0
        for (item, window), rows in zip(prepared.windows, prepared.features, strict=True):
            window_probabilities = probabilities[start : start + len(rows)]
            start += len(rows)
            self._emit_window(outcome, item, window, window_probabilities, rows, result)

    def _decode_window(self, event: dict[str, Any]) -> None:
        """The intake's field check: raises `SchemaViolation` naming the field and the limit."""
        self._decoded[id(event)] = parse_das_window(event)

    def _emit_window(
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
