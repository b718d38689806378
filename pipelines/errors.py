"""Errors of the pipelines, one tree:

    PipelineError                  retriable  dlq_reason
    ├── EventRejected                  no      (below)   an event the pipeline will not process
    │   ├── MalformedEvent             no      malformed  not a JSON object, not UTF-8, too large
    │   └── SchemaViolation            no      schema     breaks the event contract
    ├── InferenceRejected              no      inference  an accelerator refused the request
    ├── AcceleratorUnavailable         yes     -          no accelerator in region answered in time
    ├── BatchAbandoned                 no      -          a stop came before the batch finished
    ├── StartupRefused                 no      -          configuration breaks residency or cannot work
    ├── StateRefused                   no      -          a changelog holds state this release cannot read
    └── ReplicaFenced                  no      -          another replica owns the partitions now

`retriable` is what the accelerator client's retry loop reads: a retriable error delays the batch,
any other ends the call. `dlq_reason` is the reason a refused record carries on the DLQ; the
shared pipeline base and the intake read it, nothing else names a reason for an error. The
accelerator client is the one place gRPC status codes become these errors.
"""

from __future__ import annotations

from typing import ClassVar


class PipelineError(Exception):
    """Base of every pipeline error."""

    retriable: ClassVar[bool] = False
    """Whether the same call may succeed if made again later."""
    dlq_reason: ClassVar[str | None] = None
    """The DLQ reason of the records this error refuses; None: it refuses no record."""


class EventRejected(PipelineError):
    """An event the pipeline will not process; it goes to the DLQ with `dlq_reason` and the message."""

    dlq_reason: ClassVar[str | None] = "malformed"


class MalformedEvent(EventRejected):
    """Not a JSON object (or not UTF-8, or too large)."""

    dlq_reason = "malformed"


class SchemaViolation(EventRejected):
    """Valid JSON that breaks the event contract: missing or mistyped fields, unknown schema."""

    dlq_reason = "schema"


class InferenceRejected(PipelineError):
    """An accelerator refused the request itself, or answered what the pipeline cannot read:
    every record of the batch goes to the DLQ."""

    dlq_reason = "inference"


class AcceleratorUnavailable(PipelineError):
    """No accelerator in region answered in time: the batch waits and is sent again."""

    retriable = True


class BatchAbandoned(PipelineError):
    """A stop came while the batch waited for an accelerator; it is not committed."""


class StartupRefused(PipelineError):
    """The configuration breaks residency or cannot work; the process does not start."""


class StateRefused(PipelineError):
    """A changelog record holds state this release cannot read (a newer state version, or not
    what this pipeline writes): the replica stops rather than run without the state it owns."""


class ReplicaFenced(PipelineError):
    """The group gave this replica's partitions to another while it was silent, and it can no
    longer commit for them (its offset commit refused, or exactly-once, its producer fenced): it
    stops, and starts again as a new member."""
