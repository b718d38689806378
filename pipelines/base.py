"""The one shape of every pipeline: a batch is begun (screened, its state updated, its inference
sent) and, once the model has answered, finished (its results built), in batch order.

A pipeline says what is its own: how a batch is prepared (`prepare`), what it asks the model
(`infer`) and what it makes of the answer (`emit`). The base does the rest the same way for all:
the site's topics, the call that waits out an accelerator outage, the refusal of a whole batch to
the DLQ when the accelerator refuses it, and the per-entity state bound to partitions."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypedDict, TypeVar, Unpack

import numpy as np

from edge.topics import SiteTopics
from inference_protocol.tensors import Tensor
from pipelines.accel_client import AcceleratorClient, InferResult
from pipelines.changelog import EntityChange, RestoredEntity, changelog_records
from pipelines.entity_limits import EntityLimits
from pipelines.errors import InferenceRejected
from pipelines.metrics import EvictionReason
from pipelines.outcome import BatchOutcome, StartedBatch
from pipelines.partition_keys import Partition, PartitionKeys
from pipelines.records import InboundRecord, OutboundRecord
from pipelines.settings import RETRY_BACKOFF_S

__all__ = ["BatchPipeline", "InputTranslator", "Pipeline", "PreparedBatch", "RefusableIntake", "SiteOptions"]



class RefusableIntake(Protocol):
    """What the base needs of a pipeline's intake: a way to send one record to the DLQ."""

    def reject(self, outcome: BatchOutcome, record: InboundRecord, reason: str, detail: str) -> None: ...


class InputTranslator(Protocol):
    """Turns records of another format (VES) into records of a pipeline's own events."""

    def expand(self, records: Sequence[InboundRecord], outcome: BatchOutcome) -> Sequence[InboundRecord]:
        """The batch with each foreign record replaced by the events it carries (none, one or
        many, each keeping its record's position); refusals go to `outcome`."""
        ...


class PreparedBatch(Protocol):
    """What the base needs of a prepared batch: the records its inference stands for."""

    @property
    def records(self) -> Sequence[InboundRecord]: ...


B = TypeVar("B", bound=PreparedBatch)


class SiteOptions(TypedDict, total=False):
    """What every pipeline may be built with beyond its region, site and accelerators."""

    retry_backoff_s: float
    """First wait before an inference is sent again while no accelerator answers (`RETRY_BACKOFF_S`)."""
    served_site_ids: Collection[str]
    """The sites whose events are processed (empty: the pipeline's own site alone)."""
    entity_limits: EntityLimits | None
    """Bounds on per-entity state instead of the pipeline's own (None: its own)."""


class BatchPipeline(Protocol):
    """What the runtime runs: every `Pipeline` (and test doubles that script their answers).

    The runtime calls `begin` for batches in the order they were fetched and, each once its answer
    is in, `finish` in that same order. An `overlapping` pipeline's next batch is begun as soon as
    it is fetched, while earlier inferences are out; any other's only once the batch before it is
    finished."""

    name: str
    batch_records: int
    overlapping: bool
    input_topics: list[str]
    output_topics: list[str]

    def begin(self, records: Sequence[InboundRecord], stopping: asyncio.Event) -> StartedBatch:
        """Screen the batch and start nothing yet: the inference to await (None: nothing to infer)
        and what finishes the batch with its answer. The awaitable raises `BatchAbandoned` when
        `stopping` ends its wait for an accelerator."""
        ...

    def forget_keys(self, partitions: Sequence[Partition]) -> None:
        """Drop the per-entity state of partitions this replica no longer owns."""
        ...

    @property
    def state_topic(self) -> str | None:
        """The compacted changelog of this pipeline's per-entity state (None: it keeps none)."""
        ...

    @property
    def compacted_topics(self) -> list[str]:
        """Output topics that keep the latest record per key (the changelog, the open alarms)."""
        ...

    def restore(self, entity: RestoredEntity) -> None:
        """Hold one entity's state again, read back from the changelog before any record of its
        partition is processed."""
        ...

    def drop_restored(self, key: str) -> None:
        """The changelog says this entity's state was dropped: hold none for it."""
        ...

    @property
    def readable_state_versions(self) -> range:
        """The changelog state versions this release reads."""
        ...

    def changelog(self, changes: Mapping[str, EntityChange]) -> list[OutboundRecord]:
        """The changelog records of entity changes (`BatchOutcome.changes`, of one batch or
        merged over several), one per entity."""
        ...


