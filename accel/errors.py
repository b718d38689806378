"""Errors of the accelerator core, each carrying the protocol status it maps to.

    AccelError
    ├── InvalidInput        bad tensor name, shape, datatype or byte count   INVALID_ARGUMENT
    ├── ModelNotFound       unknown model or version                        NOT_FOUND
    ├── ModelNotReady       known model that cannot serve now               UNAVAILABLE
    ├── QueueFull           the model's batch queue is at its limit         RESOURCE_EXHAUSTED
    ├── RequestTooLarge     a request over a size or element-count limit    RESOURCE_EXHAUSTED
    ├── DeadlineExpired     the request's deadline passed before compute    DEADLINE_EXCEEDED
    ├── ModelConfigError    a model directory or config.json is unusable    FAILED_PRECONDITION
    │   └── RuntimeUnavailable  its runtime (an NPU's) is not installed     UNAVAILABLE
    ├── TlsConfigError      the TLS settings are incomplete or unreadable   FAILED_PRECONDITION
    ├── Unsupported         a protocol option this server does not offer    UNIMPLEMENTED
    └── BackendFailure      the runtime failed while computing              ABORTED

The gRPC layer (accel/grpc/status.py) turns `status` into a gRPC code; the core never imports grpc.
Raw tensor contents are checked by the protocol codec, whose `MalformedTensor`
(inference_protocol/errors.py) carries its status the same way.
"""

from __future__ import annotations

from typing import ClassVar


class AccelError(Exception):
    """Base of every accelerator error."""

    status: ClassVar[str] = "ABORTED"
    """The Open Inference Protocol / gRPC status name this error is answered with."""
    retriable: ClassVar[bool] = False
    """Whether the same request may succeed if sent again later."""


class InvalidInput(AccelError):
    status = "INVALID_ARGUMENT"


class ModelNotFound(AccelError):
    status = "NOT_FOUND"


class ModelNotReady(AccelError):
    status = "UNAVAILABLE"
    retriable = True


class QueueFull(AccelError):
    status = "RESOURCE_EXHAUSTED"
    retriable = True


class RequestTooLarge(AccelError):
    """The request is over one of the configured limits (bytes, elements); sending the same
    request again will not help, smaller ones will."""

    status = "RESOURCE_EXHAUSTED"


class DeadlineExpired(AccelError):
    status = "DEADLINE_EXCEEDED"


class ModelConfigError(AccelError):
    status = "FAILED_PRECONDITION"


class RuntimeUnavailable(ModelConfigError):
    """The model is configured well but its runtime cannot be imported on this node (the vendor's
    NPU runtime is not installed): the model is listed UNAVAILABLE with this reason, and requests
    for it are answered UNAVAILABLE with it, until the runtime is installed and the model loaded."""

    status = "UNAVAILABLE"
    retriable = True


class TlsConfigError(AccelError):
    """The TLS settings are incomplete or point at unreadable files; the server does not start."""

    status = "FAILED_PRECONDITION"


class Unsupported(AccelError):
    status = "UNIMPLEMENTED"


class BackendFailure(AccelError):
    status = "ABORTED"
