"""Errors of the protocol codec, shared by the server and the pipelines' client.

    ProtocolError            a message that breaks the Open Inference Protocol
    └── MalformedTensor      raw contents that do not fit a tensor's datatype and shape

Each carries the protocol status it is answered with (`status`); the server answers it as
INVALID_ARGUMENT through the same translation as its own errors, the client treats a malformed
answer as the accelerator's refusal of the request.
"""

from __future__ import annotations

from typing import ClassVar


class ProtocolError(Exception):
    """Base of every protocol codec error."""

    status: ClassVar[str] = "INVALID_ARGUMENT"
    """The Open Inference Protocol / gRPC status name this error is answered with."""
    retriable: ClassVar[bool] = False
    """Sending the same message again cannot help."""


class MalformedTensor(ProtocolError):
    """A tensor's name, datatype, shape or raw byte count that no array can have, named in the message."""
