"""Settings of a pipeline process, read from `PIPELINE_*` environment variables: how the runtime
batches, waits and bounds state, the same for every pipeline. Each pipeline's own policies are
read from variables prefixed with its name (`KPI_ANOMALY_`, `ENERGY_SAVING_`, `CS_INSIGHTS_`,
`FIBER_SENSING_`), by its `settings.py`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.entity_limits import DEFAULT_IDLE_S, DEFAULT_MAX_KEY_CHARS, EntityLimits

RETRY_BACKOFF_S = 0.5


class PipelineSettings(BaseSettings):
    """Batching, time limits and Kafka consumer tuning for one pipeline replica."""

    model_config = SettingsConfigDict(env_prefix="PIPELINE_", extra="ignore", use_attribute_docstrings=True)

    consumer_group: str | None = None
    """Kafka consumer group; defaults to `{region}.{pipeline}` so replicas share the work."""
    delivery: Literal["at-least-once", "exactly-once"] = "at-least-once"
    """`at-least-once`: a batch's outputs are acknowledged, then its offsets committed (every
    `PIPELINE_COMMIT_INTERVAL_MS`); a crash between the two repeats them (results carry ids to de-duplicate by). `exactly-once`: each
    batch's outputs, state changes and offsets are committed in one Kafka transaction, by one
    transactional producer per input partition (a replica that lost the partition is fenced), so
    consumers reading `read_committed` see each result once. Needs brokers with transactions
    (Apache Kafka); the pipeline refuses to start without them."""
    commit_interval_ms: int = Field(1000, ge=0, le=60_000)
    """At-least-once: how often the input offsets of acknowledged batches are committed, the
    changelog of the state those batches changed written just before (one record per entity per
    interval, however many batches changed it). A crash repeats at most this much of the stream
    (more duplicates downstream, nothing lost); 0 commits each batch once acknowledged (those
    acknowledged while a commit is under way, together in the next). Exactly-once commits each
    batch in its transaction and ignores it."""
    state_topic: str | None = Field(None, min_length=1, max_length=249, pattern=r"^[A-Za-z0-9._-]+$")
    """The compacted topic of the pipeline's per-entity state. Unset: `{region}.state.{pipeline}`,
    shared by the replicas of the pipeline's consumer group; a second group of the same pipeline
    in the region (a shadow deployment with its own `PIPELINE_CONSUMER_GROUP`) needs its own. It
    must lie in the site's region, like every topic."""
    state_replication_factor: int | None = Field(None, ge=1, le=16)
    """Replicas of the compacted topics a pipeline creates when missing (its state changelog
    `{region}.state.{pipeline}`, the open-alarm list). Unset: 3, or every broker of a smaller cluster."""
    restore_timeout_s: float = Field(300.0, gt=0)
    """Longest a replica may take to restore the state of the partitions it is assigned; past it
    the replica stops with an error rather than run with part of its state (it is not ready while
    restoring)."""
    max_batch_records: int | None = Field(None, ge=1, le=100_000)
    """Most records taken from Kafka per batch (one inference request per batch). Unset: the
    pipeline's own, sized so that a full batch's request fits its model's `max_batch_size`
    (kpi-anomaly 4,000; the others 1,000)."""
    max_in_flight_batches: int = Field(4, ge=1, le=64)
    """Batches processed but not yet acknowledged and committed; when reached, fetching waits
    (backpressure instead of unbounded buffering)."""
    inference_overlap: int = Field(2, ge=1, le=16)
    """Batches fetched and not finished at once: with 2, an overlapping pipeline (kpi-anomaly,
    fiber-sensing) decodes the next batch while this one's inference is out, and the others
    (energy-saving, cs-insights, whose next batch reads this one's results) fetch it ahead and
    begin it once this one is finished. 1 fetches and processes one batch at a time."""
    fetch_max_wait_ms: int = Field(10, ge=0, le=10_000)
    """How long the broker may hold a fetch waiting for data; short keeps latency low."""
    poll_timeout_ms: int = Field(200, ge=1)
    """How long one poll waits for a batch before the loop checks for shutdown."""
    session_timeout_ms: int = Field(10_000, ge=1000)
    """Consumer group session timeout: a replica silent for this long is taken for dead and its
    partitions move. Must lie within the brokers' `group.min.session.timeout.ms` and
    `group.max.session.timeout.ms` (Apache Kafka: 6,000 to 1,800,000 by default), or the pipeline
    refuses to start saying so."""
    heartbeat_interval_ms: int = Field(1000, ge=100)
    """Consumer heartbeat interval."""
    max_poll_interval_ms: int = Field(300_000, ge=1000)
    """A replica that takes no records for this long leaves its group. While an outage keeps
    fetching paused, the runtime keeps polling, so an outage alone never makes it leave."""
    infer_timeout_s: float = Field(5.0, gt=0)
    """Deadline of one inference call."""
    infer_attempts: int = Field(3, ge=1, le=20)
    """Accelerators one inference call tries in turn when they answer UNAVAILABLE. When none
    answers, the batch waits and tries again with backoff: an outage never sends it to the DLQ."""
    infer_retry_backoff_s: float = Field(RETRY_BACKOFF_S, gt=0, le=60)
    """First wait before a batch's inference is sent again while no accelerator answers; it
    doubles on each try, up to 5 s. The batch waits for as long as the outage lasts (fetching
    paused after `pause_after_s`): an outage never sends it to the DLQ."""
    pause_after_s: float = Field(1.0, gt=0)
    """A batch still unfinished after this long (accelerators down or slow), or still waiting for
    room among the batches in flight, pauses fetching from every assigned partition until it is
    done: nothing piles up in memory behind it."""
    grace_period_s: float = Field(10.0, ge=0)
    """On SIGTERM, or when partitions are revoked in a rebalance, how long the batches in flight
    may take to finish before those still waiting for an accelerator are abandoned uncommitted."""
    gc_gen0_threshold: int = Field(50_000, ge=0)
    """Allocations between passes of the garbage collector's youngest generation (Python's
    default is 700; 0 leaves it). Raised because a pipeline allocates several short-lived objects
    per event; memory is unaffected, as they are freed by reference counting, not by the collector."""
    max_entities: int | None = Field(None, ge=1, le=10_000_000)
    """Entities (cells, customer sessions) whose state one replica keeps; beyond it the least
    recently updated is dropped, its state rebuilt if it comes back, and counted in
    `edge_pipeline_state_evictions{reason="capacity"}`. Unset: the pipeline's own, sized so that
    its state fits in a quarter of the chart's memory request (kpi-anomaly 40,000 cells,
    energy-saving 40,000 cells, cs-insights 100,000 sessions). At least the batch size: a batch's
    cells are all held while it is processed, so a pipeline refuses to start with fewer."""
    entity_idle_s: float = Field(DEFAULT_IDLE_S, ge=0)
    """An entity not updated for this long is dropped (`reason="idle"`); 0: never. The KPI
    pipelines count event time (the median of each batch's timestamps, so replays expire as live
    traffic would and a few forged timestamps move nothing); cs-insights counts wall-clock time."""
    max_key_chars: int = Field(DEFAULT_MAX_KEY_CHARS, ge=1, le=65_536)
    """Longest `cell_id` the KPI pipelines accept; a longer one goes to the DLQ with reason
    `schema` (fibre and session ids have limits of their own in their contracts)."""
    metrics_host: str = Field("0.0.0.0", min_length=1)
    """Address the monitoring port (Prometheus `/metrics`, the kubelet's `/livez` and `/readyz`)
    listens on: every interface in a pod, so that Prometheus and the kubelet reach it;
    `127.0.0.1` keeps it to the machine; `::` on IPv6-only clusters."""
    metrics_port: int = Field(9464, ge=0, le=65535)
    """HTTP port serving Prometheus `/metrics`, `/livez` and `/readyz` (0: all three off)."""

    def entity_limits(self, pipeline_default: EntityLimits) -> EntityLimits:
        """A pipeline's own limits on its per-entity state, under these settings."""
        return pipeline_default.overridden(
            max_entities=self.max_entities, idle_s=self.entity_idle_s, max_key_chars=self.max_key_chars
        )
