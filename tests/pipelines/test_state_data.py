"""Per-entity state as changelog data: arrays come back bit for bit through JSON, floats JSON
cannot carry (infinities, NaN) come back as they were, and anything else is refused naming the
field it was read from."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pytest

from pipelines.state_data import (
    exact,
    packed,
    read_count,
    read_flag,
    read_float,
    read_section,
    unpacked,
)


def test_arrays_come_back_through_json_bit_for_bit() -> None:
    values = np.array([[0.1, -0.0], [np.nan, 1e-45]], dtype=np.float32)
    values.view(np.uint32)[1, 0] = 0x7FC00123  # a NaN with a payload
    times = np.array([1_795_000_000.123456789, -math.inf, 5e-324])
    data = orjson.loads(orjson.dumps({"values": packed(values, "<f4"), "times": packed(times, "<f8")}))
    back = unpacked(data, "values", "<f4", (2, 2))
    assert back.dtype == np.float32 and back.tobytes() == values.tobytes()
    assert unpacked(data, "times", "<f8", (3,)).tobytes() == times.tobytes()
    back[0, 0] = 7.0  # the restored array is the holder's own, not a view of the record
    assert back[0, 0] == 7.0


@pytest.mark.parametrize("value", [1_795_000_000.123456789, -math.inf, math.inf, 0.1 + 0.2, -0.0, 5e-324])
def test_floats_come_back_exactly_infinities_included(value: float) -> None:
    data = orjson.loads(orjson.dumps({"t": exact(value)}))
    back = read_float(data, "t")
    assert back == value and math.copysign(1, back) == math.copysign(1, value)


def test_nan_comes_back_as_nan_but_never_where_a_finite_number_is_asked_for() -> None:
    data = orjson.loads(orjson.dumps({"x": exact(math.nan)}))
    assert math.isnan(read_float(data, "x"))
    with pytest.raises(ValueError, match="`x` must be a finite number"):
        read_float(data, "x", finite=True)


@pytest.mark.parametrize(
    ("read", "data", "message"),
    [
        (lambda d: unpacked(d, "rows", "<f8", (2,)), {"rows": "AAAA"}, "`rows` must hold 2 values of 8 bytes, got 3 bytes"),
        (lambda d: unpacked(d, "rows", "<f8", (2,)), {"rows": "not base64!"}, "`rows` is not base64"),
        (lambda d: unpacked(d, "rows", "<f8", (2,)), {"rows": [1.0, 2.0]}, "`rows` must be base64 text"),
        (lambda d: read_float(d, "at_s"), {"at_s": True}, "`at_s` must be a number"),
        (lambda d: read_float(d, "at_s"), {"at_s": "soon"}, "`at_s` must be a number"),
        (lambda d: read_float(d, "at_s"), {}, "`at_s` must be a number"),
        (lambda d: read_count(d, "turns"), {"turns": -1}, "`turns` must be an integer >= 0"),
        (lambda d: read_count(d, "turns"), {"turns": 2.0}, "`turns` must be an integer >= 0"),
        (lambda d: read_flag(d, "asleep"), {"asleep": 1}, "`asleep` must be true or false"),
        (lambda d: read_section(d, "plan"), {"plan": [1]}, "`plan` must be an object or null"),
    ],
    ids=["short", "not-base64", "a-list", "a-bool", "a-word", "missing", "negative", "a-float", "a-number", "a-list-section"],
)
def test_what_is_not_what_was_written_is_refused_naming_the_field(
    read: Callable[[dict[str, Any]], object], data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        read(data)


def test_a_missing_section_reads_as_none() -> None:
    assert read_section({}, "plan") is None and read_section({"plan": {"a": 1}}, "plan") == {"a": 1}
