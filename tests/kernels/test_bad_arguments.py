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

from kernels import KernelSet, load_kernels

WindowArgs = Callable[..., dict[str, Any]]
DasArgs = Callable[..., dict[str, Any]]
Breakage = Callable[[dict[str, Any]], None]


def unaligned_float64(shape: tuple[int, ...]) -> np.ndarray:
    size = int(np.prod(shape))
    buffer = np.zeros(size * 8 + 1, dtype=np.uint8)
    return np.frombuffer(buffer.data, dtype=np.float64, count=size, offset=1).reshape(shape)


def stats_inside_detrended(args: dict[str, Any]) -> None:
    args["stats"] = args["detrended"].reshape(-1)[:18].reshape(3, 6)


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


# das_channel_stats: defaults are 400 samples x 3 channels, sta 10, lta 100.
DAS_CASES: list[tuple[str, Breakage, type[Exception], str]] = [
    ("samples is a list", lambda a: a.update(samples=a["samples"].tolist()), TypeError, "samples must be a numpy.ndarray, got list"),
    ("samples is float16", lambda a: a.update(samples=a["samples"].astype(np.float16)), TypeError, "samples must have dtype float32 or float64 .native byte order., got float16"),
    ("samples is int64", lambda a: a.update(samples=a["samples"].astype(np.int64)), TypeError, "samples must have dtype float32 or float64"),
    ("samples is big-endian float32", lambda a: a.update(samples=a["samples"].astype(">f4")), TypeError, "samples must have dtype float32 or float64 .native byte order., got >f4"),
    ("samples is 1-D", lambda a: a.update(samples=a["samples"][:, 0].copy()), ValueError, "samples must be 2-dimensional, got 1"),
    ("samples is 3-D", lambda a: a.update(samples=a["samples"][None]), ValueError, "samples must be 2-dimensional, got 3"),
    ("samples Fortran order", lambda a: a.update(samples=np.asfortranarray(a["samples"])), ValueError, "samples must be C-contiguous"),
    ("samples strided", lambda a: a.update(samples=np.zeros((800, 3))[::2]), ValueError, "samples must be C-contiguous"),
    ("samples unaligned", lambda a: a.update(samples=unaligned_float64((400, 3))), ValueError, "samples must be C-contiguous and aligned"),
    ("samples too short", lambda a: a.update(samples=a["samples"][:2].copy()), ValueError, r"samples.shape\[0\] must be at least 3 \(a quadratic trend needs 3 samples\), got 2"),
    ("stats float32", lambda a: a.update(stats=a["stats"].astype(np.float32)), TypeError, "stats must have dtype float64"),
    ("stats is None", lambda a: a.update(stats=None), TypeError, "stats must be a numpy.ndarray, got NoneType"),
    ("stats read-only", lambda a: a.update(stats=read_only(a["stats"])), ValueError, "stats must be writeable"),
    ("stats short of channels", lambda a: a.update(stats=np.zeros((2, 6))), ValueError, r"stats.shape\[0\] must be 3 \(samples.shape\[1\], the channels\), got 2"),
    ("stats too narrow", lambda a: a.update(stats=np.zeros((3, 5))), ValueError, r"stats.shape\[1\] must be 6 \(the statistics\), got 5"),
    ("stats strided", lambda a: a.update(stats=np.zeros((3, 12))[:, ::2]), ValueError, "stats must be C-contiguous"),
    ("detrended float32", lambda a: a.update(detrended=a["detrended"].astype(np.float32)), TypeError, "detrended must have dtype float64"),
    ("detrended read-only", lambda a: a.update(detrended=read_only(a["detrended"])), ValueError, "detrended must be writeable"),
    ("detrended too short", lambda a: a.update(detrended=np.zeros((399, 3))), ValueError, r"detrended.shape\[0\] must be 400 \(samples.shape\[0\], the samples\), got 399"),
    ("detrended too wide", lambda a: a.update(detrended=np.zeros((400, 4))), ValueError, r"detrended.shape\[1\] must be 3"),
    ("detrended is samples", lambda a: a.update(detrended=a["samples"]), ValueError, "detrended shares memory with samples"),
    ("stats inside detrended", stats_inside_detrended, ValueError, "stats shares memory with detrended"),
    ("sta_samples zero", lambda a: a.update(sta_samples=0), ValueError, "sta_samples must be at least 1, got 0"),
    ("sta_samples very negative", lambda a: a.update(sta_samples=-(2**80)), ValueError, "sta_samples must be at least 1, got -1208925819614629174706176"),
    ("sta_samples bool", lambda a: a.update(sta_samples=True), TypeError, "sta_samples must be an int, got bool"),
    ("sta_samples float", lambda a: a.update(sta_samples=10.0), TypeError, "sta_samples must be an int, got float"),
    ("lta_samples past the window", lambda a: a.update(lta_samples=401), ValueError, r"lta_samples must be at most samples.shape\[0\] \(400\), got 401"),
    ("lta_samples equal to sta", lambda a: a.update(lta_samples=10), ValueError, r"lta_samples must be more than sta_samples \(10\), got 10"),
    ("sta_samples past the window", lambda a: a.update(sta_samples=400, lta_samples=400), ValueError, r"lta_samples must be more than sta_samples \(400\), got 400"),
    ("lta_samples huge", lambda a: a.update(lta_samples=2**80), ValueError, r"lta_samples must be at most samples.shape\[0\] \(400\), got 1208925819614629174706176"),
    ("lta_samples numpy int", lambda a: a.update(lta_samples=np.int64(100)), TypeError, "lta_samples must be an int, got int64"),
    ("sta past a huge lta", lambda a: a.update(sta_samples=2**80, lta_samples=2**81), ValueError, "lta_samples must be at most"),
    ("huge sta past lta", lambda a: a.update(sta_samples=2**80), ValueError, r"lta_samples must be more than sta_samples \(1208925819614629174706176\), got 100"),
    ("floor zero", lambda a: a.update(floor=0.0), ValueError, "floor must be finite and positive, got 0.0"),
    ("floor negative int", lambda a: a.update(floor=-1), ValueError, "floor must be finite and positive, got -1"),
    ("floor NaN", lambda a: a.update(floor=float("nan")), ValueError, "floor must be finite and positive, got nan"),
    ("floor inf", lambda a: a.update(floor=float("inf")), ValueError, "floor must be finite and positive, got inf"),
    ("floor str", lambda a: a.update(floor="1e-12"), TypeError, "floor must be a float, got str"),
    ("floor bool", lambda a: a.update(floor=True), TypeError, "floor must be a float, got bool"),
]


