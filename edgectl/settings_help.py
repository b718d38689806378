"""Renders the environment settings of a component for `--help`, from the settings classes."""

from __future__ import annotations

from pydantic_settings import BaseSettings


def settings_help(*classes: type[BaseSettings]) -> str:
    """One line per environment variable: name, default, and the field's documentation."""
    lines = ["environment settings:"]
    for cls in classes:
        prefix = str(cls.model_config.get("env_prefix", ""))
        for name, field in cls.model_fields.items():
            default = "required" if field.is_required() else f"default {field.default!r}"
            doc = " ".join((field.description or "").split())
            lines.append(f"  {prefix}{name.upper()} ({default})\n      {doc}")
    return "\n".join(lines)