class Pipeline(ABC, Generic[B]):
    """A pipeline: records of its input topics in, records for its output topics out.

    Subclasses set `name`, `batch_records` and the topics, build `intake` and any state in their
    constructor, and implement `prepare`, `infer` and `emit`.
    """

    name: str
    batch_records: int
    """Records per batch unless `PIPELINE_MAX_BATCH_RECORDS` says otherwise: as many as one
    inference request to its model may carry."""
    overlapping: bool = False
    """Whether the runtime may begin the next batch while this one's inference is out. True only
    where the next `prepare` reads nothing this batch's `emit` writes (the KPI pipeline reads and
    writes its windows in `prepare`, its incidents only in `emit`), and a state `prepare` evicts
    meanwhile cannot be brought back by `emit`, or is handled where it could."""
    entity_limits: EntityLimits | None = None
    """Bounds on the per-entity state this pipeline keeps; None: it keeps none."""
    max_request_rows: int | None = None
    """Most rows one inference request carries: a batch whose records expand to more (VES
    events of many cells) is inferred in several requests. None: one request per batch, the
    batch size keeping it within the model's `max_batch_size`."""

    input_topics: list[str]
    output_topics: list[str]
    intake: RefusableIntake
    keys: PartitionKeys | None = None
    """Entities held, by the partition that brought them (see `hold_entities`)."""
    state_version: int = 1
    """The version of what `entity_state` writes; raise it whenever that changes shape."""
    oldest_state_version: int = 1
    """The oldest state version `restore_entity` still reads (an older one refuses the restore)."""
    _state_topic: str | None = None
    _translator: InputTranslator | None = None

    def __init__(self, region: str, site_id: str, accel: AcceleratorClient, **options: Unpack[SiteOptions]) -> None:
        self.topics = SiteTopics(region)
        self.site_id = site_id
        self.accel = accel
        self.retry_backoff_s = options.get("retry_backoff_s", RETRY_BACKOFF_S)
        self.served_site_ids = frozenset(options.get("served_site_ids", ()))
        entity_limits = options.get("entity_limits")
        if entity_limits is not None:
            self.entity_limits = entity_limits
        self._forget_entities: Callable[[list[str]], None] = _forget_nothing

    @property
    def state_topic(self) -> str | None:
        if self.keys is None:
            return None
        return self._state_topic or self.topics.state(self.name)

    def translate(self, topics: Sequence[str], translator: InputTranslator) -> None:
        """Also read `topics`, whose records `translator` turns into this pipeline's own events
        before `prepare` sees them (they must be partitioned like the pipeline's input: state
        follows the partition that brought it)."""
        self.input_topics = [*self.input_topics, *(t for t in topics if t not in self.input_topics)]
        self._translator = translator

    def use_state_topic(self, topic: str) -> None:
        """Keep the changelog in `topic` instead of `{region}.state.{pipeline}` (a second consumer
        group of the same pipeline in the region needs one of its own)."""
        self._state_topic = topic

    @property
    def compacted_topics(self) -> list[str]:
        return [] if self.state_topic is None else [self.state_topic]

    @property
    def readable_state_versions(self) -> range:
        return range(self.oldest_state_version, self.state_version + 1)

    def entity_state(self, key: str) -> dict[str, Any] | None:
        """One entity's state as JSON data for the changelog (numpy arrays allowed); None when
        none is held. Pipelines with per-entity state override it and `restore_entity`."""
        return None

    def restore_entity(self, key: str, version: int, state: dict[str, Any]) -> None:
        """Hold the state `entity_state` gave, as written by state version `version`.

        Raises:
            ValueError, KeyError, TypeError: the state is not what this pipeline writes.
        """

    def settle_state(self, outcome: BatchOutcome) -> None:
        """Complete the batch's changelog (`outcome.changes`) once the batch is finished, its
        results or its refusal in: for a pipeline that takes part of its state earlier."""

    def state_changed(self, outcome: BatchOutcome, keys: Iterable[str]) -> None:
        """Put the state the entities `keys` (held) have now in the batch's changelog."""
        self.take_state(outcome, {key: self.entity_state(key) for key in keys})

    def take_state(self, outcome: BatchOutcome, states: Mapping[str, dict[str, Any] | None]) -> None:
        """Put `states[key]` (None: dropped) in the batch's changelog for each held entity: for a
        pipeline that takes part of its state in `prepare`, before a later batch moves it on,
        and completes it in `settle_state` (`complete_state`)."""
        assert self.keys is not None, "hold_entities() first"
        clock, changes, partition_of = self.keys.clock_s, outcome.changes, self.keys.partition_of
        for key, state in states.items():
            partition = partition_of(key)
            if partition is not None:
                changes[key] = EntityChange(partition, state, clock)

    @staticmethod
    def complete_state(outcome: BatchOutcome, part: str, part_of: Callable[[str], Any]) -> None:
        """Set `part` of each state in the batch's changelog to `part_of(key)` as it stands now."""
        for key, change in outcome.changes.items():
            if change.state is not None:
                change.state[part] = part_of(key)

    def restore(self, entity: RestoredEntity) -> None:
        assert self.keys is not None, "a pipeline without per-entity state has nothing to restore"
        self.restore_entity(entity.key, entity.version, entity.state)
        self.keys.restore(entity.key, entity.partition, entity.clock_s)

    def drop_restored(self, key: str) -> None:
        if self.keys is not None:
            self._forget_entities([key])
            self.keys.discard(key)

    @abstractmethod
    def prepare(self, records: Sequence[InboundRecord], outcome: BatchOutcome) -> B | None:
        """Screen the batch (refusals go to `outcome`), update the state its inference reads, and
        gather what `infer` sends; None when no record is left."""

    @abstractmethod
    async def infer(self, batch: B, stopping: asyncio.Event) -> Any:
        """The model's answer for a prepared batch (see `call_model`).

        Raises:
            InferenceRejected: the accelerator refused the request, or answered what this
                pipeline cannot read: every record of the batch goes to the DLQ.
            BatchAbandoned: `stopping` was set while no accelerator answered.
        """

    @abstractmethod
    def emit(self, outcome: BatchOutcome, batch: B, answer: Any) -> None:
        """Add the batch's results to `outcome`, updating the state they change."""

    def begin(self, records: Sequence[InboundRecord], stopping: asyncio.Event) -> StartedBatch:
        """See `BatchPipeline.begin`: `prepare` now, `infer` in the awaitable, `emit` (or the
        batch's refusal) in `finish`."""
        outcome = BatchOutcome(events_in=len(records))
        if self._translator is not None:
            records = self._translator.expand(records, outcome)
        batch = self.prepare(records, outcome)
        if self.keys is not None:
            for key, partition in self.keys.take_dropped():
                outcome.changes[key] = EntityChange(partition, None)
        if batch is None:
            return StartedBatch(outcome, None, _nothing_to_finish)
        prepared = batch

        def finish(answer: Any) -> None:
            if isinstance(answer, InferenceRejected):
                self.refuse(outcome, prepared.records, answer)
            else:
                self.emit(outcome, prepared, answer)
            self.settle_state(outcome)

        return StartedBatch(outcome, self._answer(prepared, stopping), finish)

    def changelog(self, changes: Mapping[str, EntityChange]) -> list[OutboundRecord]:
        topic = self.state_topic
        if topic is None or not changes:
            return []
        return changelog_records(topic, self.name, self.state_version, changes)

    async def process(self, records: Sequence[InboundRecord], stopping: asyncio.Event) -> BatchOutcome:
        """Begin and finish one batch, its changelog records after its other outputs, as if
        committed alone (tests and benchmarks; the runtime overlaps batches and writes the
        changelog of several at once)."""
        started = self.begin(records, stopping)
        if started.answer is not None:
            started.finish(await started.answer)
        outcome = started.outcome
        outcome.outputs.extend(self.changelog(outcome.changes))
        return outcome

    async def _answer(self, batch: B, stopping: asyncio.Event) -> Any:
        """The model's answer, or the accelerator's refusal of the batch (for `finish`)."""
        try:
            return await self.infer(batch, stopping)
        except InferenceRejected as exc:
            return exc

    async def call_model(
        self, model: str, inputs: Mapping[str, Tensor], outputs: list[str], stopping: asyncio.Event
    ) -> InferResult:
        """One inference (rows split over several requests past `max_request_rows`, their outputs
        joined in order), sent again with backoff for as long as no accelerator answers."""
        rows = len(next(iter(inputs.values())))
        limit = self.max_request_rows
        if limit is None or rows <= limit:
            return await self.accel.infer_until_answered(model, inputs, outputs, stopping, self.retry_backoff_s)
        parts = [
            await self.accel.infer_until_answered(
                model, {name: tensor[start : start + limit] for name, tensor in inputs.items()}, outputs, stopping,
                self.retry_backoff_s,
            )
            for start in range(0, rows, limit)
        ]
        joined = {name: np.concatenate([part.outputs[name] for part in parts]) for name in outputs}
        return InferResult(parts[-1].model_name, parts[-1].model_version, joined)

    def refuse(self, outcome: BatchOutcome, records: Sequence[InboundRecord], error: InferenceRejected) -> None:
        """Send every record of a batch the accelerator refused to the DLQ, with the refusal."""
        for record in records:
            self.intake.reject(outcome, record, str(error.dlq_reason), str(error))

    def hold_entities(
        self,
        limits: EntityLimits,
        forget: Callable[[list[str]], None],
        *,
        counted: bool = True,
        spare: Callable[[str], bool] | None = None,
    ) -> PartitionKeys:
        """Keep per-entity state within `limits`: `forget` drops the state of entities evicted by
        them or whose partition moved to another replica. `counted`: their number and evictions
        are exported as this pipeline's metrics."""
        self._forget_entities = forget
        self.keys = PartitionKeys(limits, pipeline=self.name if counted else None, on_evict=forget, spare=spare)
        return self.keys

    def forget_keys(self, partitions: Sequence[Partition]) -> None:
        if self.keys is not None:
            self._forget_entities(self.keys.release(partitions))

    @property
    def entities_held(self) -> int:
        """Entities (cells, sessions) whose state this replica holds."""
        return 0 if self.keys is None else len(self.keys)

    @property
    def evictions(self) -> dict[EvictionReason, int]:
        """Entities whose state the limits have dropped so far, by reason (`capacity`, `idle`)."""
        return {"capacity": 0, "idle": 0} if self.keys is None else dict(self.keys.evictions)


def _nothing_to_finish(answer: None) -> None:
    """A batch with nothing left to infer is finished once begun."""


def _forget_nothing(keys: list[str]) -> None:
    """A pipeline without per-entity state has nothing to forget."""
