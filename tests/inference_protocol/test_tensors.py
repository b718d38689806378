"""Raw tensor contents decode and encode exactly, and bad byte counts are refused by name."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from inference_protocol.errors import MalformedTensor
from inference_protocol.tensors import FIXED_DTYPES, array_from_raw, array_to_raw


@pytest.mark.parametrize("datatype", sorted(FIXED_DTYPES))
def test_every_fixed_datatype_round_trips_through_raw_contents(datatype: str) -> None:
    rng = np.random.default_rng(1)
    array = (rng.random((3, 4)) * 100).astype(FIXED_DTYPES[datatype])
    name, shape, raw = array_to_raw(array)
    assert (name, shape) == (datatype, [3, 4])
    assert len(raw) == 12 * FIXED_DTYPES[datatype].itemsize
    np.testing.assert_array_equal(array_from_raw("x", datatype, shape, raw), array)


def test_raw_contents_are_little_endian_whatever_the_array_byte_order() -> None:
    big_endian = np.array([1.5, -2.0], dtype=">f4")
    _, _, raw = array_to_raw(big_endian)
    assert raw == struct.pack("<2f", 1.5, -2.0)


def test_bytes_elements_carry_a_four_byte_length_prefix() -> None:
    array = np.array([b"ab", "한국".encode()], dtype=object)
    name, shape, raw = array_to_raw(array)
    assert name == "BYTES" and shape == [2]
    assert raw == struct.pack("<I", 2) + b"ab" + struct.pack("<I", 6) + "한국".encode()
    assert list(array_from_raw("text", "BYTES", [2], raw)) == [b"ab", "한국".encode()]


def test_bf16_decodes_to_float32() -> None:
    raw = np.array([1.0, -3.5], dtype=np.float32).view(np.uint32).__rshift__(16).astype("<u2").tobytes()
    np.testing.assert_array_equal(array_from_raw("x", "BF16", [2], raw), np.array([1.0, -3.5], dtype=np.float32))


def test_a_byte_count_that_does_not_match_the_shape_names_input_and_sizes() -> None:
    with pytest.raises(MalformedTensor, match=r"input 'features': shape \[2, 3\] of FP32 needs 24 bytes .* got 20"):
        array_from_raw("features", "FP32", [2, 3], b"\0" * 20)


def test_a_truncated_bytes_element_is_refused() -> None:
    raw = struct.pack("<I", 10) + b"short"
    with pytest.raises(MalformedTensor, match="declares 10 bytes, only 5 remain"):
        array_from_raw("text", "BYTES", [1], raw)


def test_an_unknown_datatype_is_refused_with_the_known_ones() -> None:
    with pytest.raises(MalformedTensor, match="unknown datatype 'FP8'"):
        array_from_raw("x", "FP8", [1], b"\0")


def test_a_negative_dimension_is_refused() -> None:
    with pytest.raises(MalformedTensor, match="negative dimension"):
        array_from_raw("x", "FP32", [-1, 2], b"")


@pytest.mark.parametrize("rank", [65, 1000])
def test_more_dimensions_than_an_array_can_have_are_refused(rank: int) -> None:
    with pytest.raises(MalformedTensor, match=f"shape has {rank} dimensions; the limit is 64"):
        array_from_raw("x", "FP32", [1] * rank, b"\0\0\0\0")


@pytest.mark.parametrize("shape", [[2**62, 2**62], [0, 2**62, 2**62]], ids=["overflow", "zero-and-overflow"])
def test_a_shape_no_array_can_hold_is_invalid_input_not_a_numpy_error(shape: list[int]) -> None:
    with pytest.raises(MalformedTensor, match="more than any tensor can hold"):
        array_from_raw("x", "FP32", shape, b"")


def test_bytes_that_follow_the_last_element_are_refused() -> None:
    raw = struct.pack("<I", 2) + b"ok" + b"junk"
    with pytest.raises(MalformedTensor, match="4 bytes follow the last one"):
        array_from_raw("text", "BYTES", [1], raw)


def test_bytes_contents_shorter_than_their_length_prefixes_are_refused_before_walking() -> None:
    with pytest.raises(MalformedTensor, match="needs 1000000 BYTES elements of at least 4 bytes each"):
        array_from_raw("text", "BYTES", [1_000_000], b"\0" * 100)


def test_a_length_prefix_cut_short_is_refused_by_element() -> None:
    raw = struct.pack("<I", 2) + b"ok" + struct.pack("<I", 2)
    with pytest.raises(MalformedTensor, match="BYTES element 1 declares 2 bytes, only 0 remain"):
        array_from_raw("text", "BYTES", [2], raw)
    with pytest.raises(MalformedTensor, match="element 1 has a truncated 4-byte length prefix"):
        array_from_raw("text", "BYTES", [3], struct.pack("<I", 5) + b"hello" + b"\0\0\0")