@pytest.mark.parametrize(("breakage", "error", "message"), [c[1:] for c in DAS_CASES], ids=[c[0] for c in DAS_CASES])
def test_a_bad_das_argument_raises_a_clear_error_and_writes_nothing(
    kernels: KernelSet, das_args: DasArgs, breakage: Breakage, error: type[Exception], message: str
) -> None:
    args = das_args()
    stats, detrended = args["stats"], args["detrended"]
    breakage(args)
    before = {k: v.copy() for k, v in args.items() if isinstance(v, np.ndarray)}
    with pytest.raises(error, match=message):
        kernels.das_channel_stats(**args)
    assert (stats == -7.0).all() and (detrended == -7.0).all()
    for name, array in before.items():
        np.testing.assert_array_equal(args[name], array, err_msg=name)


@pytest.mark.parametrize("breakage", [c[1] for c in DAS_CASES], ids=[c[0] for c in DAS_CASES])
def test_both_das_implementations_refuse_with_the_same_words(das_args: DasArgs, breakage: Breakage) -> None:
    messages = []
    for name in ("native", "reference"):
        args = das_args()
        breakage(args)
        with pytest.raises((TypeError, ValueError)) as caught:
            load_kernels(name).das_channel_stats(**args)
        messages.append((type(caught.value), str(caught.value)))
    assert messages[0] == messages[1]


def test_a_missing_das_argument_is_a_type_error(kernels: KernelSet, das_args: DasArgs) -> None:
    args = das_args()
    del args["detrended"]
    with pytest.raises(TypeError):
        kernels.das_channel_stats(**args)
