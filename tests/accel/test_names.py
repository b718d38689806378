"""Model names from clients are one plain directory name of bounded length, and errors quote any
client string in a bounded way."""

from __future__ import annotations

import pytest

from accel.errors import InvalidInput
from accel.names import MAX_NAME_BYTES, check_model_name, check_model_version, preview


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "model_name '' is empty"),
        ("m" * 5000, f"is 5000 bytes long; the limit is {MAX_NAME_BYTES} bytes"),
        ("모" * 86, f"is 258 bytes long; the limit is {MAX_NAME_BYTES} bytes"),
        ("../x", "is a path"),
        ("a/b", "is a path"),
        ("..\\x", "is a path"),
        (".hidden", "is a path or a hidden name"),
        ("kpi\x00anomaly", "holds control characters"),
        ("kpi\x7f", "holds control characters"),
    ],
)
def test_a_name_that_is_not_one_directory_name_is_refused_naming_the_field(name: str, message: str) -> None:
    with pytest.raises(InvalidInput, match="^model_name ") as caught:
        check_model_name(name)
    assert message in str(caught.value)
    assert len(str(caught.value)) < 300, "the message quotes the name cut short"


def test_plain_names_up_to_the_limit_pass() -> None:
    for name in ("kpi-anomaly", "fiber_events.v2", "모델", "m" * MAX_NAME_BYTES):
        check_model_name(name)


def test_the_field_named_is_the_callers() -> None:
    with pytest.raises(InvalidInput, match="^name '' is empty"):
        check_model_name("", "name")


@pytest.mark.parametrize("version", ["abc", "-1", "1.0", "9" * 20, "1" * 5000, "١"])
def test_a_version_that_is_not_a_short_decimal_number_is_refused(version: str) -> None:
    with pytest.raises(InvalidInput, match="model_version .* must be empty"):
        check_model_version(version)


def test_empty_and_numeric_versions_pass() -> None:
    for version in ("", "1", "42", "9" * 19):
        check_model_version(version)


def test_preview_cuts_long_text_and_says_how_long_it_was() -> None:
    assert preview("short") == "'short'"
    assert preview("a" * 100, 8) == "'aaaaaaaa'... (100 characters)"
