"""Every accelerator error maps to a meaningful gRPC status, never UNKNOWN or INTERNAL."""

from __future__ import annotations

import grpc
import pytest

from accel import errors
from accel.grpc.status import status_code


def _all_error_classes() -> list[type[errors.AccelError]]:
    found: list[type[errors.AccelError]] = []
    pending: list[type[errors.AccelError]] = [errors.AccelError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: c.__name__)
def test_error_class_maps_to_a_specific_status(cls: type[errors.AccelError]) -> None:
    code = status_code(cls("x"))
    assert code not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.OK)


def test_the_documented_codes_hold() -> None:
    assert status_code(errors.InvalidInput("x")) is grpc.StatusCode.INVALID_ARGUMENT
    assert status_code(errors.ModelNotFound("x")) is grpc.StatusCode.NOT_FOUND
    assert status_code(errors.QueueFull("x")) is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert status_code(errors.DeadlineExpired("x")) is grpc.StatusCode.DEADLINE_EXCEEDED
    assert status_code(errors.ModelNotReady("x")) is grpc.StatusCode.UNAVAILABLE
