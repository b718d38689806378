"""What a request declares is checked against the model and the limits before any contents are
decoded: datatypes before sizes, shapes without overflow, element counts and bytes within limits."""

from __future__ import annotations

import pytest

from accel.admission import MAX_REQUEST_PARAMETERS, RequestLimits, TensorHeader, admit, admit_counts
from accel.errors import InvalidInput, RequestTooLarge
from accel.model import TensorSpec

FEATURES = TensorSpec("features", "FP32", (-1, 22))
TEXT = TensorSpec("text", "BYTES", (-1,))
WINDOWS = TensorSpec("samples", "FP32", (-1, -1, -1))
LIMITS = RequestLimits(max_request_bytes=2**20, max_bytes_elements=1000)


def _raw(spec_name: str, datatype: str, shape: tuple[int, ...], content_bytes: int) -> TensorHeader:
    return TensorHeader(spec_name, datatype, shape, content_bytes, raw=True)


def _admit(*headers: TensorHeader, specs: tuple[TensorSpec, ...] = (FEATURES,), limits: RequestLimits = LIMITS) -> int:
    return admit("m:1", specs, headers, limits, max_batch_size=64)


def test_a_well_declared_request_is_admitted_with_its_rows() -> None:
    assert _admit(_raw("features", "FP32", (3, 22), 3 * 22 * 4)) == 3


def test_the_datatype_is_refused_before_the_size_is_looked_at() -> None:
    """The adversarial probe's request: 60 MiB of BYTES for an FP32 input."""
    with pytest.raises(InvalidInput, match="input 'features' must be FP32, got BYTES"):
        _admit(_raw("features", "BYTES", (12_582_912,), 60 * 2**20))


