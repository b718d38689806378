"""Names that clients send (models, versions, tensors): the checks that keep a model name one plain
directory name, and a bounded way to quote any client string in an error message."""

from __future__ import annotations

from accel.errors import InvalidInput

MAX_NAME_BYTES = 255
"""Longest model name, in UTF-8 bytes: a model name is a directory name, and 255 bytes is what
Linux file systems allow one (NAME_MAX); longer names fail there with ENAMETOOLONG."""
MAX_VERSION_CHARS = 19
"""Longest model version string: versions are decimal directory numbers that fit an int64."""
PREVIEW_CHARS = 64
"""How much of a client's string an error message quotes."""


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """`repr(text)`, cut to about `limit` characters with the full length said, so that an error
    about a 5,000-character name stays a short message.

    Example: `preview("a" * 100, 8)` is `'aaaaaaaa'... (100 characters)`.
    """
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def check_model_name(name: str, field: str = "model_name") -> None:
    """Refuse a model name that is not one plain directory name of the repository.

    Raises:
        InvalidInput: naming `field` and the rule broken (empty, longer than MAX_NAME_BYTES bytes,
            a path, hidden, or holding control characters such as NUL).
    """
    if not name:
        raise InvalidInput(f"{field} '' is empty; it must be the name of a directory inside the repository")
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        raise InvalidInput(f"{field} {preview(name)} is {size} bytes long; the limit is {MAX_NAME_BYTES} bytes")
    if any(ch < " " or ch == "\x7f" for ch in name):
        raise InvalidInput(f"{field} {preview(name)} holds control characters; a model name is a directory name")
    if "/" in name or "\\" in name or name.startswith("."):
        raise InvalidInput(
            f"{field} {preview(name)} is a path or a hidden name; it must be the name of a directory "
            "inside the repository"
        )


def check_model_version(version: str, field: str = "model_version") -> None:
    """Refuse a version that is not empty (the newest) or a decimal number of at most
    MAX_VERSION_CHARS digits."""
    if version and not (len(version) <= MAX_VERSION_CHARS and version.isascii() and version.isdigit()):
        raise InvalidInput(
            f"{field} {preview(version)} must be empty (the newest version) or a version number of at most "
            f"{MAX_VERSION_CHARS} digits"
        )
