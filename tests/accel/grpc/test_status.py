"""Every accelerator error, and every protocol codec error the server answers with, maps to a meaningful gRPC status, never UNKNOWN or INTERNAL."""

from __future__ import annotations

import grpc
import pytest

from accel import errors
from accel.grpc.status import (
    DETAILS_MAX_BYTES,
    classify,
    error_details,
    status_code,
    translate_errors,
)
from inference_protocol.errors import ProtocolError


def _all_error_classes() -> list[type[errors.AccelError | ProtocolError]]:
    found: list[type[errors.AccelError | ProtocolError]] = []
    pending: list[type[errors.AccelError | ProtocolError]] = [errors.AccelError, ProtocolError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: c.__name__)
def test_error_class_maps_to_a_specific_status(cls: type[errors.AccelError | ProtocolError]) -> None:
    code = status_code(cls("x"))
    assert code not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.OK)


def test_the_documented_codes_hold() -> None:
    assert status_code(errors.InvalidInput("x")) is grpc.StatusCode.INVALID_ARGUMENT
    assert status_code(errors.ModelNotFound("x")) is grpc.StatusCode.NOT_FOUND
    assert status_code(errors.QueueFull("x")) is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert status_code(errors.DeadlineExpired("x")) is grpc.StatusCode.DEADLINE_EXCEEDED
    assert status_code(errors.ModelNotReady("x")) is grpc.StatusCode.UNAVAILABLE


def test_an_unexpected_error_is_internal_logged_and_not_quoted(caplog: pytest.LogCaptureFixture) -> None:
    code, details = classify(ValueError("secret path /var/lib/x"), "ModelInfer")
    assert code is grpc.StatusCode.INTERNAL
    assert "secret" not in details
    assert "ModelInfer failed unexpectedly" in caplog.text and "secret path" in caplog.text


def test_a_long_message_is_cut_to_what_a_client_can_read() -> None:
    """Details travel in a trailer that clients cap at 8 KiB after percent-encoding."""
    details = error_details(errors.InvalidInput("모" * 5000))
    assert len(details.encode()) <= DETAILS_MAX_BYTES
    assert details.endswith("...") and details.startswith("모")


class FakeContext:
    """Stands in for grpc.aio.ServicerContext: records the abort and raises as gRPC's does."""

    def __init__(self) -> None:
        self.aborted: tuple[grpc.StatusCode, str] | None = None

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.aborted = (code, details)
        raise grpc.aio.AbortError()


class Servicer:
    def __init__(self, error: Exception) -> None:
        self.error = error

    @translate_errors
    async def Call(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        raise self.error


@pytest.mark.parametrize(
    ("error", "code"),
    [(errors.RequestTooLarge("big"), grpc.StatusCode.RESOURCE_EXHAUSTED), (KeyError("k"), grpc.StatusCode.INTERNAL)],
)
async def test_the_unary_boundary_answers_every_error_with_a_status(error: Exception, code: grpc.StatusCode) -> None:
    context = FakeContext()
    with pytest.raises(grpc.aio.AbortError):
        await Servicer(error).Call(b"", context)  # type: ignore[arg-type]
    assert context.aborted is not None and context.aborted[0] is code