@pytest.mark.parametrize("datatype", ["FP8", "", "fp32", "X" * 5000])
def test_an_unknown_datatype_is_refused_quoting_it_cut_short(datatype: str) -> None:
    with pytest.raises(InvalidInput, match="unknown datatype") as caught:
        _admit(_raw("features", datatype, (1, 22), 88))
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((1,) * 65, "shape has 65 dimensions; the limit is 64"),
        ((-1, 22), "negative dimension"),
        ((1, 23), r"must have shape \[-1, 22\]"),
        ((1, 22, 1), r"must have shape \[-1, 22\]"),
        ((0, 22), "has no elements"),
        ((65, 22), "max_batch_size is 64"),
    ],
)
def test_shapes_the_model_cannot_take_are_refused(shape: tuple[int, ...], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        _admit(_raw("features", "FP32", shape, 4 * 22))


@pytest.mark.parametrize(
    "shape", [(2**62, 2**62, 2**62), (2**63 - 1, 2**63 - 1, 2), (1, 2**40, 64)], ids=["overflow", "int64-max", "huge"]
)
def test_a_product_past_the_byte_limit_is_refused_without_being_computed_whole(shape: tuple[int, ...]) -> None:
    with pytest.raises(RequestTooLarge, match=r"describes more than 262144 elements \(max_request_bytes 1048576"):
        _admit(_raw("samples", "FP32", shape, 4), specs=(WINDOWS,))


@pytest.mark.parametrize("shape", [(0, 2**62, 2**62), (1, 10**12, 0), (1, 0, 10**12)])
def test_a_zero_size_shape_is_refused_whatever_the_other_dimensions_claim(shape: tuple[int, ...]) -> None:
    """A zero dimension let the DAS pipeline size its features from the others: ABORTED before."""
    with pytest.raises(InvalidInput, match="has no elements; every dimension must be at least 1"):
        _admit(_raw("samples", "FP32", shape, 0), specs=(WINDOWS,))


@pytest.mark.parametrize(("content_bytes", "got"), [(87, "got 87"), (89, "got 89"), (0, "got 0")])
def test_raw_contents_must_be_exactly_the_shapes_bytes(content_bytes: int, got: str) -> None:
    with pytest.raises(InvalidInput, match=f"needs 88 bytes of raw contents, {got}"):
        _admit(_raw("features", "FP32", (1, 22), content_bytes))


def test_bytes_elements_over_the_limit_are_refused_before_any_is_parsed() -> None:
    with pytest.raises(RequestTooLarge, match=r"more than 1000 elements \(max_bytes_elements 1000\)"):
        _admit(_raw("text", "BYTES", (12_582_912,), 60 * 2**20), specs=(TEXT,))


def test_bytes_contents_too_short_for_their_length_prefixes_are_refused() -> None:
    with pytest.raises(InvalidInput, match="needs 10 BYTES elements of at least 4 bytes each"):
        _admit(_raw("text", "BYTES", (10,), 39), specs=(TEXT,))


def test_the_byte_limit_counts_every_input() -> None:
    specs = (TensorSpec("a", "FP32", (-1, -1)), TensorSpec("b", "FP32", (-1, -1)))
    half = 2**20 // 2
    admit("m:1", specs, [_raw("a", "FP32", (1, half // 4), half), _raw("b", "FP32", (1, half // 4), half)], LIMITS, 64)
    with pytest.raises(RequestTooLarge, match="the limit is 1048576 bytes"):
        admit("m:1", specs, [_raw("a", "FP32", (1, half // 4), half), _raw("b", "FP32", (1, half // 4 + 1), half + 4)],
              LIMITS, 64)


def test_typed_contents_are_counted_as_decoded() -> None:
    """A million 1-byte varints decode to 8 MB of INT64: the decoded size is what is limited."""
    spec = TensorSpec("ids", "INT64", (-1,))
    typed = TensorHeader("ids", "INT64", (2**20,), 2**20 + 4, raw=False, typed_values=2**20)
    with pytest.raises(RequestTooLarge, match="more than 131072 elements"):
        admit("m:1", (spec,), [typed], LIMITS, 2**21)
    short = TensorHeader("ids", "INT64", (3,), 5, raw=False, typed_values=2)
    with pytest.raises(InvalidInput, match="needs 3 values in its typed contents, got 2"):
        admit("m:1", (spec,), [short], LIMITS, 64)


def test_a_models_own_limits_replace_the_servers() -> None:
    model = LIMITS.overridden(max_request_bytes=None, max_bytes_elements=5)
    assert model == RequestLimits(max_request_bytes=2**20, max_bytes_elements=5)
    with pytest.raises(RequestTooLarge, match="max_bytes_elements 5"):
        _admit(_raw("text", "BYTES", (6,), 24), specs=(TEXT,), limits=model)


@pytest.mark.parametrize(
    ("inputs", "raw", "outputs", "parameters", "message"),
    [
        (0, 0, 0, 0, "expects 1 inputs"),
        (1000, 1000, 0, 0, "the request has 1000"),
        (1, 2, 0, 0, "1 inputs but 2 raw_input_contents"),
        (1, 1, 4, 0, "asks for 4"),
        (1, 1, 0, MAX_REQUEST_PARAMETERS + 1, f"the limit is {MAX_REQUEST_PARAMETERS}"),
    ],
)
def test_counts_are_refused_before_any_entry_is_read(
    inputs: int, raw: int, outputs: int, parameters: int, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        admit_counts("m:1", (FEATURES,), ["score", "is_anomaly", "contributions"], inputs, raw, outputs, parameters)


def test_unknown_and_repeated_inputs_are_listed_cut_short() -> None:
    headers = [_raw("features", "FP32", (1, 22), 88), _raw("features", "FP32", (1, 22), 88)]
    with pytest.raises(InvalidInput, match=r"repeated \['features'\]"):
        _admit(*headers)
    many = [_raw(f"x{'y' * 5000}{i}", "FP32", (1,), 4) for i in range(20)]
    with pytest.raises(InvalidInput, match="and 12 more") as caught:
        _admit(*many)
    assert len(str(caught.value)) < 2000


def test_before_its_raw_contents_are_read_a_request_is_checked_on_what_it_declares() -> None:
    """Reading raw contents copies them: the datatype, shape and limits are checked without them."""
    unread = TensorHeader("features", "FP32", (3, 22), None, raw=True)
    assert _admit(unread) == 3
    with pytest.raises(InvalidInput, match="must be FP32, got BYTES"):
        _admit(TensorHeader("features", "BYTES", (12_582_912,), None, raw=True))
    with pytest.raises(RequestTooLarge, match="more than 262144 elements"):
        _admit(TensorHeader("samples", "FP32", (1, 2**20, 64), None, raw=True), specs=(WINDOWS,))
