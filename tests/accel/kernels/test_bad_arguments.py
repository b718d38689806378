"""Bad arguments to a kernel raise a clear Python error naming the argument, and change nothing.

Run against both implementations: the native one must never crash the process or write out of
bounds, and the reference must refuse exactly what the native one refuses.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from accel.kernels import KernelSet, load_kernels

WindowArgs = Callable[..., dict[str, Any]]
Breakage = Callable[[dict[str, Any]], None]


def unaligned_float64(shape: tuple[int, ...]) -> np.ndarray:
    size = int(np.prod(shape))
    buffer = np.zeros(size * 8 + 1, dtype=np.uint8)
    return np.frombuffer(buffer.data, dtype=np.float64, count=size, offset=1).reshape(shape)


def read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


CASES: list[tuple[str, Breakage, type[Exception], str]] = [
    ("values is a list", lambda a: a.update(values=a["values"].tolist()), TypeError, "values must be a numpy.ndarray"),
    ("values is float32", lambda a: a.update(values=a["values"].astype(np.float32)), TypeError, "values must have dtype float64"),
    ("values is big-endian", lambda a: a.update(values=a["values"].astype(">f8")), TypeError, "values must have dtype float64"),
    ("values is 2-D", lambda a: a.update(values=a["values"][:, 0]), ValueError, "values must be 3-dimensional"),
    ("values is strided", lambda a: a.update(values=np.full((3, 10, 2), np.nan)[:, ::2]), ValueError, "values must be C-contiguous"),
    ("values is read-only", lambda a: a.update(values=read_only(a["values"])), ValueError, "values must be writeable"),
    ("values has no window", lambda a: a.update(values=np.zeros((3, 0, 2))), ValueError, r"values.shape\[1\] \(the window\)"),
    ("counts is int32", lambda a: a.update(counts=a["counts"].astype(np.int32)), TypeError, "counts must have dtype int64"),
    ("counts is short", lambda a: a.update(counts=a["counts"][:2].copy()), ValueError, r"counts.shape\[0\] must be 3"),
    ("counts is negative", lambda a: a["counts"].__setitem__(1, -1), ValueError, r"counts\[1\] must not be negative"),
    ("slots is float", lambda a: a.update(slots=a["slots"].astype(np.float64)), TypeError, "slots must have dtype int64"),
    ("slot past the cells", lambda a: a["slots"].__setitem__(2, 3), ValueError, r"slots\[2\] = 3 is not a cell"),
    ("slot negative", lambda a: a["slots"].__setitem__(0, -1), ValueError, r"slots\[0\] = -1 is not a cell"),
    ("kpis too narrow", lambda a: a.update(kpis=a["kpis"][:, :1].copy()), ValueError, r"kpis.shape\[1\] must be 2"),
    ("kpis too short", lambda a: a.update(kpis=a["kpis"][:3].copy()), ValueError, r"kpis.shape\[0\] must be 4"),
    ("kpis Fortran order", lambda a: a.update(kpis=np.asfortranarray(a["kpis"])), ValueError, "kpis must be C-contiguous"),
    ("kpis unaligned", lambda a: a.update(kpis=unaligned_float64((4, 2))), ValueError, "kpis must be C-contiguous and aligned"),
    ("hours too short", lambda a: a.update(hours=a["hours"][:1].copy()), ValueError, r"hours.shape\[0\] must be 4"),
    ("hours 1-D", lambda a: a.update(hours=a["hours"][:, 0].copy()), ValueError, "hours must be 2-dimensional"),
    ("std_floor too long", lambda a: a.update(std_floor=np.ones(3)), ValueError, r"std_floor.shape\[0\] must be 2"),
    ("std_floor zero", lambda a: a["std_floor"].__setitem__(1, 0.0), ValueError, r"std_floor\[1\] must be finite and positive"),
    ("std_floor NaN", lambda a: a["std_floor"].__setitem__(0, np.nan), ValueError, r"std_floor\[0\] must be finite and positive"),
    ("min_history zero", lambda a: a.update(min_history=0), ValueError, "min_history must be at least 1, got 0"),
    ("min_history very negative", lambda a: a.update(min_history=-(2**80)), ValueError, "min_history must be at least 1"),
    ("min_history bool", lambda a: a.update(min_history=True), TypeError, "min_history must be an int, got bool"),
    ("min_history float", lambda a: a.update(min_history=3.0), TypeError, "min_history must be an int, got float"),
    ("clip zero", lambda a: a.update(clip=0.0), ValueError, "clip must be finite and positive"),
    ("clip NaN", lambda a: a.update(clip=float("nan")), ValueError, "clip must be finite and positive"),
    ("clip inf", lambda a: a.update(clip=float("inf")), ValueError, "clip must be finite and positive"),
    ("clip str", lambda a: a.update(clip="50"), TypeError, "clip must be a float, got str"),
    ("out float64", lambda a: a.update(out=a["out"].astype(np.float64)), TypeError, "out must have dtype float32"),
    ("out too narrow", lambda a: a.update(out=a["out"][:, :5].copy()), ValueError, r"out.shape\[1\] must be 6"),
    ("out read-only", lambda a: a.update(out=read_only(a["out"])), ValueError, "out must be writeable"),
    ("out is None", lambda a: a.update(out=None), TypeError, "out must be a numpy.ndarray, got NoneType"),
    ("history too long", lambda a: a.update(history=np.zeros(5, dtype=np.int64)), ValueError, r"history.shape\[0\] must be 4"),
    ("kpis inside values", lambda a: a.update(kpis=a["values"].reshape(-1, 2)[:4]), ValueError, "values shares memory with kpis"),
    ("history is slots", lambda a: a.update(history=a["slots"]), ValueError, "history shares memory with slots"),
]


@pytest.mark.parametrize(("breakage", "error", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_argument_raises_a_clear_error_and_leaves_the_state_alone(
    kernels: KernelSet, window_args: WindowArgs, breakage: Breakage, error: type[Exception], message: str
) -> None:
    args = window_args()
    args["counts"][:] = [1, 2, 3]
    args["values"][:, 0] = 0.5
    breakage(args)
    values_before, counts_before = copy.deepcopy(args["values"]), copy.deepcopy(args["counts"])
    with pytest.raises(error, match=message):
        kernels.window_features(**args)
    np.testing.assert_array_equal(args["values"], values_before)
    np.testing.assert_array_equal(args["counts"], counts_before)


@pytest.mark.parametrize("breakage", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_both_implementations_refuse_with_the_same_words(window_args: WindowArgs, breakage: Breakage) -> None:
    messages = []
    for name in ("native", "reference"):
        args = window_args()
        breakage(args)
        with pytest.raises((TypeError, ValueError)) as caught:
            load_kernels(name).window_features(**args)
        messages.append((type(caught.value), str(caught.value)))
    assert messages[0] == messages[1]


def test_a_missing_argument_is_a_type_error(kernels: KernelSet, window_args: WindowArgs) -> None:
    args = window_args()
    del args["history"]
    with pytest.raises(TypeError):
        kernels.window_features(**args)


def test_arguments_may_be_passed_by_position(kernels: KernelSet, window_args: WindowArgs) -> None:
    args = window_args()
    kernels.window_features(*args.values())
    assert args["counts"].sum() == 4
