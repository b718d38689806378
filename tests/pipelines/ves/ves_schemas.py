"""Test support: the VES 7.2 and TS 28.532 schemas written for the tests, as validators whose
`date-time` and `uri` formats are checked (jsonschema checks them only with optional packages)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema

HERE = Path(__file__).parent
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None or "T" not in value:
        raise ValueError(f"{value!r} is not an RFC 3339 date-time with an offset")
    return True


@FORMATS.checks("uri", raises=ValueError)
def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    if not parts.scheme or not (parts.netloc or parts.path):
        raise ValueError(f"{value!r} is not an absolute URI")
    return True


def _load(name: str) -> dict[str, object]:
    return json.loads((HERE / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


VES_SCHEMA = _load("ves_7_2.schema.json")
VES = jsonschema.Draft7Validator(VES_SCHEMA, format_checker=FORMATS)
TS28532 = _load("ts28532_fault_notifications.schema.json")


def notification_validator(name: str) -> jsonschema.Draft7Validator:
    """A validator of one TS 28.532 notification (`NotifyNewAlarm`, `NotifyChangedAlarm`, `NotifyClearedAlarm`)."""
    return jsonschema.Draft7Validator(
        {"$ref": f"#/definitions/{name}", "definitions": TS28532["definitions"]}, format_checker=FORMATS
    )
